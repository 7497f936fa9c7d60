"""Long audio that costs little to make: hours of silence, or a sentence once a minute, as FLAC."""

import subprocess
from pathlib import Path

SENTENCE = "Please send the weekly report to the whole team before the meeting on Friday morning."


def silence_flac(root: Path, seconds: int) -> Path:
    """``seconds`` of digital silence: a few hundred KB an hour."""
    out = root / f"silence-{seconds}.flac"
    if not out.exists():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
             "-i", "anullsrc=sample_rate=16000:channel_layout=mono", "-t", str(seconds),
             "-c:a", "flac", str(out)],
            check=True,
        )  # fmt: skip
    return out


def sentence_every_minute(root: Path, minutes: int) -> Path:
    """SENTENCE spoken by espeak-ng at the start of each of ``minutes`` minutes, silence between."""
    out = root / f"sentence-every-minute-{minutes}.flac"
    if not out.exists():
        spoken = root / "sentence-every-minute.wav"
        minute = root / "sentence-then-silence.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(spoken), SENTENCE], check=True)
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(spoken), "-af", "apad=whole_dur=60",
             "-ar", "16000", "-ac", "1", str(minute)],
            check=True,
        )  # fmt: skip
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(minutes - 1), "-i", str(minute),
             "-c:a", "flac", str(out)],
            check=True,
        )  # fmt: skip
    return out
