"""The transcript formatters write the shared fixtures' bytes exactly, as a TypeScript twin must."""

import json
from pathlib import Path

import pytest
import webvtt

from api_gpu_worker.subtitles import (
    Segment,
    SubtitleError,
    TranscriptMetadata,
    Word,
    karaoke_ass,
    karaoke_vtt,
    lyrics_lrc,
    parse_subtitles,
    segments_srt,
    segments_vtt,
    words_json,
)

FIXTURES = Path(__file__).resolve().parents[2] / "libs/common/contract/fixtures/transcripts"
CASES = sorted(path.name for path in FIXTURES.iterdir() if path.is_dir())


def load(case: str) -> tuple[list[Segment], TranscriptMetadata]:
    document = json.loads((FIXTURES / case / "input.json").read_text(encoding="utf-8"))
    segments = [
        Segment(
            segment["start"],
            segment["end"],
            segment["text"],
            tuple(Word(word["word"], word["start"], word["end"]) for word in segment["words"]),
        )
        for segment in document["segments"]
    ]
    return segments, TranscriptMetadata(**document["metadata"])


def test_there_are_fixtures_with_accents_and_pauses() -> None:
    assert len(CASES) >= 3
    inputs = "".join((FIXTURES / case / "input.json").read_text(encoding="utf-8") for case in CASES)
    assert all(letter in inputs for letter in "áãçéê")


@pytest.mark.parametrize("case", CASES)
def test_segments_srt_matches_fixture(case: str) -> None:
    segments, _ = load(case)
    assert segments_srt(segments) == (FIXTURES / case / "segments.srt").read_bytes()


@pytest.mark.parametrize("case", CASES)
def test_karaoke_ass_matches_fixture(case: str) -> None:
    segments, _ = load(case)
    assert karaoke_ass(segments) == (FIXTURES / case / "karaoke.ass").read_bytes()


@pytest.mark.parametrize("case", CASES)
def test_words_json_matches_fixture(case: str) -> None:
    segments, metadata = load(case)
    assert words_json(segments, metadata) == (FIXTURES / case / "words.json").read_bytes()


@pytest.mark.parametrize(
    ("filename", "writer"),
    [("segments.vtt", segments_vtt), ("karaoke.vtt", karaoke_vtt), ("lyrics.lrc", lyrics_lrc)],
)
@pytest.mark.parametrize("case", CASES)
def test_vtt_and_lrc_match_fixture(case: str, filename: str, writer) -> None:
    segments, _ = load(case)
    assert writer(segments) == (FIXTURES / case / filename).read_bytes()


@pytest.mark.parametrize("filename", ["segments.vtt", "karaoke.vtt"])
@pytest.mark.parametrize("case", CASES)
def test_vtt_fixtures_parse_with_monotonic_cues(case: str, filename: str) -> None:
    vtt = webvtt.from_string((FIXTURES / case / filename).read_text(encoding="utf-8"))
    starts = [caption.start_time.in_milliseconds() for caption in vtt.captions]
    assert starts == sorted(starts)
    assert all(
        caption.end_time.in_milliseconds() > caption.start_time.in_milliseconds()
        for caption in vtt.captions
    )
    segments, _ = load(case)
    pieces = (
        [segment.text for segment in segments]
        if filename == "segments.vtt"
        else [word.text for segment in segments for word in segment.words]
    )
    spoken = " ".join(" ".join(piece.split()) for piece in pieces if piece.strip())
    escaped = spoken.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert " ".join(caption.text for caption in vtt.captions) == escaped


@pytest.mark.parametrize("case", CASES)
def test_fixture_outputs_parse_back(case: str) -> None:
    segments, _ = load(case)
    srt = (FIXTURES / case / "segments.srt").read_bytes()
    ass = (FIXTURES / case / "karaoke.ass").read_bytes()
    if not any(word.text.strip() for segment in segments for word in segment.words):
        # Nothing to burn in: caption refuses such a file rather than encode for nothing.
        with pytest.raises(SubtitleError):
            parse_subtitles(ass, "url_srt")
        return
    assert parse_subtitles(srt, "url_srt").format == "srt"
    assert parse_subtitles(ass, "url_srt").format == "ass"
