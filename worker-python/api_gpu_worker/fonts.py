"""Font names resolved the way libass resolves them: through fontconfig.

A name is accepted when fontconfig maps it to an installed family, either that family itself or
one configured to stand in for it (the metric-compatible aliases: Arial and Helvetica to
Liberation Sans, Times New Roman to Liberation Serif, Courier New to Liberation Mono, ...). Any
other name would be drawn in fontconfig's last-resort family, so it is refused instead, with the
families installed. Callers report the family that is used.
"""

import re
import subprocess
from collections.abc import Iterable
from functools import cache

from .errors import InputError

_TOOL_TIMEOUT_S = 30
# A family no one installs: what fontconfig falls back to for a name it cannot place.
_NO_SUCH_FAMILY = "api-gpu no such font family"
# What FFmpeg's subtitles filter gives an SRT file's text (libass's default style).
SRT_DEFAULT_FONT = "Arial"
# Characters with a meaning in a fontconfig pattern, escaped to stay part of the name.
_PATTERN_SPECIALS = re.compile(r"([\\\-:,])")


def resolve_font(name: str, field: str) -> str:
    """The installed family libass draws ``name`` with; InputError on ``field`` when none."""
    families = _matched_families(name)
    if name.casefold() in {family.casefold() for family in families} or (
        families[0] != _matched_families(_NO_SUCH_FAMILY)[0]
    ):
        return families[0]
    raise InputError(
        f"{field}: font {name!r} is not installed on this worker, nor is a family that stands in "
        f"for it; installed: {', '.join(sorted(installed_font_families()))}",
        field=field,
    )


def resolve_fonts(names: Iterable[str], field: str) -> list[str]:
    """Each name's family, in order, duplicates dropped."""
    return list(dict.fromkeys(resolve_font(name, field) for name in names))


@cache
def _matched_families(name: str) -> tuple[str, ...]:
    pattern = _PATTERN_SPECIALS.sub(r"\\\1", name)
    matched = _fontconfig("fc-match", "--format", "%{family}", pattern)
    return tuple(family.strip() for family in matched.split(",") if family.strip()) or ("",)


@cache
def installed_font_families() -> frozenset[str]:
    listing = _fontconfig("fc-list", "--format", "%{family}\\n")
    return frozenset(
        family.strip()
        for line in listing.splitlines()
        for family in line.split(",")
        if family.strip()
    )


def _fontconfig(*command: str) -> str:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=_TOOL_TIMEOUT_S, check=True
    ).stdout


def ass_style_fonts(ass: str) -> list[str]:
    """The ``Fontname`` of each style of an ASS/SSA file, in order (the first is the default)."""
    fonts = []
    columns: list[str] | None = None
    in_styles = False
    for raw in ass.split("\n"):
        line = raw.strip()
        if line.startswith("["):
            in_styles = line.casefold() in ("[v4+ styles]", "[v4 styles]")
            columns = None
            continue
        if not in_styles or ":" not in line:
            continue
        key, _, value = line.partition(":")
        if key.strip().casefold() == "format":
            columns = [column.strip().casefold() for column in value.split(",")]
        elif key.strip().casefold() == "style" and columns and "fontname" in columns:
            fields = [field.strip() for field in value.split(",", len(columns) - 1)]
            if len(fields) == len(columns):
                fonts.append(fields[columns.index("fontname")])
    return fonts
