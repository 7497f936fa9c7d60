"""Ken Burns frames: a camera moving over a still image, rendered with sub-pixel precision.

FFmpeg's ``zoompan`` snaps its crop window to whole pixels, so a slow zoom wanders back and forth
by a fraction of a pixel from frame to frame (the replaced service upscaled to 11520x6480 first
to hide it, which made it slow without curing it). Here each frame is one affine resample of the
image at the camera's exact position, computed in floating point:

* The image is decoded, cropped to the region the camera ever sees, brought down (area) to the
  detail the most zoomed frame needs if it has more, converted ONCE to planar YUV, and its luma
  resized ONCE (Lanczos) into a working copy twice as fine (1.5 times when the image has all
  the detail the most zoomed frame shows); the chroma planes are the detailed image's, brought
  down to the detail the most zoomed frame's half-resolution chroma shows.
* Each frame is three ``cv2.warpAffine`` calls, Y at full resolution and U, V at half, written
  straight into one I420 buffer that goes to FFmpeg's stdin as raw video: no colour conversion,
  no scaling filter and no copy per frame. OpenCV resolves positions to 1/32 of a working pixel,
  about 1/50 of an output pixel.

The working copy is BT.601 limited-range YUV (what OpenCV's I420 conversion and FFmpeg's default
RGB-to-YUV conversion both produce); `COLOR_ARGS` tags the output so players read it as such.

Geometry uses continuous coordinates: an image W pixels wide spans [0, W], pixel i covers
[i, i + 1] and its centre is at i + 0.5. A `View` is the part of the source image one frame shows.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Protocol

import cv2
import numpy as np

from .frame_pipe import FramePipe

WIDTH = 1920
HEIGHT = 1080
FPS = 24
ZOOM_END = 1.324
# Working pixels per detailed pixel. An image with less detail than the most zoomed frame shows
# is upsampled there, and 2x keeps bilinear's blur out of it. One with all that detail needs
# less: at 1.5x its fully zoomed frames sample 1.5 working pixels per output pixel, what a 1920
# photo in a 1080p frame samples at 2x (the benchmarked case), for half the bytes to read.
OVERSAMPLING = 2
OVERSAMPLING_AT_FULL_DETAIL = 1.5
FRAME_BYTES = WIDTH * HEIGHT * 3 // 2
_MARGIN = 4
# BT.601 limited range from 8-bit BGR, as (B, G, R, offset) rows for Y, U and V: OpenCV's
# I420 conversion's own coefficients (fixed point, 20 bits).
_BGR_TO_YUV = np.array(
    [
        [102760, 528482, 269484, 16 << 20],
        [460324, -305135, -155188, 128 << 20],
        [-74448, -385875, 460324, 128 << 20],
    ],
    dtype=np.float64,
) / (1 << 20)
_LUMA_RANGE = (16, 235)
# An image at most this much finer than the most zoomed frame shows is kept at its resolution:
# blur's canvas, sized to that detail, lands a rounding below it, and bringing it down by a
# hundredth of a pixel would only soften it and cost a resize.
_DETAIL_SLACK = 0.01

# Matrix, primaries and transfer of what is rendered: BT.601 matrix over sRGB/BT.709 primaries.
COLOR_ARGS = (
    "-colorspace",
    "smpte170m",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
    "-color_range",
    "tv",
)
# The sizes a job may ask for (the contract's ``resolution``); 1920x1080 when it asks for none.
SIZES = {"1920x1080": (1920, 1080), "1080x1920": (1080, 1920), "1080x1080": (1080, 1080),
         "1280x720": (1280, 720)}  # fmt: skip
# fit "blur": the backdrop is the image blurred (sigma this share of its width) and darkened.
_BLUR_SIGMA = 0.02
_BLUR_DARKEN = 0.45
_BLUR_WORKING_SCALE = 8


def raw_input_args(size: tuple[int, int] = (WIDTH, HEIGHT)) -> tuple[str, ...]:
    return ("-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{size[0]}x{size[1]}", "-r", str(FPS))


def frame_bytes(size: tuple[int, int]) -> int:
    return size[0] * size[1] * 3 // 2


class Motion(StrEnum):
    """The camera moves of the contract's ``zoom_type``; a pan keeps the zoom at ``ZOOM_END``."""

    ZOOM_IN = "zoomin"
    ZOOM_OUT = "zoomout"
    PAN_RIGHT = "panright"
    PAN_LEFT = "panleft"


@dataclass(frozen=True)
class View:
    """The source rectangle one frame shows: centre and width in source pixels, frame-shaped."""

    cx: float
    cy: float
    width: float
    aspect: float = WIDTH / HEIGHT

    @property
    def height(self) -> float:
        return self.width / self.aspect


def frame_count(duration_s: float) -> int:
    """round(duration x 24), halves rounded up as the API's Math.round does."""
    return math.floor(duration_s * FPS + 0.5)


def camera_path(
    motion: Motion,
    src_width: int,
    src_height: int,
    frames: int,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> list[View]:
    """The view of each frame. Frame k shows the move at time k / frames of the clip, so the move
    ends as the clip does, exactly as the replaced service's ``1 + 0.324 * on / frames``.

    The unzoomed view is the largest centred rectangle of the frame's shape (cover, never
    stretched); pans cross the whole width of the image at ``ZOOM_END``, from edge to edge.
    """
    aspect = size[0] / size[1]
    cover_width = min(float(src_width), src_height * aspect)
    centre_x, centre_y = src_width / 2, src_height / 2
    views = []
    for k in range(frames):
        t = k / frames
        if motion in (Motion.ZOOM_IN, Motion.ZOOM_OUT):
            progress = t if motion is Motion.ZOOM_IN else 1.0 - t
            zoom = 1.0 + (ZOOM_END - 1.0) * progress
            views.append(View(centre_x, centre_y, cover_width / zoom, aspect))
        else:
            width = cover_width / ZOOM_END
            progress = t if motion is Motion.PAN_RIGHT else 1.0 - t
            cx = width / 2 + (src_width - width) * progress
            views.append(View(cx, centre_y, width, aspect))
    return views


def load_image(path: Path) -> np.ndarray | None:
    """The image as 8-bit BGR, upright by its EXIF orientation; None if it does not decode."""
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        return None
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def blur_canvas(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The whole image, at its own resolution, centred on a blurred and darkened copy of itself
    that fills the smallest rectangle of the frame's shape around it (the contract's fit "blur").
    """
    return _blur_layout(image, size)[0]


def _blur_layout(
    image: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """`blur_canvas` and where the image lies on it: (left, top, width, height).

    The backdrop is made at 1/8 scale, where the blur is cheap and its detail is not missed. An
    image finer than the most zoomed frame can show is first brought down to that detail, which
    the renderer would do anyway, so a large photo does not make a canvas many times its size.
    """
    height, width = image.shape[:2]
    aspect = size[0] / size[1]
    canvas_w = max(width, round(height * aspect))
    shrink = size[0] * ZOOM_END / canvas_w
    if shrink < 1.0:
        width, height = max(1, round(width * shrink)), max(1, round(height * shrink))
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    canvas_w, canvas_h = max(width, round(height * aspect)), max(height, round(width / aspect))
    # Even sides, a pixel of backdrop more at most: the renderer splits the canvas on even pixels.
    canvas_w, canvas_h = canvas_w + canvas_w % 2, canvas_h + canvas_h % 2
    small_w = max(1, canvas_w // _BLUR_WORKING_SCALE)
    small_h = max(1, canvas_h // _BLUR_WORKING_SCALE)
    scale = max(small_w / width, small_h / height)
    cover = cv2.resize(
        image,
        (max(small_w, math.ceil(width * scale)), max(small_h, math.ceil(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    x0, y0 = (cover.shape[1] - small_w) // 2, (cover.shape[0] - small_h) // 2
    backdrop = cv2.GaussianBlur(
        cover[y0 : y0 + small_h, x0 : x0 + small_w], (0, 0), max(1.0, small_w * _BLUR_SIGMA)
    )
    backdrop = cv2.convertScaleAbs(backdrop, alpha=_BLUR_DARKEN)
    canvas = cv2.resize(backdrop, (canvas_w, canvas_h), interpolation=cv2.INTER_LINEAR)
    left, top = (canvas_w - width) // 2, (canvas_h - height) // 2
    canvas[top : top + height, left : left + width] = image
    return canvas, (left, top, width, height)


class KenBurns:
    """Renders the frames of one clip from a decoded BGR image, at ``size`` (width, height)."""

    def __init__(
        self,
        image: np.ndarray,
        motion: Motion,
        frames: int,
        size: tuple[int, int] = (WIDTH, HEIGHT),
        fit: str = "cover",
    ) -> None:
        # fit "blur": only the image needs the sharp (Lanczos) oversampling, not its backdrop.
        sharp = None
        if fit == "blur":
            image, sharp = _blur_layout(image, size)
        self.size = size
        src_height, src_width = image.shape[:2]
        self.views = camera_path(motion, src_width, src_height, frames, size)
        left = min(v.cx - v.width / 2 for v in self.views)
        right = max(v.cx + v.width / 2 for v in self.views)
        top = min(v.cy - v.height / 2 for v in self.views)
        bottom = max(v.cy + v.height / 2 for v in self.views)
        # Detail the most zoomed frame can show, never more than the image has, then oversampled
        # so the per-frame bilinear resample works on an already smooth, band-limited image.
        needed = size[0] / min(v.width for v in self.views)
        detail = 1.0 if needed > 1.0 - _DETAIL_SLACK else needed
        oversampling = OVERSAMPLING if needed > 1.0 + _DETAIL_SLACK else OVERSAMPLING_AT_FULL_DETAIL
        # Four pixels of margin keep the Lanczos resize's support inside the image at the edges.
        self.x0 = max(0, math.floor(left) - _MARGIN)
        self.y0 = max(0, math.floor(top) - _MARGIN)
        x1 = min(src_width, math.ceil(right) + _MARGIN)
        y1 = min(src_height, math.ceil(bottom) + _MARGIN)
        split = sharp is not None and detail == 1.0
        if split:
            # The sharp part and the rest are resized apart; at 1.5x their seams must fall on
            # whole working pixels, which even spans in the detailed image do.
            self.x0, x1 = _even_span(self.x0, x1, src_width)
            self.y0, y1 = _even_span(self.y0, y1, src_height)
        region = image[self.y0 : y1, self.x0 : x1]

        detailed_size = (
            max(1, round((x1 - self.x0) * detail)),
            max(1, round((y1 - self.y0) * detail)),
        )
        if detail < 1.0:
            region = cv2.resize(region, detailed_size, interpolation=cv2.INTER_AREA)
        # Converted to YUV before oversampling: chroma, at half the working resolution, is then
        # the detailed image's own, and only luma pays for the (costly) Lanczos upscale.
        luma, chroma_u, chroma_v = cv2.split(cv2.transform(region, _BGR_TO_YUV))
        # Chroma is kept at the detail the most zoomed frame's chroma (half its pixels across)
        # shows: more is never seen, and sampling it at strides beyond two pixels aliases and
        # misses the cache (144 frames of a blur clip: 0.51 -> 0.32 s of CPU).
        chroma_fraction = min(1.0, needed / (2 * detail))
        if chroma_fraction < 1.0:
            chroma_size = (
                max(1, round(detailed_size[0] * chroma_fraction)),
                max(1, round(detailed_size[1] * chroma_fraction)),
            )
            chroma_u = cv2.resize(chroma_u, chroma_size, interpolation=cv2.INTER_AREA)
            chroma_v = cv2.resize(chroma_v, chroma_size, interpolation=cv2.INTER_AREA)
        working_size = (
            round(detailed_size[0] * oversampling),
            round(detailed_size[1] * oversampling),
        )
        if split:
            luma = _oversample_around(luma, oversampling, sharp, (self.x0, self.y0))
        else:
            luma = cv2.resize(luma, working_size, interpolation=cv2.INTER_LANCZOS4)
        # Lanczos rings past sharp edges; the luma of any 8-bit colour lies in the limited range,
        # so ringing beyond it (a halo around black or white) is cut off as it was in RGB.
        np.clip(luma, _LUMA_RANGE[0], _LUMA_RANGE[1], out=luma)
        self.scale_x = working_size[0] / (x1 - self.x0)
        self.scale_y = working_size[1] / (y1 - self.y0)
        chroma_scale = (chroma_u.shape[1] / (x1 - self.x0), chroma_u.shape[0] / (y1 - self.y0))
        self._source_planes = (luma, chroma_u, chroma_v)
        self._plane_scales = ((self.scale_x, self.scale_y), chroma_scale, chroma_scale)

    @property
    def frames(self) -> int:
        return len(self.views)

    def render(self, index: int, out: np.ndarray) -> None:
        """Writes frame ``index`` into ``out``, an I420 buffer of ``frame_bytes(size)`` uint8."""
        view = self.views[index]
        left = view.cx - view.width / 2 - self.x0
        top = view.cy - view.height / 2 - self.y0
        for source, target, (scale_x, scale_y), pixel in zip(
            self._source_planes,
            _i420_planes(out, self.size),
            self._plane_scales,
            (1, 2, 2),
            strict=True,
        ):
            # Output pixel i, ``pixel`` frame pixels wide, samples the source at a * i + b
            # (pixel centres).
            a_x = view.width / self.size[0] * pixel * scale_x
            a_y = view.height / self.size[1] * pixel * scale_y
            matrix = np.array(
                [
                    [a_x, 0.0, left * scale_x + 0.5 * a_x - 0.5],
                    [0.0, a_y, top * scale_y + 0.5 * a_y - 0.5],
                ]
            )
            cv2.warpAffine(
                source,
                matrix,
                (target.shape[1], target.shape[0]),
                dst=target,
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REPLICATE,
            )

    def iter_frames(self, buffers: int = 2) -> Iterator[memoryview]:
        """Each frame in turn; a yielded buffer is rendered over again ``buffers`` frames later."""
        ring = [np.empty(frame_bytes(self.size), dtype=np.uint8) for _ in range(buffers)]
        for index in range(self.frames):
            buffer = ring[index % buffers]
            self.render(index, buffer)
            yield memoryview(buffer)


class FrameSource(Protocol):
    """What write_frames reads: a clip's renderer, or compose's timeline of them."""

    size: tuple[int, int]

    def iter_frames(self, buffers: int = 2) -> Iterator[memoryview]: ...


def write_frames(
    clip: FrameSource,
    sink: BinaryIO,
    *,
    on_frame: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Renders every frame into ``sink`` (FFmpeg's stdin); returns how many were written.

    A writer thread hands the frames to the pipe (`frame_pipe.FramePipe`) while the next one
    renders: OpenCV and the pipe both run without the GIL. ``on_frame(n)`` is called once n
    frames were written; a set ``stop`` ends the clip early. An error writing (FFmpeg gone) is
    raised here.
    """
    pipe = FramePipe(sink, frame_bytes(clip.size), on_sent=on_frame)
    pending: queue.Queue[memoryview | None] = queue.Queue(maxsize=1)
    failure: list[BaseException] = []

    def drain() -> None:
        try:
            while (frame := pending.get()) is not None:
                pipe.send(frame)
        except BaseException as error:
            failure.append(error)
            while pending.get() is not None:
                pass
            return
        try:
            pipe.finish()
        except BaseException as error:
            failure.append(error)

    writer = threading.Thread(target=drain, name="kenburns-writer", daemon=True)
    writer.start()
    try:
        for frame in clip.iter_frames(buffers=pipe.ring_buffers):
            if failure or (stop is not None and stop.is_set()):
                break
            pending.put(frame)
    finally:
        pending.put(None)
        writer.join()
    if failure:
        raise failure[0]
    return pipe.sent


def _oversample_around(
    region: np.ndarray,
    oversampling: float,
    sharp: tuple[int, int, int, int],
    origin: tuple[int, int],
) -> np.ndarray:
    """``region`` resized ``oversampling`` times: Lanczos where the ``sharp`` rectangle (left,
    top, width, height, in the coordinates ``region`` starts at ``origin`` of) lies, bilinear
    elsewhere. A blurred backdrop has no detail for Lanczos to keep, and on a frame of another
    shape it is most of the canvas: this makes a vertical clip's set-up several times cheaper.
    The sharp part is widened to even pixels, which map onto whole working pixels at 2x and
    1.5x alike, so the two parts meet exactly; ``region`` has even sides (`_even_span`)."""
    height, width = region.shape[:2]
    working = cv2.resize(
        region,
        (round(width * oversampling), round(height * oversampling)),
        interpolation=cv2.INTER_LINEAR,
    )
    left, top, sharp_w, sharp_h = sharp
    x0 = max(0, (left - origin[0]) // 2 * 2)
    y0 = max(0, (top - origin[1]) // 2 * 2)
    x1 = min(width, -(-(left + sharp_w - origin[0]) // 2) * 2)
    y1 = min(height, -(-(top + sharp_h - origin[1]) // 2) * 2)
    if x1 > x0 and y1 > y0:
        o = oversampling
        wx0, wx1, wy0, wy1 = round(x0 * o), round(x1 * o), round(y0 * o), round(y1 * o)
        working[wy0:wy1, wx0:wx1] = cv2.resize(
            region[y0:y1, x0:x1], (wx1 - wx0, wy1 - wy0), interpolation=cv2.INTER_LANCZOS4
        )
    return working


def _even_span(start: int, end: int, limit: int) -> tuple[int, int]:
    """[start, end) grown by a pixel, inside [0, limit), when its length is odd; a blur canvas
    has even sides (`_blur_layout`), so one side always has room."""
    if (end - start) % 2 == 0:
        return start, end
    if end < limit:
        return start, end + 1
    return start - 1, end


def _i420_planes(
    buffer: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    width, height = size
    luma = width * height
    chroma = luma // 4
    return (
        buffer[:luma].reshape(height, width),
        buffer[luma : luma + chroma].reshape(height // 2, width // 2),
        buffer[luma + chroma :].reshape(height // 2, width // 2),
    )
