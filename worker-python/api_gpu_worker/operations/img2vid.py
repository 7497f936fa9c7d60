"""img2vid: one Ken Burns clip per image, ``video_1.mp4``... in the order of ``images``
(numbered from ``start_index + 1`` in a part of a batch the API split).

Each image is fetched, checked (its header's pixel count before anything decodes it), decoded
once, and its frames rendered by `kenburns` straight into FFmpeg's stdin as raw I420, encoded with
the job's encoder. Images run in parallel, up to BATCH_SIZE at a time. Clip names come from the
position of the image, never from its ``id`` (two images may share one; both get their clip).

Moves (``zoom_type``): ``zoomin`` (default) a centred zoom from 1.0 to 1.324 over the clip,
``zoomout`` the same backwards, ``panright`` / ``panleft`` the camera crossing the whole width of
the image at 1.324 (panright: the picture slides left). Photos are turned upright by their EXIF
orientation. ``fit: cover`` (default) crops an image of another shape to fill the frame, never
stretching it; ``fit: blur`` shows the whole image over a blurred, darkened copy of itself filling
the frame. Every clip is ``resolution`` (1920x1080 by default; 1080x1920, 1080x1080, 1280x720),
24 fps, round(duracao x 24) frames, H.264 in MP4 tagged BT.601 (what the frames are), no audio.

Progress is the share of all frames written so far (95%) and of clips uploaded (5%).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import kenburns
from ..encoders import EncoderConfig, SoftwareEncoder
from ..errors import InputError, MediaError
from ..fetch import fetch
from ..frame_encode import FramesAbandoned, encode_with_fallback, pipe_frames
from ..media import require_image
from ..output_check import require_playable_video
from ..storage import object_key

if TYPE_CHECKING:
    from ..job import JobContext

_FRAMES_SHARE = 95.0
_LEGACY_MOVES = {"zoompanright": "panright", "zoompanleft": "panleft"}


@dataclass(frozen=True)
class _Clip:
    index: int
    image_id: str
    image_url: str
    frames: int
    motion: kenburns.Motion

    number: int
    size: tuple[int, int]
    fit: str

    @property
    def filename(self) -> str:
        return f"video_{self.number}.mp4"

    @property
    def field(self) -> str:
        return f"images[{self.index}]"


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    start = fields.get("start_index", 0)
    size = kenburns.SIZES[fields.get("resolution", "1920x1080")]
    fit = fields.get("fit", "cover")
    spread = fields.get("zoom_types", [])
    clips = [
        _plan(index, image, start, size, fit, spread)
        for index, image in enumerate(fields["images"])
    ]
    progress = _Progress(ctx, clips)
    halt = threading.Event()
    workers = max(1, min(ctx.settings.batch_size, len(clips)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="img2vid") as pool:
        futures = [
            pool.submit(_make_clip, clip, fields["path"], ctx, progress, halt) for clip in clips
        ]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f in done and f.exception() is not None), None)
        if failed is not None:
            halt.set()
            wait(futures)
            raise failed.exception()
    outcomes = [future.result() for future in futures]
    encoders = {encoder.name for _, encoder in outcomes}
    # A clip that fell back to the CPU makes the job's encoder libx264 (fallback_reason says why).
    encoder = SoftwareEncoder.name if SoftwareEncoder.name in encoders else ctx.encoder.name
    return {"videos": [video for video, _ in outcomes], "encoder": encoder}


def motion_for(image: dict[str, Any], position: int, zoom_types: list[str]) -> kenburns.Motion:
    """The image's own ``zoom_type``, else ``zoom_types`` taken in turn by the image's position in
    the whole batch (a split part passes its ``start_index``, so it gets the moves the whole would),
    else a zoom-in. zoompanright and zoompanleft, the replaced service's names, are the pans."""
    if "zoom_type" in image:
        return kenburns.Motion(image["zoom_type"])
    if not zoom_types:
        return kenburns.Motion.ZOOM_IN
    name = zoom_types[position % len(zoom_types)]
    return kenburns.Motion(_LEGACY_MOVES.get(name, name))


def _plan(
    index: int,
    image: dict[str, Any],
    start: int,
    size: tuple[int, int],
    fit: str,
    zoom_types: list[str],
) -> _Clip:
    frames = kenburns.frame_count(image["duracao"])
    if frames < 1:
        raise InputError(
            f"images[{index}].duracao: {image['duracao']} s is shorter than one frame at "
            f"{kenburns.FPS} fps (at least {1 / (2 * kenburns.FPS):.4f} s)",
            field=f"images[{index}].duracao",
        )
    return _Clip(
        index=index,
        image_id=image["id"],
        image_url=image["image_url"],
        frames=frames,
        motion=motion_for(image, start + index, zoom_types),
        number=start + index + 1,
        size=size,
        fit=fit,
    )


class _Progress:
    def __init__(self, ctx: JobContext, clips: list[_Clip]) -> None:
        self._ctx = ctx
        self._total_frames = sum(clip.frames for clip in clips)
        self._clips = len(clips)
        self._written = [0] * len(clips)
        self._uploaded = 0
        self._lock = threading.Lock()

    def frames_written(self, clip: _Clip, count: int) -> None:
        with self._lock:
            # A clip encoded again after an NVENC failure does not count its frames twice.
            self._written[clip.index] = max(self._written[clip.index], count)
            self._report()

    def uploaded(self) -> None:
        with self._lock:
            self._uploaded += 1
            self._report()

    def _report(self) -> None:
        frames = sum(self._written) / self._total_frames
        self._ctx.progress(
            _FRAMES_SHARE * frames + (100.0 - _FRAMES_SHARE) * self._uploaded / self._clips
        )


def _make_clip(
    clip: _Clip, path: str, ctx: JobContext, progress: _Progress, halt: threading.Event
) -> tuple[dict[str, str], EncoderConfig]:
    if halt.is_set():
        raise FramesAbandoned()
    field = f"{clip.field}.image_url"
    source = ctx.workdir / f"image_{clip.index + 1}"
    output = ctx.outdir / clip.filename
    fetch(clip.image_url, source, ctx, field=field)
    require_image(source, field, ctx.settings)
    ctx.check_cancelled()

    @functools.cache
    def prepare() -> kenburns.KenBurns:
        image = kenburns.load_image(source)
        source.unlink()
        if image is None:
            raise MediaError(f"{field}: the image cannot be decoded", field=field)
        return kenburns.KenBurns(image, clip.motion, clip.frames, clip.size, clip.fit)

    encoder = _encode(prepare, clip, output, ctx, progress, halt)
    require_playable_video(output, f"{clip.field}: its video")
    url = ctx.storage.upload(output, object_key(path, clip.filename), "video/mp4")
    output.unlink()
    progress.uploaded()
    return {"id": clip.image_id, "video_url": url, "filename": clip.filename}, encoder


def _encode(
    renderer: Callable[[], kenburns.KenBurns],
    clip: _Clip,
    output: Path,
    ctx: JobContext,
    progress: _Progress,
    halt: threading.Event,
) -> EncoderConfig:
    """Encodes the clip; ``renderer`` decodes and prepares the image, once, when the first
    encoder has started."""

    def encode(encoder: EncoderConfig) -> None:
        command = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            *kenburns.raw_input_args(clip.size), "-i", "pipe:0",
            *encoder.encode_args(), *kenburns.COLOR_ARGS,
            "-frames:v", str(clip.frames), "-an", "-movflags", "+faststart", str(output),
        ]  # fmt: skip
        pipe_frames(
            ctx,
            command,
            renderer,
            clip.frames,
            on_frame=lambda count: progress.frames_written(clip, count),
            stop=halt,
        )

    return encode_with_fallback(ctx, encode, field=clip.field)
