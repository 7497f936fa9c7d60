"""Subtitle files: reading SRT and ASS that a caption job burns in, writing what transcribe uploads.

The writers are pure functions of (segments, metadata) -> bytes. A TypeScript formatter must
produce the very same bytes (libs/common/contract/fixtures/transcripts/ holds the shared cases),
so every rule here is one that is written the same way in both languages: times become integer
milliseconds with floor(seconds * 1000 + 0.5), centiseconds with floor((ms + 5) / 10),
whitespace is the ASCII set, and JSON numbers are integers or ms / 1000.
"""

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

KARAOKE_MAX_WORDS = 10
KARAOKE_MAX_LINE_MS = 5000
KARAOKE_STYLE = "Karaoke"
# &HAABBGGRR. Under \k a syllable shows SecondaryColour until it is sung, then PrimaryColour.
_KARAOKE_PRIMARY = "&H00FFFFFF"
_KARAOKE_SECONDARY = "&H000088EF"
_KARAOKE_OUTLINE = "&H00000000"
_KARAOKE_BACK = "&H80000000"
_KARAOKE_FONT = "DejaVu Sans"

_ASCII_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")
_SRT_TIME = r"(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"^\s*{_SRT_TIME}\s*-->\s*{_SRT_TIME}(?:\s.*)?$")
_SRT_INDEX = re.compile(r"^\s*\d+\s*$")
_ASS_TIME = re.compile(r"^\s*(\d+):(\d{1,2}):(\d{1,2})[.:](\d{1,3})\s*$")
_ASS_SECTION = re.compile(r"^\s*\[([^\]]*)\]\s*$")


class SubtitleError(ValueError):
    """A subtitle file that cannot be burnt in; ``field`` is the job field it came from."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = f"{field}: {message}"


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class TranscriptMetadata:
    language: str
    model: str
    device: str
    # Written only when an alias (WHISPER_MODEL_ALIASES) served another model than the one asked.
    model_requested: str | None = None


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class SubtitleFile:
    """A parsed subtitle file and the UTF-8 content to hand to libass."""

    format: Literal["srt", "ass"]
    cues: tuple[Cue, ...]
    content: bytes

    @property
    def suffix(self) -> str:
        return f".{self.format}"


def parse_subtitles(data: bytes, field: str) -> SubtitleFile:
    """Parse an SRT or ASS file; errors name ``field`` and say which line is wrong."""
    text = _decode(data, field)
    first_line = next((line.strip() for line in text.split("\n") if line.strip()), "")
    if not first_line:
        raise SubtitleError(field, "the subtitle file is empty")
    if first_line.startswith("["):
        cues = _parse_ass(text, field)
        return SubtitleFile("ass", cues, text.encode("utf-8"))
    cues = _parse_srt(text, field)
    return SubtitleFile("srt", cues, format_srt_cues(cues))


def _decode(data: bytes, field: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        # Subtitles saved by older Windows tools are Windows-1252, Portuguese accents included.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise SubtitleError(
                field, "the subtitle file is not UTF-8 or Windows-1252 text"
            ) from None
    if "\x00" in text:
        raise SubtitleError(field, "the subtitle file is not a text file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse_srt(text: str, field: str) -> tuple[Cue, ...]:
    lines = text.split("\n")
    cues: list[Cue] = []
    number = 0
    while number < len(lines):
        if not lines[number].strip():
            number += 1
            continue
        if _SRT_INDEX.match(lines[number]) and _is_timing(lines, number + 1):
            number += 1
        timing = _SRT_TIMING.match(lines[number])
        if timing is None:
            raise SubtitleError(
                field,
                f"line {number + 1} is neither a cue number nor a time line "
                "'HH:MM:SS,mmm --> HH:MM:SS,mmm'; the file does not parse as SRT or ASS",
            )
        start_ms = _time_ms(timing.groups()[:4], number, field)
        end_ms = _time_ms(timing.groups()[4:], number, field)
        if end_ms < start_ms:
            raise SubtitleError(
                field,
                f"cue {len(cues) + 1} (line {number + 1}) ends at {_srt_time(end_ms)}, "
                f"before it starts at {_srt_time(start_ms)}",
            )
        number += 1
        body: list[str] = []
        while number < len(lines) and lines[number].strip():
            if _is_timing(lines, number) or (
                _SRT_INDEX.match(lines[number]) and _is_timing(lines, number + 1)
            ):
                break
            body.append(lines[number].rstrip())
            number += 1
        cues.append(Cue(start_ms, end_ms, "\n".join(body)))
    if not cues:
        raise SubtitleError(field, "the subtitle file holds no cues")
    return tuple(cues)


def _is_timing(lines: Sequence[str], number: int) -> bool:
    return number < len(lines) and _SRT_TIMING.match(lines[number]) is not None


def _parse_ass(text: str, field: str) -> tuple[Cue, ...]:
    section = ""
    columns: list[str] | None = None
    cues: list[Cue] = []
    for number, line in enumerate(text.split("\n")):
        heading = _ASS_SECTION.match(line)
        if heading:
            section = heading.group(1).strip().casefold()
            continue
        if section != "events" or ":" not in line:
            continue
        kind, _, rest = line.partition(":")
        kind = kind.strip().casefold()
        if kind == "format":
            columns = [column.strip().casefold() for column in rest.split(",")]
            missing = {"start", "end", "text"} - set(columns)
            if missing:
                raise SubtitleError(
                    field,
                    f"line {number + 1}: the [Events] Format lacks {', '.join(sorted(missing))}",
                )
        elif kind == "dialogue":
            if columns is None:
                raise SubtitleError(
                    field, f"line {number + 1}: Dialogue before the [Events] Format line"
                )
            values = rest.split(",", len(columns) - 1)
            if len(values) != len(columns):
                raise SubtitleError(
                    field, f"line {number + 1}: Dialogue has fewer fields than its Format"
                )
            row = dict(zip(columns, values, strict=True))
            start_ms = _ass_time_ms(row["start"], number, field)
            end_ms = _ass_time_ms(row["end"], number, field)
            if end_ms < start_ms:
                raise SubtitleError(
                    field,
                    f"line {number + 1}: Dialogue ends at {row['end'].strip()}, "
                    f"before it starts at {row['start'].strip()}",
                )
            cues.append(Cue(start_ms, end_ms, row["text"]))
    if columns is None:
        raise SubtitleError(field, "the ASS file has no [Events] section with a Format line")
    if not cues:
        raise SubtitleError(field, "the ASS file holds no Dialogue lines")
    return tuple(cues)


def _time_ms(parts: Sequence[str], number: int, field: str) -> int:
    hours, minutes, seconds, fraction = parts
    if int(minutes) > 59 or int(seconds) > 59:
        raise SubtitleError(field, f"line {number + 1}: minutes and seconds must be below 60")
    millis = int(fraction.ljust(3, "0"))
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + millis


def _ass_time_ms(value: str, number: int, field: str) -> int:
    match = _ASS_TIME.match(value)
    if match is None:
        raise SubtitleError(
            field, f"line {number + 1}: {value.strip()!r} is not an ASS time H:MM:SS.cc"
        )
    return _time_ms(match.groups(), number, field)


def seconds_to_ms(seconds: float) -> int:
    return max(0, math.floor(seconds * 1000 + 0.5))


def format_srt_cues(cues: Iterable[Cue]) -> bytes:
    blocks = [
        f"{index}\n{_srt_time(cue.start_ms)} --> {_srt_time(cue.end_ms)}\n{cue.text}\n"
        for index, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks).encode("utf-8")


def segments_srt(segments: Sequence[Segment]) -> bytes:
    """segments.srt: one cue per segment with text, in order."""
    cues = []
    for segment in segments:
        text = _clean_text(segment.text)
        if text:
            start_ms = seconds_to_ms(segment.start)
            cues.append(Cue(start_ms, max(start_ms, seconds_to_ms(segment.end)), text))
    return format_srt_cues(cues)


def words_json(segments: Sequence[Segment], metadata: TranscriptMetadata) -> bytes:
    """words.json: ``{"words": [{word, start, end}], "metadata": {language, model, device}}``."""
    document = {
        "words": [
            {
                "word": word.text,
                "start": _json_seconds(word.start_ms),
                "end": _json_seconds(word.end_ms),
            }
            for line in _timed_words(segments)
            for word in line
        ],
        "metadata": {
            "language": metadata.language,
            "model": metadata.model,
            "device": metadata.device,
            **(
                {"model_requested": metadata.model_requested}
                if metadata.model_requested not in (None, metadata.model)
                else {}
            ),
        },
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def karaoke_ass(segments: Sequence[Segment]) -> bytes:
    """karaoke.ass: word-timed ``{\\k}`` lines of at most 10 words and 5 s, never across segments.

    Each word's ``\\k`` lasts while it is spoken; a pause before the next word is its own empty
    ``{\\k}``, so every word lights up when it is said, however long the silence before it.
    """
    events = [
        _karaoke_event(line)
        for segment_words in _timed_words(segments)
        for line in _karaoke_lines(segment_words)
    ]
    return (_KARAOKE_HEADER + "".join(events)).encode("utf-8")


def segments_vtt(segments: Sequence[Segment]) -> bytes:
    """segments.vtt: the cues of segments.srt as WebVTT.

    WebVTT wants each cue to start no earlier than the one before and to end after it starts,
    so starts are made monotonic and an end is at least one millisecond past its start.
    """
    blocks = []
    previous_start = 0
    for segment in segments:
        text = _clean_text(segment.text)
        if text:
            start_ms = max(previous_start, seconds_to_ms(segment.start))
            end_ms = max(start_ms + 1, seconds_to_ms(segment.end))
            blocks.append(f"{_vtt_time(start_ms)} --> {_vtt_time(end_ms)}\n{_vtt_escape(text)}\n")
            previous_start = start_ms
    return _vtt_document(blocks)


def karaoke_vtt(segments: Sequence[Segment]) -> bytes:
    """karaoke.vtt: the lines of karaoke.ass as WebVTT cues with inline word timestamps.

    A word gets its ``<hh:mm:ss.mmm>`` only when that time lies strictly inside the cue and after
    the previous one, as WebVTT requires; a word that starts no later is shown with the one before.
    """
    blocks = []
    for segment_words in _timed_words(segments):
        for line in _karaoke_lines(segment_words):
            start_ms = line[0].start_ms
            end_ms = max(start_ms + 1, max(word.end_ms for word in line))
            marked = start_ms
            text = _vtt_escape(line[0].text)
            for word in line[1:]:
                text += " "
                if marked < word.start_ms < end_ms:
                    text += f"<{_vtt_time(word.start_ms)}>"
                    marked = word.start_ms
                text += _vtt_escape(word.text)
            blocks.append(f"{_vtt_time(start_ms)} --> {_vtt_time(end_ms)}\n{text}\n")
    return _vtt_document(blocks)


def lyrics_lrc(segments: Sequence[Segment]) -> bytes:
    """lyrics.lrc: the lines of karaoke.ass as enhanced LRC.

    ``[mm:ss.xx]`` starts a line, ``<mm:ss.xx>`` before each word says when it is sung and one
    after the last word says when the line ends (the latest word end).
    """
    lines = []
    for segment_words in _timed_words(segments):
        for line in _karaoke_lines(segment_words):
            start = _centiseconds(line[0].start_ms)
            end = max(_centiseconds(word.end_ms) for word in line)
            words = " ".join(
                f"<{_lrc_time(_centiseconds(word.start_ms))}>{word.text}" for word in line
            )
            lines.append(f"[{_lrc_time(start)}]{words} <{_lrc_time(end)}>\n")
    return "".join(lines).encode("utf-8")


def count_cues(segments: Sequence[Segment]) -> int:
    """The number of cues segments.srt holds."""
    return sum(1 for segment in segments if _clean_text(segment.text))


def count_words(segments: Sequence[Segment]) -> int:
    """The number of words words.json holds."""
    return sum(len(words) for words in _timed_words(segments))


def transcript_text(segments: Sequence[Segment]) -> str:
    return " ".join(text for segment in segments if (text := _clean_text(segment.text)))


@dataclass(frozen=True)
class _TimedWord:
    text: str
    start_ms: int
    end_ms: int


def _timed_words(segments: Sequence[Segment]) -> list[list[_TimedWord]]:
    """Each segment's words with text, timed in ms and made monotonic across the transcript."""
    previous_start = 0
    timed: list[list[_TimedWord]] = []
    for segment in segments:
        words = []
        for word in segment.words:
            text = _clean_text(word.text)
            if not text:
                continue
            start_ms = max(previous_start, seconds_to_ms(word.start))
            end_ms = max(start_ms, seconds_to_ms(word.end))
            words.append(_TimedWord(text, start_ms, end_ms))
            previous_start = start_ms
        timed.append(words)
    return timed


def _karaoke_lines(words: Sequence[_TimedWord]) -> list[list[_TimedWord]]:
    lines: list[list[_TimedWord]] = []
    line: list[_TimedWord] = []
    for word in words:
        if line and (
            len(line) == KARAOKE_MAX_WORDS or word.end_ms - line[0].start_ms > KARAOKE_MAX_LINE_MS
        ):
            lines.append(line)
            line = []
        line.append(word)
    if line:
        lines.append(line)
    return lines


def _karaoke_event(line: Sequence[_TimedWord]) -> str:
    starts = [_centiseconds(word.start_ms) for word in line]
    ends = [_centiseconds(word.end_ms) for word in line]
    line_end = max(ends)
    syllables = []
    for index, word in enumerate(line):
        if index + 1 < len(line):
            next_start = starts[index + 1]
            spoken_until = min(ends[index], next_start)
            syllables.append(f"{{\\k{spoken_until - starts[index]}}}{_ass_safe(word.text)} ")
            if next_start > spoken_until:
                syllables.append(f"{{\\k{next_start - spoken_until}}}")
        else:
            syllables.append(f"{{\\k{line_end - starts[index]}}}{_ass_safe(word.text)}")
    return (
        f"Dialogue: 0,{_ass_time(starts[0])},{_ass_time(line_end)},{KARAOKE_STYLE},,0,0,0,,"
        f"{''.join(syllables)}\n"
    )


def _clean_text(text: str) -> str:
    return _ASCII_WHITESPACE.sub(" ", text).strip(" ")


def _ass_safe(text: str) -> str:
    # Braces open override blocks and a backslash starts an escape in ASS event text.
    return text.replace("{", "(").replace("}", ")").replace("\\", "/")


def _centiseconds(ms: int) -> int:
    return (ms + 5) // 10


def _srt_time(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def _ass_time(centiseconds: int) -> str:
    hours, rest = divmod(centiseconds, 360_000)
    minutes, rest = divmod(rest, 6000)
    seconds, hundredths = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{hundredths:02d}"


def _vtt_time(ms: int) -> str:
    return _srt_time(ms).replace(",", ".")


def _vtt_escape(text: str) -> str:
    # In cue text "&" starts an entity and "<" a tag; escaping ">" also keeps "-->" out.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_document(blocks: Sequence[str]) -> bytes:
    return ("WEBVTT\n" + "".join(f"\n{block}" for block in blocks)).encode("utf-8")


def _lrc_time(centiseconds: int) -> str:
    minutes, rest = divmod(centiseconds, 6000)
    seconds, hundredths = divmod(rest, 100)
    return f"{minutes:02d}:{seconds:02d}.{hundredths:02d}"


def _json_seconds(ms: int) -> int | float:
    # JSON.stringify writes 1, not 1.0; integral times are ints so both languages agree.
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


_KARAOKE_HEADER = (
    "[Script Info]\n"
    "Title: Karaoke Subtitles\n"
    "ScriptType: v4.00+\n"
    "WrapStyle: 0\n"
    "ScaledBorderAndShadow: yes\n"
    "PlayResX: 1920\n"
    "PlayResY: 1080\n"
    "\n"
    "[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
    "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
    "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
    f"Style: {KARAOKE_STYLE},{_KARAOKE_FONT},48,{_KARAOKE_PRIMARY},{_KARAOKE_SECONDARY},"
    f"{_KARAOKE_OUTLINE},{_KARAOKE_BACK},0,0,0,0,100,100,0,0,1,2,1,2,10,10,25,1\n"
    "\n"
    "[Events]\n"
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
)
