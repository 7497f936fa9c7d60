"""How much work an input may ask for, checked right after it is probed, before any heavy work.

A small file can describe a lot of work: a 105 KB video of 8192x4320 pixels, a 2.6 MB FLAC of
four hours of silence. Past a limit the job fails as ``invalid_media`` (a 400 for the client)
naming the field and the limit, so the operator knows which variable to raise.
"""

from .errors import MediaError
from .settings import Settings

# How much slower than ``tiny``/``base`` each model family transcribes on a CPU; a CPU worker
# accepts proportionally less audio for the slower ones.
_CPU_COST = (("large", 8.0), ("turbo", 4.0), ("medium", 4.0), ("small", 2.0))


def check_video_work(width: int, height: int, fps: float, field: str, settings: Settings) -> None:
    pixels = width * height
    if pixels > settings.max_video_pixels:
        raise MediaError(
            f"{field}: the video is {width}x{height}, more than MAX_VIDEO_PIXELS "
            f"({settings.max_video_pixels} pixels a frame)",
            field=field,
        )
    if pixels * fps > settings.max_video_pixel_rate:
        raise MediaError(
            f"{field}: the video is {width}x{height} at {fps:g} fps, more than "
            f"MAX_VIDEO_PIXEL_RATE ({settings.max_video_pixel_rate} pixels a second)",
            field=field,
        )


def max_transcribe_seconds(model: str, device: str, settings: Settings) -> float:
    """The longest audio ``model`` may transcribe on ``device`` (a GPU: MAX_AUDIO_SECONDS)."""
    if device != "cpu":
        return settings.max_audio_seconds
    cost = next((factor for family, factor in _CPU_COST if family in model.lower()), 1.0)
    return min(settings.max_audio_seconds, settings.max_cpu_transcribe_seconds / cost)


def check_transcribe_length(
    duration: float, model: str, device: str, field: str, settings: Settings
) -> None:
    limit = max_transcribe_seconds(model, device, settings)
    if duration > limit:
        raise MediaError(
            f"{field}: the audio lasts {duration:.0f} s; model {model} on the {device} "
            f"transcribes at most {limit:.0f} s (MAX_CPU_TRANSCRIBE_SECONDS, MAX_AUDIO_SECONDS)",
            field=field,
        )
