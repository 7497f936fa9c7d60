"""Audio for whisper in bounded pieces: FFmpeg decodes to 16 kHz mono into a pipe, cut in pauses.

faster-whisper given a file decodes all of it into one float32 array first, and its VAD and
features copy it again: four hours of silence took a worker to 3.2 GB. Here FFmpeg writes the
samples into a pipe that is read one window of at most ``MAX_CHUNK_S`` seconds at a time, so the
memory a transcription holds does not grow with the audio's length. Each window is cut in the
longest pause Silero VAD finds in its last ``CUT_SEARCH_S`` seconds (so no word is split between
two chunks), and what follows the cut starts the next window.
"""

import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from .errors import MediaError

SAMPLE_RATE = 16000
MAX_CHUNK_S = 120.0
CUT_SEARCH_S = 30.0
# A pause that reaches the window's end may be followed at once by speech: the cut stays this
# far before the end, so the next chunk starts with some of the pause.
_TRAILING_PAUSE_KEPT_S = 1.0
# Without a pause in the search stretch (music, a speaker who never stops), the cut goes in the
# quietest stretch of this length.
_QUIET_STRETCH_S = 0.2
# faster-whisper's VAD thresholds, but every pause between words counts, unpadded: these spans
# choose cuts and say whether a chunk holds speech at all; decoding runs its own VAD.
_CUT_VAD = VadOptions(min_silence_duration_ms=100, speech_pad_ms=0)
_BYTES_PER_SAMPLE = 2
_STDERR_KEPT = 600


@dataclass(frozen=True)
class AudioChunk:
    """``samples`` (float32, mono, 16 kHz) starting ``start`` seconds into the audio."""

    start: float
    samples: np.ndarray
    speech: bool

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def audio_chunks(path: Path) -> Iterator[AudioChunk]:
    """The first audio stream of ``path`` (any file FFmpeg reads, a video too), chunk by chunk.

    Closing the iterator early stops FFmpeg. A file FFmpeg cannot decode raises MediaError once
    its samples run out.
    """
    window = int(MAX_CHUNK_S * SAMPLE_RATE)
    with tempfile.TemporaryFile() as stderr:
        decoder = subprocess.Popen(
            [
                "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
                "-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1", "-ar", str(SAMPLE_RATE),
                "-f", "s16le", "pipe:1",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )  # fmt: skip
        try:
            buffered = np.empty(0, dtype=np.float32)
            offset = 0
            ended = False
            while True:
                if not ended:
                    wanted = window - len(buffered)
                    data = decoder.stdout.read(wanted * _BYTES_PER_SAMPLE)
                    ended = len(data) < wanted * _BYTES_PER_SAMPLE
                    read = np.frombuffer(data[: len(data) - len(data) % 2], dtype=np.int16)
                    buffered = np.concatenate([buffered, read.astype(np.float32) / 32768.0])
                if len(buffered) == 0:
                    break
                speech = speech_spans(buffered)
                cut = len(buffered) if ended else cut_point(buffered, speech)
                yield AudioChunk(
                    start=offset / SAMPLE_RATE,
                    samples=buffered[:cut],
                    speech=any(start < cut for start, _ in speech),
                )
                buffered = buffered[cut:]
                offset += cut
        finally:
            if decoder.poll() is None:
                decoder.kill()
            decoder.stdout.close()
            decoder.wait()
        if decoder.returncode != 0:
            stderr.seek(0)
            detail = stderr.read().decode("utf-8", "replace").strip()[-_STDERR_KEPT:]
            raise MediaError(f"the audio could not be decoded: {detail or 'ffmpeg failed'}")


def speech_spans(samples: np.ndarray) -> list[tuple[int, int]]:
    """Where Silero VAD hears speech, as (start, end) sample indices."""
    return [(span["start"], span["end"]) for span in get_speech_timestamps(samples, _CUT_VAD)]


def cut_point(samples: np.ndarray, speech: list[tuple[int, int]]) -> int:
    """Where to end a chunk of ``samples``: in the longest pause of their last CUT_SEARCH_S.

    A pause inside the search stretch is cut in its middle; one that runs to the end of the
    samples, _TRAILING_PAUSE_KEPT_S before the end at most. Without any pause, the quietest
    stretch.
    """
    end = len(samples)
    low = max(0, end - int(CUT_SEARCH_S * SAMPLE_RATE))
    pauses = []
    previous_end = 0
    for start, stop in [*speech, (end, end)]:
        pause = (max(previous_end, low), min(start, end))
        if pause[1] > pause[0]:
            pauses.append(pause)
        previous_end = max(previous_end, stop)
    if not pauses:
        return _quietest(samples, low)
    start, stop = max(pauses, key=lambda pause: pause[1] - pause[0])
    middle = (start + stop) // 2
    if stop == end:
        return max(middle, end - int(_TRAILING_PAUSE_KEPT_S * SAMPLE_RATE))
    return middle


def _quietest(samples: np.ndarray, low: int) -> int:
    stretch = int(_QUIET_STRETCH_S * SAMPLE_RATE)
    energy = np.concatenate([[0.0], np.cumsum(samples[low:].astype(np.float64) ** 2)])
    if len(energy) <= stretch:
        return len(samples)
    sums = energy[stretch:] - energy[:-stretch]
    return low + int(np.argmin(sums)) + stretch // 2
