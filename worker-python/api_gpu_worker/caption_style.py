"""The ``style`` of a caption job, turned into libass style overrides (``force_style``).

Only values checked here reach the override string: numbers in their ranges, colours as six hex
digits, a font name of letters, digits, spaces and ``_.-`` (``fonts`` resolves it). The
string still goes through FFmpeg's filtergraph escaping (``filter_value``), so nothing in a job can
end the option or the filter it sits in.

``position.alignment`` is numpad (8 = top centre). libass reads ``Alignment`` in a style override
either that way or in the legacy SubStation numbering (1-3 bottom, 5-7 top, 9-11 middle) depending
on its version; ``force_style_alignment`` finds out once, by rendering, which one this FFmpeg does.
"""

import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from .errors import InputError, ProcessingError

_FONT_NAME = re.compile(
    r"[A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u017f _.-]{1,100}"
)
_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
_TOOL_TIMEOUT_S = 30
# libass's legacy numbering: bottom row 1-3, top row +4, middle row +8.
_NUMPAD_TO_LEGACY = {1: 1, 2: 2, 3: 3, 4: 9, 5: 10, 6: 11, 7: 5, 8: 6, 9: 7}


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
}
_GROUPS = {group for group, _ in _FIELDS}


def caption_style(style: Mapping[str, Any]) -> CaptionStyle:
    """The defaults overridden by ``style`` (the job's ``style`` field); errors name the field."""
    if not isinstance(style, Mapping):
        raise InputError("style must be an object", field="style")
    result = CaptionStyle()
    for group, values in style.items():
        if group not in _GROUPS:
            raise InputError(f"style.{group} is not an allowed property", field=f"style.{group}")
        if not isinstance(values, Mapping):
            raise InputError(f"style.{group} must be an object", field=f"style.{group}")
        for key, value in values.items():
            field = f"style.{group}.{key}"
            if (group, key) not in _FIELDS:
                raise InputError(f"{field} is not an allowed property", field=field)
            attribute, kind, bounds = _FIELDS[group, key]
            result = replace(result, **{attribute: _checked(field, kind, bounds, value)})
    return result


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


def force_style(style: CaptionStyle) -> str:
    """The libass override string: ``Key=value`` pairs joined by commas."""
    bold = -1 if style.bold else 0
    pairs = [
        ("FontName", style.font_name),
        ("FontSize", str(style.font_size)),
        ("Bold", str(bold)),
        ("Italic", str(-1 if style.italic else 0)),
        ("Underline", str(-1 if style.underline else 0)),
        ("PrimaryColour", ass_colour(style.primary, style.primary_alpha)),
        ("OutlineColour", ass_colour(style.outline, style.outline_alpha)),
        ("BackColour", ass_colour(style.background, style.background_alpha)),
        ("BorderStyle", str(style.border_style)),
        ("Outline", f"{style.border_width:g}"),
        ("Shadow", f"{style.shadow:g}"),
        ("Alignment", str(force_style_alignment(style.alignment))),
        ("MarginV", str(style.margin_vertical)),
        ("MarginL", str(style.margin_left)),
        ("MarginR", str(style.margin_right)),
    ]
    return ",".join(f"{key}={value}" for key, value in pairs)


def ass_colour(hex_colour: str, alpha: int) -> str:
    """``#RRGGBB`` and an alpha (0 opaque) as ASS writes colours: ``&HAABBGGRR``."""
    red, green, blue = hex_colour[1:3], hex_colour[3:5], hex_colour[5:7]
    return f"&H{alpha:02X}{blue}{green}{red}".upper()


def force_style_alignment(numpad: int) -> int:
    return _NUMPAD_TO_LEGACY[numpad] if force_style_reads_legacy_alignment() else numpad


@cache
def force_style_reads_legacy_alignment() -> bool:
    """Renders a cue with ``Alignment=5``: legacy numbering puts it top left, numpad centres it."""
    with tempfile.TemporaryDirectory(prefix="api-gpu-libass-") as directory:
        Path(directory, "probe.srt").write_text("1\n00:00:00,000 --> 00:00:10,000\nX\n")
        size = 240
        try:
            frame = subprocess.run(
                [
                    "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
                    "-f", "lavfi", "-i", f"color=black:s={size}x{size}:d=1",
                    "-vf", "subtitles=probe.srt:force_style=Alignment=5",
                    "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-",
                ],
                cwd=directory,
                capture_output=True,
                timeout=_TOOL_TIMEOUT_S,
                check=True,
            ).stdout  # fmt: skip
        except (OSError, subprocess.SubprocessError) as error:
            raise ProcessingError(
                f"FFmpeg's subtitles filter (libass) does not run: {error}"
            ) from None
    inked = [
        row for row in range(size) if max(frame[row * size : (row + 1) * size], default=0) > 128
    ]
    if len(frame) != size * size or not inked:
        raise ProcessingError(
            "FFmpeg's subtitles filter (libass) draws no text; are fonts installed?"
        )
    return (inked[0] + inked[-1]) / 2 < size / 3


def filter_value(value: str) -> str:
    """``value`` escaped for a filter option inside a filtergraph (FFmpeg's two levels).

    First as an option value (``\\``, ``'`` and ``:`` would end or change it), then for the
    graph (``\\``, ``'``, ``[``, ``]``, ``,`` and ``;`` would end the filter or the chain).
    """
    option = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", option)
