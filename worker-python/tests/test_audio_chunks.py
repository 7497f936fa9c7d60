"""Audio decoded by FFmpeg into bounded chunks, cut in the pauses between sentences."""

import itertools
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from api_gpu_worker.audio_chunks import (
    CUT_SEARCH_S,
    MAX_CHUNK_S,
    SAMPLE_RATE,
    audio_chunks,
    cut_point,
)
from api_gpu_worker.errors import MediaError

SENTENCE = "Please send the weekly report to the whole team before the meeting on Friday morning."


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *map(str, args)], check=True)


@pytest.fixture(scope="module")
def sentences(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five minutes of one sentence, each time followed by 1.5 s of digital silence, as FLAC."""
    root = tmp_path_factory.mktemp("sentences")
    spoken = root / "sentence.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(spoken), SENTENCE], check=True)
    pair = root / "pair.wav"
    ffmpeg("-i", spoken, "-af", "apad=pad_dur=1.5", "-ar", SAMPLE_RATE, "-ac", 1, pair)
    out = root / "sentences.flac"
    ffmpeg("-stream_loop", -1, "-i", pair, "-t", 300, "-c:a", "flac", out)
    return out


def whole(path: Path) -> np.ndarray:
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(SAMPLE_RATE),
         "-f", "s16le", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0


def test_chunks_are_bounded_contiguous_and_together_the_whole_audio(sentences: Path) -> None:
    chunks = list(audio_chunks(sentences))

    assert len(chunks) >= 3
    assert all(chunk.duration <= MAX_CHUNK_S for chunk in chunks)
    assert all(chunk.duration >= MAX_CHUNK_S - CUT_SEARCH_S for chunk in chunks[:-1])
    assert [chunk.start for chunk in chunks] == pytest.approx(
        np.cumsum([0.0] + [chunk.duration for chunk in chunks[:-1]]).tolist()
    )
    assert np.array_equal(np.concatenate([chunk.samples for chunk in chunks]), whole(sentences))
    assert all(chunk.speech for chunk in chunks)


def test_each_cut_falls_in_a_pause_between_sentences(sentences: Path) -> None:
    chunks = list(audio_chunks(sentences))

    for before, after in itertools.pairwise(chunks):
        # A quarter of a second each side of the cut is the silence between two sentences.
        quarter = SAMPLE_RATE // 4
        around = np.concatenate([before.samples[-quarter:], after.samples[:quarter]])
        assert np.abs(around).max() == 0.0, f"cut at {after.start:.2f} s is not in a pause"


def test_silence_is_chunked_without_speech(tmp_path: Path) -> None:
    silence = tmp_path / "silence.flac"
    ffmpeg("-f", "lavfi", "-i", f"anullsrc=sample_rate={SAMPLE_RATE}:channel_layout=mono",
           "-t", 400, "-c:a", "flac", silence)  # fmt: skip

    chunks = list(audio_chunks(silence))

    assert sum(chunk.duration for chunk in chunks) == pytest.approx(400)
    assert not any(chunk.speech for chunk in chunks)
    # A pause running to the end of a window is cut just before its end.
    assert all(chunk.duration >= MAX_CHUNK_S - 1.0 for chunk in chunks[:-1])


def test_without_a_pause_the_cut_goes_in_the_quietest_stretch() -> None:
    seconds = int(MAX_CHUNK_S)
    loud = np.full(seconds * SAMPLE_RATE, 0.5, dtype=np.float32)
    quiet_at = (seconds - 10) * SAMPLE_RATE
    loud[quiet_at : quiet_at + SAMPLE_RATE // 2] = 0.01

    cut = cut_point(loud, [(0, len(loud))])

    assert quiet_at <= cut <= quiet_at + SAMPLE_RATE // 2


def test_a_file_without_audio_is_a_media_error(tmp_path: Path) -> None:
    video = tmp_path / "mute.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=black:size=64x64:duration=1", "-c:v", "libx264", video)

    with pytest.raises(MediaError, match="could not be decoded"):
        list(audio_chunks(video))


def test_stopping_early_ends_the_decoder(sentences: Path) -> None:
    chunks = audio_chunks(sentences)
    next(chunks)
    assert ffmpeg_children() != []

    chunks.close()

    assert ffmpeg_children() == []


def ffmpeg_children() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"ffmpeg" in command:
            found.append(int(entry.name))
    return found
