"""What a fetched file really is, checked with ffprobe before any work is done on it.

Where one job reads many files (a join of clips, a job's own output), they are read in-process
through PyAV's FFmpeg libraries instead (``probe_in_process``): the same header fields without an
ffprobe start-up each (about 60 ms of CPU, most of a 20-clip stream-copy join), handed on in
ffprobe's shape so every check below reads them alike.

Images are measured from their header (Pillow's lazy open) before anything decodes them, so a
decompression bomb (a small PNG of 50000x50000 pixels) is refused without allocating its pixels.
"""

import hashlib
import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, UnidentifiedImageError

from .errors import MediaError
from .settings import Settings
from .usage import record_image, record_input, record_output
from .work_limits import check_video_work

# The cap is MAX_IMAGE_PIXELS, applied below to the size Pillow reads from the header; Pillow's own
# guard (its default, or an error at twice it) would refuse images an operator's larger cap allows.
# Pillow never decodes here: FFmpeg and OpenCV do, after the check.
Image.MAX_IMAGE_PIXELS = None

_PROBE_TIMEOUT_S = 60
# Containers FFmpeg reports for single pictures; such a file is not a video.
_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "gif", "bmp_pipe", "tiff_pipe"}
_STILL_CODECS = {"png", "mjpeg", "webp", "gif", "bmp", "tiff"}
_PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
# Pillow calls a JPEG with several pictures in it (many cameras write them) MPO.
_KIND = {"MPO": "jpeg"}


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    codec: str
    has_audio: bool
    container: str
    rate: Fraction = Fraction(0)
    pix_fmt: str = ""
    audio_codec: str | None = None
    audio_duration: float | None = None


@dataclass(frozen=True)
class AudioInfo:
    duration: float
    codec: str
    sample_rate: int = 0
    channels: int = 0


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str = ""


def probe(path: Path, extra_args: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """ffprobe's streams and format of ``path``, or None when ffprobe cannot read it."""
    try:
        completed = subprocess.run(
            [
                "ffprobe", "-v", "error", "-print_format", "json", *extra_args,
                "-show_format", "-show_streams", str(path),
            ],
            capture_output=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    if completed.returncode != 0:
        return None
    try:
        info = json.loads(completed.stdout)
    except json.JSONDecodeError:
        return None
    return info if info.get("streams") else None


def probe_in_process(path: Path) -> dict[str, Any] | None:
    """``probe(path, ("-show_data_hash", "MD5"))``'s fields for the video and audio checks, read
    in-process; None when the file cannot be read so (the caller then asks ffprobe).

    Only the fields this module and the joins read are filled, formatted as ffprobe prints them.
    """
    try:
        with av.open(str(path), timeout=_PROBE_TIMEOUT_S, metadata_errors="replace") as container:
            streams = [_stream_fields(stream) for stream in container.streams]
            if any(stream is None for stream in streams):
                return None
            info = {
                "format": {
                    "format_name": container.format.name,
                    **_seconds("duration", container.duration, Fraction(1, av.time_base)),
                },
                "streams": streams,
            }
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    return info if info["streams"] else None


def _stream_fields(stream) -> dict[str, Any] | None:
    """One stream as ffprobe prints it; None for a picture or sound PyAV has no decoder for."""
    context = stream.codec_context
    if context is None:
        # Data streams (a MOV's timecode track) have no decoder and nothing the checks read.
        return (
            None
            if stream.type in ("video", "audio")
            else {"index": stream.index, "codec_type": stream.type}
        )
    base = Fraction(stream.time_base) if stream.time_base else None
    fields: dict[str, Any] = {
        "index": stream.index,
        "codec_type": stream.type,
        "codec_name": context.codec.canonical_name,
        "time_base": f"{base.numerator}/{base.denominator}" if base else "0/1",
        "extradata_hash": _md5(context.extradata or b""),
        **_seconds("start_time", stream.start_time, base),
        **_seconds("duration", stream.duration, base),
    }
    if stream.frames:
        fields["nb_frames"] = str(stream.frames)
    if stream.type == "video":
        fields.update(
            width=context.width,
            height=context.height,
            pix_fmt=context.pix_fmt or "",
            avg_frame_rate=_ratio(stream.average_rate),
            r_frame_rate=_ratio(stream.base_rate),
        )
    elif stream.type == "audio":
        fields.update(sample_rate=str(context.sample_rate), channels=context.channels)
    return fields


def _seconds(name: str, value: int | None, base: Fraction | None) -> dict[str, str]:
    return {} if value is None or base is None else {name: f"{float(value * base):.6f}"}


def _md5(data: bytes) -> str:
    """As ffprobe's -show_data_hash MD5 prints it: clips compare by it, whichever read them."""
    return "MD5:" + hashlib.md5(data, usedforsecurity=False).hexdigest()


def _ratio(value: Fraction | None) -> str:
    return f"{value.numerator}/{value.denominator}" if value else "0/0"


def require_video(
    path: Path, field: str, settings: Settings, info: dict[str, Any] | None = None
) -> VideoInfo:
    """What the video is, refused as the job's fault when it is none; ``info``: already probed."""
    info = probe(path) if info is None else info
    if info is None:
        raise MediaError(f"{field}: the file is not a video FFmpeg can read", field=field)
    container = info.get("format", {}).get("format_name", "")
    video = _first(info, "video")
    if video is None or container in _IMAGE_FORMATS or video.get("codec_name") in _STILL_CODECS:
        raise MediaError(f"{field}: the file is not a video (no video stream)", field=field)
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    rate = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    duration = _float(video.get("duration")) or _float(info["format"].get("duration"))
    if not width or not height or not rate or not duration:
        raise MediaError(
            f"{field}: the video has no readable size, frame rate or duration", field=field
        )
    if duration > settings.max_video_seconds:
        raise MediaError(
            f"{field}: the video lasts {duration:.0f} s, more than MAX_VIDEO_SECONDS "
            f"({settings.max_video_seconds:g} s)",
            field=field,
        )
    check_video_work(width, height, float(rate), field, settings)
    record_input(duration)
    frames = int(video.get("nb_frames") or 0) or round(duration * rate)
    audio = _first(info, "audio")
    return VideoInfo(
        width=width,
        height=height,
        fps=float(rate),
        frames=frames,
        duration=duration,
        codec=video.get("codec_name", ""),
        has_audio=audio is not None,
        container=container,
        rate=rate,
        pix_fmt=video.get("pix_fmt", ""),
        audio_codec=audio.get("codec_name") if audio else None,
        audio_duration=_float(audio.get("duration")) if audio else None,
    )


def require_audio(
    path: Path, field: str, settings: Settings, *, job_output: bool = False
) -> AudioInfo:
    """What the audio is; counted as the job's input media unless it is ``job_output``."""
    info = probe(path)
    audio = _first(info, "audio") if info else None
    if audio is None:
        raise MediaError(f"{field}: the file is not audio FFmpeg can read", field=field)
    duration = _float(audio.get("duration")) or _float(info["format"].get("duration"))
    if not duration:
        raise MediaError(f"{field}: the audio has no readable duration", field=field)
    if duration > settings.max_audio_seconds:
        raise MediaError(
            f"{field}: the audio lasts {duration:.0f} s, more than MAX_AUDIO_SECONDS "
            f"({settings.max_audio_seconds:g} s)",
            field=field,
        )
    if job_output:
        record_output(duration)
    else:
        record_input(duration)
    return AudioInfo(
        duration=duration,
        codec=audio.get("codec_name", ""),
        sample_rate=int(audio.get("sample_rate") or 0),
        channels=int(audio.get("channels") or 0),
    )


def require_image(path: Path, field: str, settings: Settings) -> ImageInfo:
    """Size from the header (PNG, JPEG, WebP, GIF, BMP), the pixel cap, then a trial decode."""
    try:
        # Pillow's open is lazy: it parses the header and stops, allocating no pixels.
        with Image.open(path, formats=_PILLOW_FORMATS) as image:
            kind = _KIND.get(image.format or "", (image.format or "").lower())
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise MediaError(
            f"{field}: the file is not an image (PNG, JPEG, WebP, GIF or BMP expected)",
            field=field,
        ) from None
    if width <= 0 or height <= 0:
        raise MediaError(f"{field}: the image header gives no size", field=field)
    if width * height > settings.max_image_pixels:
        raise MediaError(
            f"{field}: the image is {width}x{height}, more than MAX_IMAGE_PIXELS "
            f"({settings.max_image_pixels} pixels)",
            field=field,
        )
    if not _decodes(path):
        raise MediaError(f"{field}: the {kind} image cannot be decoded", field=field)
    record_image()
    return ImageInfo(width=width, height=height, format=kind)


def _decodes(path: Path) -> bool:
    try:
        completed = subprocess.run(
            [
                "ffmpeg", "-v", "error", "-nostdin", "-xerror",
                "-i", str(path), "-frames:v", "1", "-f", "null", "-",
            ],
            capture_output=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return False
    return completed.returncode == 0


def _first(info: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((s for s in info.get("streams", []) if s.get("codec_type") == kind), None)


def _rate(value: str | None) -> Fraction | None:
    try:
        rate = Fraction(value) if value else None
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate and rate > 0 else None


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
