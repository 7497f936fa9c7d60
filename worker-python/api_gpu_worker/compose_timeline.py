"""The picture of a composed video: every image's Ken Burns frames in one stream, in frames.

`plan_shots` lays the images on a timeline of whole frames at `kenburns.FPS` and fits it to the
narration, which sets the video's length and is never cut:

* ``none`` and ``fade`` transitions lay the images end to end; ``crossfade`` starts each image
  ``overlap`` frames before the previous one ends (the video is shorter by that much per join).
* Images shorter in total than the narration: the last image stays on screen until the narration
  ends, its move slowed to span the longer time (no frozen frame).
* Images longer in total: the video is cut at the narration's last frame; images that would start
  after it are not shown, and the one on screen then is cut mid-move.

`Timeline` renders the planned frames as raw I420 into one FFmpeg's stdin (through
`kenburns.write_frames`, which takes anything with ``iter_frames``): each image is decoded and
its renderer built just before it is needed, at most ``LOOKAHEAD`` ahead on a thread of their own,
so a long list of images never sits decoded in memory at once. ``fade`` dips to black at each join
(the outgoing image fades out over its last ``overlap`` frames, the next fades in over its first);
``crossfade`` blends the two images over their overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from . import kenburns
from .errors import MediaError

LOOKAHEAD = 2
# Limited-range BT.601 black, what `kenburns` renders into: Y 16, U and V 128.
_BLACK_LUMA = 16
_NEUTRAL_CHROMA = 128


@dataclass(frozen=True)
class ImageShot:
    """One image on the timeline: it starts at frame ``start``, its move spans ``move_frames``
    and ``shown`` of them are on screen (fewer than the move when the video is cut)."""

    index: int
    source: Path
    motion: kenburns.Motion
    start: int
    move_frames: int
    shown: int

    @property
    def end(self) -> int:
        return self.start + self.shown


@dataclass(frozen=True)
class TimelinePlan:
    shots: tuple[ImageShot, ...]
    total_frames: int
    images_frames: int
    """What the images would last end to end (transitions included), before the fit."""

    @property
    def duration_fit(self) -> str:
        if self.images_frames < self.total_frames:
            return "last_image_extended"
        if self.images_frames > self.total_frames:
            return "images_cut"
        return "exact"


def plan_shots(
    frames: list[int],
    sources: list[Path],
    motions: list[kenburns.Motion],
    total_frames: int,
    transition: str,
    overlap: int,
) -> TimelinePlan:
    """The images laid on ``total_frames`` frames (the narration's), as the module says."""
    step_back = overlap if transition == "crossfade" else 0
    shots: list[ImageShot] = []
    start = 0
    for index, (count, source, motion) in enumerate(zip(frames, sources, motions, strict=True)):
        if index > 0:
            start -= step_back
        shots.append(ImageShot(index, source, motion, start, count, count))
        start += count
    images_frames = start
    kept = [shot for shot in shots if shot.start < total_frames]
    last = kept[-1]
    if images_frames < total_frames:
        extended = total_frames - last.start
        kept[-1] = replace(last, move_frames=extended, shown=extended)
    elif last.end > total_frames:
        kept[-1] = replace(last, shown=total_frames - last.start)
    return TimelinePlan(tuple(kept), total_frames, images_frames)


class Timeline:
    """Renders a `TimelinePlan` frame by frame (``iter_frames``, as `kenburns.KenBurns` does)."""

    def __init__(
        self,
        plan: TimelinePlan,
        size: tuple[int, int],
        fit: str,
        transition: str,
        overlap: int,
        field_of: Callable[[int], str],
    ) -> None:
        self.plan = plan
        self.size = size
        self._fit = fit
        self._transition = transition
        self._overlap = overlap
        self._field_of = field_of
        self._black = _black_frame(size)

    @property
    def frames(self) -> int:
        return self.plan.total_frames

    def iter_frames(self, buffers: int = 3) -> Iterator[memoryview]:
        """Each frame in turn; a yielded buffer is rendered over again ``buffers`` frames later."""
        ring = [np.empty(kenburns.frame_bytes(self.size), dtype=np.uint8) for _ in range(buffers)]
        scratch = np.empty_like(ring[0])
        shots = self.plan.shots
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="compose-load") as loader:
            pending: dict[int, Future[kenburns.KenBurns]] = {}

            def want(index: int) -> None:
                if index < len(shots) and index not in pending:
                    pending[index] = loader.submit(self._renderer, shots[index])

            renderers: dict[int, kenburns.KenBurns] = {}
            current = 0
            try:
                for frame in range(self.plan.total_frames):
                    while shots[current].end <= frame:
                        renderers.pop(current, None)
                        pending.pop(current, None)
                        current += 1
                    active = [
                        i
                        for i in range(current, min(current + 2, len(shots)))
                        if shots[i].start <= frame < shots[i].end
                    ]
                    for index in range(current, current + LOOKAHEAD + 1):
                        want(index)
                    for index in active:
                        if index not in renderers:
                            renderers[index] = pending[index].result()
                    buffer = ring[frame % buffers]
                    self._compose(frame, active, renderers, buffer, scratch)
                    yield memoryview(buffer)
            finally:
                for future in pending.values():
                    future.cancel()

    def _compose(
        self,
        frame: int,
        active: list[int],
        renderers: dict[int, kenburns.KenBurns],
        out: np.ndarray,
        scratch: np.ndarray,
    ) -> None:
        shots = self.plan.shots
        first = shots[active[0]]
        renderers[active[0]].render(frame - first.start, out)
        if len(active) == 2:
            second = shots[active[1]]
            renderers[active[1]].render(frame - second.start, scratch)
            # The incoming image's weight climbs over the overlap, never 0 or 1 inside it.
            weight = (frame - second.start + 1) / (self._overlap + 1)
            cv2.addWeighted(scratch, weight, out, 1.0 - weight, 0.0, dst=out)
            return
        if self._transition == "fade" and self._overlap > 0:
            level = self._fade_level(frame, first)
            if level < 1.0:
                cv2.addWeighted(out, level, self._black, 1.0 - level, 0.0, dst=out)

    def _fade_level(self, frame: int, shot: ImageShot) -> float:
        """How much of the image shows at ``frame`` of a fade: it fades in after a join and out
        before one (the first image does not fade in; the last, or one cut, does not fade out)."""
        level = 1.0
        if shot.index > 0:
            level = min(level, (frame - shot.start + 0.5) / self._overlap)
        if shot.index < len(self.plan.shots) - 1:
            level = min(level, (shot.end - frame - 0.5) / self._overlap)
        return max(0.0, level)

    def _renderer(self, shot: ImageShot) -> kenburns.KenBurns:
        image = kenburns.load_image(shot.source)
        if image is None:
            field = f"{self._field_of(shot.index)}.image_url"
            raise MediaError(f"{field}: the image cannot be decoded", field=field)
        return kenburns.KenBurns(image, shot.motion, shot.move_frames, self.size, self._fit)


def _black_frame(size: tuple[int, int]) -> np.ndarray:
    luma = size[0] * size[1]
    frame = np.full(kenburns.frame_bytes(size), _NEUTRAL_CHROMA, dtype=np.uint8)
    frame[:luma] = _BLACK_LUMA
    return frame
