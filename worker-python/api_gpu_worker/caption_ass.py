"""A styled caption as an ASS script: word-level kinds, paging, box, and a frame-relative layout.

The script's coordinate system (PlayResX/PlayResY) puts 288 script pixels across the frame's
shorter side, so a font size, a margin or a box padding is the same share of the frame on a
landscape, square or vertical video (288 is libass's height for SRT, so the sizes of the
``caption_style`` route keep the look they had on landscape video). On a vertical video, text is
kept out of the bands the platforms cover with their buttons: the top tenth and the bottom fifth.

Every word is cleaned of control characters and of what ASS reads as markup (braces, backslash),
and every style value was checked by ``caption_style`` (numbers in range, colours as hex digits,
a font name without commas), so nothing a job carries can end a field or open an override block.

Paging: the words of each block (a cue, or speech between pauses) fill lines of at most
``max_words_per_line`` words and ``max_chars_per_line`` characters (a longer word has a line to
itself; words are never split), and pages of ``max_lines`` lines. Only classic captions of a
subtitle file with no limits given keep each cue whole, with its own line breaks, as before.
A page shows from its first word's start to its last word's end, never past the next page's start.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from .caption_style import CaptionStyle, ass_colour
from .caption_words import Block, TimedCaption, TimedWord

SHORT_SIDE = 288
SAFE_TOP = 0.10
SAFE_BOTTOM = 0.20
# Word-level kinds page their words even when the request gives no limits.
DEFAULT_MAX_CHARS = 32
DEFAULT_MAX_LINES = 2
_STYLE_NAME = "Caption"


@dataclass(frozen=True)
class Page:
    lines: tuple[tuple[TimedWord, ...], ...]
    start_ms: int
    end_ms: int

    @property
    def words(self) -> tuple[TimedWord, ...]:
        return tuple(word for line in self.lines for word in line)


def play_res(width: int, height: int) -> tuple[int, int]:
    if width >= height:
        return round(SHORT_SIDE * width / height), SHORT_SIDE
    return SHORT_SIDE, round(SHORT_SIDE * height / width)


def pages(caption: TimedCaption, style: CaptionStyle) -> list[Page]:
    limits_given = any(
        limit is not None
        for limit in (style.max_words_per_line, style.max_chars_per_line, style.max_lines)
    )
    keep_cue_lines = style.kind == "classic" and not limits_given and caption.from_cues
    max_words = style.max_words_per_line
    max_chars = style.max_chars_per_line or (None if keep_cue_lines else DEFAULT_MAX_CHARS)
    max_lines = style.max_lines or DEFAULT_MAX_LINES
    result: list[Page] = []
    for block in caption.blocks:
        if keep_cue_lines:
            groups = [_cue_lines(block)]
        else:
            lines = _lines(block.words, max_words, max_chars)
            groups = [lines[i : i + max_lines] for i in range(0, len(lines), max_lines)]
        for lines in groups:
            words = [word for line in lines for word in line]
            result.append(Page(tuple(lines), words[0].start_ms, words[-1].end_ms))
    result.sort(key=lambda page: page.start_ms)
    for index, page in enumerate(result[:-1]):
        next_start = result[index + 1].start_ms
        if page.end_ms > next_start:
            result[index] = Page(page.lines, page.start_ms, next_start)
    return result


def _cue_lines(block: Block) -> list[tuple[TimedWord, ...]]:
    lines: list[list[TimedWord]] = []
    for word in block.words:
        if not lines or word.new_line:
            lines.append([])
        lines[-1].append(word)
    return [tuple(line) for line in lines]


def _lines(
    words: Sequence[TimedWord], max_words: int | None, max_chars: int | None
) -> list[tuple[TimedWord, ...]]:
    lines: list[list[TimedWord]] = []
    chars = 0
    for word in words:
        full = lines and (
            (max_words is not None and len(lines[-1]) >= max_words)
            or (max_chars is not None and chars + 1 + len(word.text) > max_chars)
        )
        if not lines or full:
            lines.append([])
            chars = -1
        lines[-1].append(word)
        chars += 1 + len(word.text)
    return [tuple(line) for line in lines]


def ass_script(caption: TimedCaption, style: CaptionStyle, width: int, height: int) -> str:
    res_x, res_y = play_res(width, height)
    events = []
    for page in pages(caption, style):
        for start_ms, end_ms, text in _page_events(page, style):
            if end_ms > start_ms:
                events.append(
                    f"Dialogue: 0,{_time(start_ms)},{_time(end_ms)},{_STYLE_NAME},,0,0,0,,{text}\n"
                )
    return (
        "[Script Info]\n"
        "ScriptType: v4.00+\n"
        "WrapStyle: 0\n"
        "ScaledBorderAndShadow: yes\n"
        f"PlayResX: {res_x}\n"
        f"PlayResY: {res_y}\n"
        "\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"{_style_line(style, res_y, vertical=height > width)}\n"
        "\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        + "".join(events)
    )


def _style_line(style: CaptionStyle, res_y: int, *, vertical: bool) -> str:
    primary = ass_colour(style.primary, style.primary_alpha)
    secondary = primary
    if style.kind == "karaoke":
        # Under \kf the sung part is PrimaryColour and what is still to come SecondaryColour.
        primary, secondary = ass_colour(style.highlight, style.primary_alpha), primary
    if style.box:
        # BorderStyle 3: a box behind each line in OutlineColour, Outline wide around the text.
        border = (3, style.box_padding, 0.0)
        outline = ass_colour(style.box_color, style.box_alpha)
    else:
        border = (style.border_style, style.border_width, style.shadow)
        outline = ass_colour(style.outline, style.outline_alpha)
    margin_v = style.margin_vertical
    if vertical and style.alignment in (1, 2, 3):
        margin_v = max(margin_v, round(res_y * SAFE_BOTTOM))
    elif vertical and style.alignment in (7, 8, 9):
        margin_v = max(margin_v, round(res_y * SAFE_TOP))
    values = [
        _STYLE_NAME, style.font_name, str(style.font_size), primary, secondary, outline,
        ass_colour(style.background, style.background_alpha),
        _flag(style.bold), _flag(style.italic), _flag(style.underline), "0", "100", "100", "0",
        "0", str(border[0]), f"{border[1]:g}", f"{border[2]:g}", str(style.alignment),
        str(style.margin_left), str(style.margin_right), str(margin_v), "1",
    ]  # fmt: skip
    return "Style: " + ",".join(values)


def _page_events(page: Page, style: CaptionStyle) -> list[tuple[int, int, str]]:
    if style.kind == "classic":
        return [(page.start_ms, page.end_ms, _page_text(page, style, lambda _: ""))]
    if style.kind == "karaoke":
        return [(page.start_ms, page.end_ms, _karaoke_text(page, style))]
    words = page.words
    # Every word start and end inside the page (an SRT's overlapping cues may cut it short).
    bounds = {page.start_ms, page.end_ms, *(w.start_ms for w in words), *(w.end_ms for w in words)}
    cuts = sorted(t for t in bounds if page.start_ms <= t <= page.end_ms)
    events = []
    for start, end in pairwise(cuts):
        active = next((w for w in words if w.start_ms <= start < w.end_ms), None)
        if style.kind == "word_by_word":
            # Through a pause the last word stays up, so the screen never blinks between words.
            shown = active or next((w for w in reversed(words) if w.start_ms <= start), None)
            if shown is not None:
                events.append((start, end, _word(shown.text, style)))
            continue
        events.append((start, end, _page_text(page, style, _state_tags(style, active, start))))
    return events


def _state_tags(style: CaptionStyle, active: TimedWord | None, at_ms: int):
    highlight = _colour_tag(style.highlight)
    spoken = _colour_tag(style.spoken or style.primary)
    scale = round(style.pop_scale * 100)

    def tags(word: TimedWord) -> str:
        if word is active:
            return highlight + (f"\\fscx{scale}\\fscy{scale}" if style.kind == "pop" else "")
        if style.kind == "pop" and word.end_ms <= at_ms:
            return spoken
        return ""

    return tags


def _page_text(page: Page, style: CaptionStyle, tags) -> str:
    lines = []
    for line in page.lines:
        parts = []
        for word in line:
            text = _word(word.text, style)
            override = tags(word)
            parts.append(f"{{{override}}}{text}{{\\r}}" if override else text)
        lines.append(" ".join(parts))
    return "\\N".join(lines)


def _karaoke_text(page: Page, style: CaptionStyle) -> str:
    """``{\\kf}`` sweeps each word while it is spoken; a pause is an empty ``{\\k}`` of its own."""
    parts = []
    at = _centiseconds(page.start_ms)
    words = page.words
    line_ends = {id(line[-1]) for line in page.lines[:-1]}
    for index, word in enumerate(words):
        start, end = _centiseconds(word.start_ms), _centiseconds(word.end_ms)
        if start > at:
            parts.append(f"{{\\k{start - at}}}")
            at = start
        separator = "\\N" if id(word) in line_ends else (" " if index + 1 < len(words) else "")
        parts.append(f"{{\\kf{max(0, end - at)}}}{_word(word.text, style)}{separator}")
        at = max(at, end)
    return "".join(parts)


def _word(text: str, style: CaptionStyle) -> str:
    if style.all_caps:
        text = text.upper()
    # Braces open override blocks and a backslash starts an escape in ASS event text.
    return text.replace("{", "(").replace("}", ")").replace("\\", "/")


def _colour_tag(hex_colour: str) -> str:
    return f"\\1c&H{ass_colour(hex_colour, 0)[4:]}&"


def _flag(value: bool) -> str:
    return "-1" if value else "0"


def _centiseconds(ms: int) -> int:
    return (ms + 5) // 10


def _time(ms: int) -> str:
    centiseconds = _centiseconds(ms)
    hours, rest = divmod(centiseconds, 360_000)
    minutes, rest = divmod(rest, 6000)
    seconds, hundredths = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{hundredths:02d}"
