"""Word timing for word-level captions, from whatever subtitles a caption job was given.

A caption is a run of ``Block``s (an SRT cue, an ASS dialogue line, or a stretch of speech in a
words.json between long pauses); each holds ``TimedWord``s. Where the input says when each word
was spoken (words.json from /transcribe, ``{\\k}`` karaoke tags in an ASS line) the timing is
"measured"; an SRT cue only says when its text is on screen, so its words share the cue's time
in proportion to their length in characters ("interpolated"), the first starting with the cue
and the last ending with it.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .subtitles import Cue, SubtitleError, SubtitleFile, seconds_to_ms

WordTiming = Literal["measured", "interpolated"]

# A pause this long in a words.json ends a block, so a page never spans a silence.
BLOCK_PAUSE_MS = 1500
MAX_WORDS = 20_000

_ASS_OVERRIDE = re.compile(r"\{[^}]*\}")
_ASS_KARAOKE = re.compile(r"\\(?:k|kf|ko|K)(\d+)")
_ASS_BREAK = re.compile(r"\\[Nn]")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class TimedWord:
    text: str
    start_ms: int
    end_ms: int
    # The word begins a new line of its cue (SRT line breaks and ASS \N), kept for classic captions.
    new_line: bool = False


@dataclass(frozen=True)
class Block:
    words: tuple[TimedWord, ...]


@dataclass(frozen=True)
class TimedCaption:
    blocks: tuple[Block, ...]
    timing: WordTiming
    # Blocks are the cues of a subtitle file (whose own line breaks classic captions keep),
    # not stretches of speech.
    from_cues: bool = False


def looks_like_words_json(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def from_words_json(data: bytes, field: str) -> TimedCaption:
    """words.json as /transcribe writes it: ``{"words": [{"word", "start", "end"}, ...]}``."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SubtitleError(field, "the words file is not JSON") from None
    words = document.get("words") if isinstance(document, dict) else None
    if not isinstance(words, list):
        raise SubtitleError(field, 'the words file has no "words" array')
    if len(words) > MAX_WORDS:
        raise SubtitleError(field, f"the words file holds more than {MAX_WORDS} words")
    timed: list[TimedWord] = []
    for index, item in enumerate(words):
        where = f'"words"[{index}]'
        if not isinstance(item, dict):
            raise SubtitleError(field, f"{where} is not an object")
        text, start, end = item.get("word"), item.get("start"), item.get("end")
        if not isinstance(text, str):
            raise SubtitleError(field, f'{where}."word" is not a string')
        if not all(_is_time(value) for value in (start, end)):
            raise SubtitleError(field, f'{where}: "start" and "end" must be seconds, 0 or more')
        if end < start:
            raise SubtitleError(field, f"{where} ends before it starts")
        text = clean_text(text)
        if not text:
            continue
        start_ms = max(seconds_to_ms(start), timed[-1].start_ms if timed else 0)
        timed.append(TimedWord(text, start_ms, max(start_ms, seconds_to_ms(end))))
    if not timed:
        raise SubtitleError(field, "the words file holds no words")
    return _speech(timed)


def from_subtitles(subtitles: SubtitleFile) -> TimedCaption:
    """Words of an SRT's or ASS's cues; measured from ``{\\k}`` tags if every ASS line has them."""
    if subtitles.format == "ass" and all(_ASS_KARAOKE.search(cue.text) for cue in subtitles.cues):
        blocks = [_karaoke_words(cue) for cue in subtitles.cues]
        timing: WordTiming = "measured"
    else:
        blocks = [_interpolated_words(cue, subtitles.format) for cue in subtitles.cues]
        timing = "interpolated"
    return TimedCaption(tuple(Block(words) for words in blocks if words), timing, from_cues=True)


def from_transcript(words: Sequence[tuple[str, int, int]]) -> TimedCaption:
    """Words a transcription measured, ``(text, start_ms, end_ms)``, in blocks between pauses."""
    timed: list[TimedWord] = []
    for text, start_ms, end_ms in words:
        if text := clean_text(text):
            start_ms = max(start_ms, timed[-1].start_ms if timed else 0)
            timed.append(TimedWord(text, start_ms, max(start_ms, end_ms)))
    return _speech(timed)


def _speech(words: Sequence[TimedWord]) -> TimedCaption:
    """Measured words in blocks, a new one after each pause of ``BLOCK_PAUSE_MS`` or more."""
    blocks: list[list[TimedWord]] = []
    for word in words:
        if not blocks or word.start_ms - blocks[-1][-1].end_ms >= BLOCK_PAUSE_MS:
            blocks.append([])
        blocks[-1].append(word)
    return TimedCaption(tuple(Block(tuple(block)) for block in blocks), "measured")


def clean_text(text: str) -> str:
    return _WHITESPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 360_000


def _cue_lines(cue: Cue, subtitle_format: str) -> list[list[str]]:
    if subtitle_format == "ass":
        text = _ASS_BREAK.sub("\n", _ASS_OVERRIDE.sub("", cue.text)).replace("\\h", " ")
    else:
        text = _HTML_TAG.sub("", cue.text)
    return [words for line in text.split("\n") if (words := clean_text(line).split())]


def _interpolated_words(cue: Cue, subtitle_format: str) -> tuple[TimedWord, ...]:
    lines = _cue_lines(cue, subtitle_format)
    flat = [(word, index > 0 and position == 0) for index, line in enumerate(lines)
            for position, word in enumerate(line)]  # fmt: skip
    if not flat:
        return ()
    # Each word's share of the cue is its length plus the space after it (none after the last).
    weights = [len(word) + 1 for word, _ in flat]
    weights[-1] -= 1
    total = sum(weights)
    duration = cue.end_ms - cue.start_ms
    words = []
    elapsed = 0
    for (word, new_line), weight in zip(flat, weights, strict=True):
        start = cue.start_ms + duration * elapsed // total
        elapsed += weight
        end = cue.start_ms + duration * elapsed // total
        words.append(TimedWord(word, start, end, new_line))
    return tuple(words)


def _karaoke_words(cue: Cue) -> tuple[TimedWord, ...]:
    """Each ``{\\kN}`` syllable's text, timed from the line's start; empty syllables are pauses."""
    words: list[TimedWord] = []
    at = cue.start_ms
    new_line = False
    for block, text in re.findall(r"(\{[^}]*\})?([^{]*)", cue.text):
        durations = [int(value) * 10 for value in _ASS_KARAOKE.findall(block)]
        start = at
        at = min(cue.end_ms, at + sum(durations))
        parts = _ASS_BREAK.split(text.replace("\\h", " "))
        for index, part in enumerate(parts):
            new_line = new_line or index > 0
            for word in clean_text(part).split():
                words.append(TimedWord(word, start, max(start, at), new_line and bool(words)))
                new_line = False
    return tuple(words)
