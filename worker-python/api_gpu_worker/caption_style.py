"""The ``style`` of a caption job, checked field by field, with its preset applied.

Only values checked here reach the ASS script ``caption_ass`` writes: numbers in their ranges,
colours as six hex digits, a font name of letters, digits, spaces and ``_.-`` (no comma can end
an ASS field) that fontconfig resolves
(``fonts``). ``position.alignment`` is numpad (8 = top centre),
as an ASS v4+ Style line reads it. ``filter_value`` escapes a value for FFmpeg's filtergraph.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .errors import InputError

_FONT_NAME = re.compile(
    r"[A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u017f _.-]{1,100}"
)
_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
KINDS = ("classic", "karaoke", "highlight", "word_by_word", "pop")


@dataclass(frozen=True)
class CaptionStyle:
    font_name: str = "DejaVu Sans"
    font_size: int = 24
    bold: bool = True
    italic: bool = False
    underline: bool = False
    primary: str = "#FFFFFF"
    outline: str = "#000000"
    background: str = "#000000"
    primary_alpha: int = 0
    outline_alpha: int = 0
    background_alpha: int = 128
    border_style: int = 1
    border_width: float = 2
    shadow: float = 1
    alignment: int = 2
    margin_vertical: int = 25
    margin_left: int = 10
    margin_right: int = 10
    kind: str = "classic"
    highlight: str = "#FFD400"
    spoken: str | None = None
    max_words_per_line: int | None = None
    max_chars_per_line: int | None = None
    max_lines: int | None = None
    all_caps: bool = False
    box: bool = False
    box_color: str = "#000000"
    box_alpha: int = 96
    box_padding: int = 6
    pop_scale: float = 1.25


# (style group, key) -> (CaptionStyle attribute, kind, bounds or choices)
_FIELDS: dict[tuple[str, str], tuple[str, str, Any]] = {
    ("font", "name"): ("font_name", "font", None),
    ("font", "size"): ("font_size", "int", (8, 100)),
    ("font", "bold"): ("bold", "bool", None),
    ("font", "italic"): ("italic", "bool", None),
    ("font", "underline"): ("underline", "bool", None),
    ("colors", "primary"): ("primary", "colour", None),
    ("colors", "outline"): ("outline", "colour", None),
    ("colors", "background"): ("background", "colour", None),
    ("colors", "primaryAlpha"): ("primary_alpha", "int", (0, 255)),
    ("colors", "outlineAlpha"): ("outline_alpha", "int", (0, 255)),
    ("colors", "backgroundAlpha"): ("background_alpha", "int", (0, 255)),
    ("border", "style"): ("border_style", "choice", (0, 1, 3, 4)),
    ("border", "width"): ("border_width", "number", (0, 4)),
    ("border", "shadow"): ("shadow", "number", (0, 4)),
    ("position", "alignment"): ("alignment", "int", (1, 9)),
    ("position", "marginVertical"): ("margin_vertical", "int", (0, 200)),
    ("position", "marginLeft"): ("margin_left", "int", (0, 200)),
    ("position", "marginRight"): ("margin_right", "int", (0, 200)),
    ("position", "marginHorizontal"): (("margin_left", "margin_right"), "int", (0, 200)),
    (None, "kind"): ("kind", "choice", KINDS),
    ("colors", "highlight"): ("highlight", "colour", None),
    ("colors", "spoken"): ("spoken", "colour", None),
    (None, "max_words_per_line"): ("max_words_per_line", "int", (1, 20)),
    (None, "max_chars_per_line"): ("max_chars_per_line", "int", (8, 80)),
    (None, "max_lines"): ("max_lines", "int", (1, 2)),
    (None, "all_caps"): ("all_caps", "bool", None),
    ("box", "enabled"): ("box", "bool", None),
    ("box", "color"): ("box_color", "colour", None),
    ("box", "alpha"): ("box_alpha", "int", (0, 255)),
    ("box", "padding"): ("box_padding", "int", (0, 40)),
    ("pop", "scale"): ("pop_scale", "number", (1, 2)),
}
_GROUPS = {group for group, _ in _FIELDS if group is not None}
_SCALARS = {key for group, key in _FIELDS if group is None}


def caption_style(
    style: Mapping[str, Any], presets: Mapping[str, Mapping[str, Any]] | None = None
) -> CaptionStyle:
    """The defaults overridden by ``style`` (the job's ``style`` field); errors name the field.

    ``style.preset`` names one of ``presets``: its fields apply first, and each field the
    request gives replaces the preset's one by one.
    """
    if not isinstance(style, Mapping):
        raise InputError("style must be an object", field="style")
    if "preset" in style:
        name = style["preset"]
        if not isinstance(name, str) or name not in (presets or {}):
            raise InputError(
                f"style.preset must be one of {', '.join(presets or {})}", field="style.preset"
            )
        style = _merged(presets[name], {k: v for k, v in style.items() if k != "preset"})
    result = CaptionStyle()
    for group, values in style.items():
        if group in _SCALARS:
            attribute, kind, bounds = _FIELDS[None, group]
            field = f"style.{group}"
            result = replace(result, **{attribute: _checked(field, kind, bounds, values)})
            continue
        if group not in _GROUPS:
            raise InputError(f"style.{group} is not an allowed property", field=f"style.{group}")
        if not isinstance(values, Mapping):
            raise InputError(f"style.{group} must be an object", field=f"style.{group}")
        if group == "box":
            # Asking for a box turns it on; {"enabled": false} turns a preset's box off.
            result = replace(result, box=True)
        for key, value in values.items():
            field = f"style.{group}.{key}"
            if (group, key) not in _FIELDS:
                raise InputError(f"{field} is not an allowed property", field=field)
            attribute, kind, bounds = _FIELDS[group, key]
            checked = _checked(field, kind, bounds, value)
            attributes = attribute if isinstance(attribute, tuple) else (attribute,)
            result = replace(result, **dict.fromkeys(attributes, checked))
    return result


def _merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _checked(field: str, kind: str, bounds: Any, value: Any) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise InputError(f"{field} must be true or false", field=field)
        return value
    if kind == "font":
        if not isinstance(value, str) or not _FONT_NAME.fullmatch(value):
            raise InputError(
                f"{field} must be 1-100 letters, digits, spaces, '_', '.' or '-'", field=field
            )
        return value
    if kind == "colour":
        if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value):
            raise InputError(f"{field} must be a colour written #RRGGBB", field=field)
        return value.upper()
    if kind == "choice" and isinstance(value, str):
        if value not in bounds:
            raise InputError(f"{field} must be one of {', '.join(bounds)}", field=field)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{field} must be a number", field=field)
    if kind == "choice":
        if value not in bounds:
            raise InputError(
                f"{field} must be one of {', '.join(str(choice) for choice in bounds)}", field=field
            )
        return int(value)
    low, high = bounds
    if kind == "int" and value != int(value):
        raise InputError(f"{field} must be a whole number", field=field)
    if not low <= value <= high:
        raise InputError(f"{field} must be between {low} and {high}", field=field)
    return int(value) if kind == "int" else float(value)


def ass_colour(hex_colour: str, alpha: int) -> str:
    """``#RRGGBB`` and an alpha (0 opaque) as ASS writes colours: ``&HAABBGGRR``."""
    red, green, blue = hex_colour[1:3], hex_colour[3:5], hex_colour[5:7]
    return f"&H{alpha:02X}{blue}{green}{red}".upper()


def filter_value(value: str) -> str:
    """``value`` escaped for a filter option inside a filtergraph (FFmpeg's two levels).

    First as an option value (``\\``, ``'`` and ``:`` would end or change it), then for the
    graph (``\\``, ``'``, ``[``, ``]``, ``,`` and ``;`` would end the filter or the chain).
    """
    option = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", option)
