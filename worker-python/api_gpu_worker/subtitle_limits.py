"""Bounds on what a subtitle file may ask libass to draw, checked before FFmpeg sees it.

libass renders whatever it is given: one 5 MB line, fifty layers of ``\\fs9999\\blur100`` or a
drawing with a million points hold a worker for many minutes and gigabytes for three seconds of
video. Text past the limits is refused (a 400 naming the limit); override tags and styles are
clamped to ranges no legitimate caption needs to leave, drawings are bounded, and embedded
``[Fonts]``/``[Graphics]`` sections are dropped.
"""

import re

from .errors import MediaError
from .subtitles import SubtitleFile

MAX_CHARS_PER_LINE = 300
MAX_CHARS_PER_CUE = 1_000
MAX_TOTAL_CHARS = 500_000
MAX_CUES_PER_SECOND = 30
MAX_DRAWING_NUMBERS = 2_000
DRAWING_COORDINATE_LIMIT = 4_096

# Override tag -> the range its value is clamped to.
_TAG_RANGES = {
    "fs": (1.0, 300.0),
    "blur": (0.0, 10.0),
    "be": (0.0, 10.0),
    "bord": (0.0, 20.0),
    "xbord": (0.0, 20.0),
    "ybord": (0.0, 20.0),
    "shad": (0.0, 20.0),
    "xshad": (-20.0, 20.0),
    "yshad": (-20.0, 20.0),
    "fscx": (1.0, 400.0),
    "fscy": (1.0, 400.0),
    "p": (0.0, 4.0),
}
# Style columns (``[V4+ Styles]`` Format names, case-folded) -> range.
_STYLE_RANGES = {
    "fontsize": _TAG_RANGES["fs"],
    "outline": _TAG_RANGES["bord"],
    "shadow": _TAG_RANGES["shad"],
    "scalex": _TAG_RANGES["fscx"],
    "scaley": _TAG_RANGES["fscy"],
}
# Longest names first, so \fscx is not read as \fs followed by "cx".
_TAG = re.compile(
    r"\\(" + "|".join(sorted(_TAG_RANGES, key=len, reverse=True)) + r")(-?\d+(?:\.\d+)?)"
)
_OVERRIDE_BLOCK = re.compile(r"\{[^}]*\}")
_HTML_TAG = re.compile(r"<[^>]*>")
_FONT_SIZE = re.compile(r"""(<font\b[^>]*\bsize\s*=\s*["']?)(\d+(?:\.\d+)?)""", re.IGNORECASE)
_DRAWING_LEVEL = re.compile(r"\\p(\d+)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_DROPPED_SECTIONS = {"fonts", "graphics"}


def bound_subtitles(subtitles: SubtitleFile, field: str) -> bytes:
    """The content to hand to libass: refused past the text limits, clamped otherwise."""
    _check_text(subtitles, field)
    text = subtitles.content.decode("utf-8")
    if subtitles.format == "srt":
        return _clamp_srt(text, field).encode("utf-8")
    return _clamp_ass(text, field).encode("utf-8")


def _refuse(field: str, limit: str, detail: str) -> MediaError:
    return MediaError(f"{field}: {detail}, past the subtitle limit {limit}", field=field)


def _visible(text: str) -> str:
    """What a cue shows: no override blocks, HTML-like tags or drawings (bounded apart)."""
    shown: list[str] = []
    drawing = False
    position = 0
    for block in _OVERRIDE_BLOCK.finditer(text):
        if not drawing:
            shown.append(text[position : block.start()])
        levels = _DRAWING_LEVEL.findall(block.group(0))
        if levels:
            drawing = int(levels[-1]) > 0
        position = block.end()
    if not drawing:
        shown.append(text[position:])
    return _HTML_TAG.sub("", "".join(shown))


def _check_text(subtitles: SubtitleFile, field: str) -> None:
    total = 0
    for number, cue in enumerate(subtitles.cues, start=1):
        visible = _visible(cue.text)
        lines = re.split(r"\\[Nn]|\n", visible)
        longest = max(len(line) for line in lines)
        if longest > MAX_CHARS_PER_LINE:
            raise _refuse(
                field,
                f"of {MAX_CHARS_PER_LINE} characters per line",
                f"cue {number} has a line of {longest} characters",
            )
        if len(visible) > MAX_CHARS_PER_CUE:
            raise _refuse(
                field,
                f"of {MAX_CHARS_PER_CUE} characters per cue",
                f"cue {number} holds {len(visible)} characters",
            )
        total += len(visible)
    if total > MAX_TOTAL_CHARS:
        raise _refuse(
            field, f"of {MAX_TOTAL_CHARS} characters in all", f"the cues hold {total} characters"
        )
    starts = sorted(cue.start_ms for cue in subtitles.cues)
    first = 0
    for last, start in enumerate(starts):
        while start - starts[first] >= 1000:
            first += 1
        if last - first + 1 > MAX_CUES_PER_SECOND:
            raise _refuse(
                field,
                f"of {MAX_CUES_PER_SECOND} cues starting within one second",
                f"{last - first + 1} cues start within a second of {starts[first] / 1000:g} s",
            )


def _clamp_value(value: str, low: float, high: float) -> str:
    number = float(value)
    if low <= number <= high:
        return value
    return f"{min(high, max(low, number)):g}"


def _clamp_tags(text: str) -> str:
    def clamp_block(block: re.Match) -> str:
        return _TAG.sub(
            lambda tag: f"\\{tag.group(1)}{_clamp_value(tag.group(2), *_TAG_RANGES[tag.group(1)])}",
            block.group(0),
        )

    return _OVERRIDE_BLOCK.sub(clamp_block, text)


def _bound_drawings(text: str, field: str) -> str:
    """Clamps drawing-mode coordinates (``\\p1`` until ``\\p0``), refusing too many of them."""
    pieces: list[str] = []
    drawing = False
    numbers = 0
    position = 0
    for block in _OVERRIDE_BLOCK.finditer(text):
        pieces.append(_draw_segment(text[position : block.start()], drawing))
        if drawing:
            numbers += len(_NUMBER.findall(text[position : block.start()]))
        pieces.append(block.group(0))
        levels = _DRAWING_LEVEL.findall(block.group(0))
        if levels:
            drawing = int(levels[-1]) > 0
        position = block.end()
    pieces.append(_draw_segment(text[position:], drawing))
    if drawing:
        numbers += len(_NUMBER.findall(text[position:]))
    if numbers > MAX_DRAWING_NUMBERS:
        raise _refuse(
            field,
            f"of {MAX_DRAWING_NUMBERS} drawing coordinates per cue",
            f"a drawing has {numbers} coordinates",
        )
    return "".join(pieces)


def _draw_segment(segment: str, drawing: bool) -> str:
    if not drawing:
        return segment
    limit = float(DRAWING_COORDINATE_LIMIT)
    return _NUMBER.sub(lambda number: _clamp_value(number.group(0), -limit, limit), segment)


def _clamp_srt(text: str, field: str) -> str:
    text = _FONT_SIZE.sub(
        lambda match: match.group(1) + _clamp_value(match.group(2), *_TAG_RANGES["fs"]), text
    )
    return "\n".join(_bound_drawings(_clamp_tags(line), field) for line in text.split("\n"))


def _clamp_ass(text: str, field: str) -> str:
    out: list[str] = []
    section = ""
    style_columns: list[str] | None = None
    event_columns = 0
    for line in text.split("\n"):
        heading = _SECTION.match(line)
        if heading:
            section = heading.group(1).strip().casefold()
            if section in _DROPPED_SECTIONS:
                continue
        elif section in _DROPPED_SECTIONS:
            continue
        kind, colon, rest = line.partition(":")
        kind = kind.strip().casefold() if colon else ""
        if section.endswith("styles") and kind == "format":
            style_columns = [column.strip().casefold() for column in rest.split(",")]
        elif section.endswith("styles") and kind == "style" and style_columns:
            line = f"Style:{_clamp_style(rest, style_columns)}"
        elif section == "events" and kind == "format":
            event_columns = len(rest.split(","))
        elif section == "events" and kind == "dialogue" and event_columns:
            values = rest.split(",", event_columns - 1)
            values[-1] = _bound_drawings(_clamp_tags(values[-1]), field)
            line = "Dialogue:" + ",".join(values)
        out.append(line)
    return "\n".join(out)


def _clamp_style(rest: str, columns: list[str]) -> str:
    values = rest.split(",", len(columns) - 1)
    clamped: list[str] = []
    for column, value in zip(columns, values, strict=False):
        bounds = _STYLE_RANGES.get(column)
        clamped.append(_clamp_style_value(value, bounds) if bounds else value)
    return ",".join(clamped + values[len(columns) :])


def _clamp_style_value(value: str, bounds: tuple[float, float]) -> str:
    stripped = value.strip()
    if not _NUMBER.fullmatch(stripped):
        return value
    return value.replace(stripped, _clamp_value(stripped, *bounds))
