"""What a fetched file really is, checked with ffprobe before any work is done on it.

Images are measured from their header by this module before anything decodes them, so a
decompression bomb (a small PNG of 50000x50000 pixels) is refused without allocating its pixels.
"""

import json
import struct
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import MediaError
from .settings import Settings
from .work_limits import check_video_work

_PROBE_TIMEOUT_S = 60
# Containers FFmpeg reports for single pictures; such a file is not a video.
_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "gif", "bmp_pipe", "tiff_pipe"}
_STILL_CODECS = {"png", "mjpeg", "webp", "gif", "bmp", "tiff"}


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


def probe(path: Path) -> dict[str, Any] | None:
    """ffprobe's streams and format of ``path``, or None when ffprobe cannot read it."""
    try:
        completed = subprocess.run(
            [
                "ffprobe", "-v", "error", "-print_format", "json",
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


def require_video(path: Path, field: str, settings: Settings) -> VideoInfo:
    info = probe(path)
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


def require_audio(path: Path, field: str, settings: Settings) -> AudioInfo:
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
    return AudioInfo(
        duration=duration,
        codec=audio.get("codec_name", ""),
        sample_rate=int(audio.get("sample_rate") or 0),
        channels=int(audio.get("channels") or 0),
    )


def require_image(path: Path, field: str, settings: Settings) -> ImageInfo:
    """Size from the header (PNG, JPEG, WebP, GIF, BMP), the pixel cap, then a trial decode."""
    with path.open("rb") as file:
        header = file.read(1024 * 1024)
    measured = _image_size(header)
    if measured is None:
        raise MediaError(
            f"{field}: the file is not an image (PNG, JPEG, WebP, GIF or BMP expected)",
            field=field,
        )
    kind, width, height = measured
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


def _image_size(header: bytes) -> tuple[str, int, int] | None:
    if header.startswith(b"\x89PNG\r\n\x1a\n") and header[12:16] == b"IHDR":
        width, height = struct.unpack(">II", header[16:24])
        return "png", width, height
    if header[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", header[6:10])
        return "gif", width, height
    if header[:2] == b"BM" and len(header) >= 26:
        width, height = struct.unpack("<ii", header[18:26])
        return "bmp", width, abs(height)
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return _webp_size(header)
    if header[:2] == b"\xff\xd8":
        return _jpeg_size(header)
    return None


def _webp_size(header: bytes) -> tuple[str, int, int] | None:
    chunk = header[12:16]
    if chunk == b"VP8X" and len(header) >= 30:
        width = 1 + int.from_bytes(header[24:27], "little")
        height = 1 + int.from_bytes(header[27:30], "little")
        return "webp", width, height
    if chunk == b"VP8 " and len(header) >= 30:
        width, height = struct.unpack("<HH", header[26:30])
        return "webp", width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(header) >= 25:
        bits = int.from_bytes(header[21:25], "little")
        return "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(header: bytes) -> tuple[str, int, int] | None:
    # Walks the marker segments to the first start-of-frame; its header holds the size.
    offset = 2
    while offset + 9 <= len(header):
        if header[offset] != 0xFF:
            return None
        marker = header[offset + 1]
        if marker == 0xFF:
            offset += 1
            continue
        length = struct.unpack(">H", header[offset + 2 : offset + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", header[offset + 5 : offset + 9])
            return "jpeg", width, height
        offset += 2 + length
    return None


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
