"""Rendered frames piped raw into one FFmpeg, with the encoder fallback img2vid and compose share.

The frames never touch the disk: the renderer writes them into FFmpeg's stdin while FFmpeg
encodes. When NVENC fails for a reason of its own (session limit, driver, GPU memory), the whole
encode runs again on libx264, since a pipe cannot be replayed from the middle.
"""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING

import cv2

from . import kenburns
from .encoders import EncoderConfig, NvencEncoder, SoftwareEncoder
from .errors import EncoderError, JobCancelled
from .usage import gpu_task

if TYPE_CHECKING:
    from .job import JobContext

_STDERR_LINES_KEPT = 20
# Linux's default pipe holds 64 KiB, so each 3 MB frame woke the writer and FFmpeg about fifty
# times; 1 MiB, the most an unprivileged process may ask for by default (fs.pipe-max-size), cut
# the writer's CPU for 144 1080p frames from 0.17 s to 0.10 s.
_PIPE_BYTES = 1 << 20


class FramesAbandoned(Exception):
    """The frames stopped because ``stop`` was set by someone other than a cancel."""


class EncodeFailed(Exception):
    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(stderr)
        self.returncode = returncode
        self.stderr = stderr


def encode_with_fallback(
    ctx: JobContext, encode: Callable[[EncoderConfig], None], field: str | None = None
) -> EncoderConfig:
    """Runs ``encode`` with the job's encoder, and once more with libx264 when NVENC failed for a
    reason of its own; returns the encoder that produced the file. ``field`` names the input the
    encode was for, in the error and its message."""
    prefix = f"{field}: " if field else ""
    encoder = ctx.encoder
    try:
        with gpu_task() if encoder.hardware else one_render_thread():
            encode(encoder)
        return encoder
    except EncodeFailed as failed:
        if not (encoder.hardware and NvencEncoder.is_encoder_failure(failed.stderr)):
            raise EncoderError(
                f"{prefix}{encoder.name} failed (exit {failed.returncode}): {failed.stderr[-600:]}",
                field=field,
            ) from None
        ctx.fallback_reason = (
            f"h264_nvenc failed at run time, encoded with libx264: {failed.stderr[-200:]}"
        )
    software = SoftwareEncoder()
    try:
        with one_render_thread():
            encode(software)
    except EncodeFailed as failed:
        raise EncoderError(
            f"{prefix}libx264 failed (exit {failed.returncode}): {failed.stderr[-600:]}",
            field=field,
        ) from None
    return software


@contextlib.contextmanager
def one_render_thread() -> Iterator[None]:
    """OpenCV renders on one thread for the block. x264 already keeps every core busy, and
    OpenCV's pool only added hand-offs: the render's CPU for a 1080p clip fell by 0.05 to 0.08 s,
    and a 1080x1920 clip's encode from 1.15x to 1.05x the encoder alone. With NVENC the cores
    are free, and the pool shortens the render."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def pipe_frames(
    ctx: JobContext,
    command: list[str],
    renderer: Callable[[], kenburns.FrameSource],
    expected_frames: int,
    on_frame: Callable[[int], None],
    stop: threading.Event,
) -> None:
    """Starts FFmpeg (``command`` reads raw frames on stdin), then writes the frames of
    ``renderer()`` into it: the renderer is built while FFmpeg starts, so the two overlap.

    Raises JobCancelled on a cancel, FramesAbandoned when ``stop`` was set otherwise, and
    EncodeFailed (with FFmpeg's last lines) when FFmpeg failed or took fewer frames than planned.
    """
    process = ctx.popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    widen_pipe(process.stdin)
    tail: deque[str] = deque(maxlen=_STDERR_LINES_KEPT)
    reader = threading.Thread(target=_keep_tail, args=(process.stderr, tail), daemon=True)
    reader.start()
    written = 0
    try:
        written = kenburns.write_frames(renderer(), process.stdin, on_frame=on_frame, stop=stop)
    except OSError:
        # FFmpeg went away (killed by cancel, or failed): its exit status and stderr say why.
        pass
    finally:
        with contextlib.suppress(OSError):
            process.stdin.close()
        process.wait()
        reader.join()
        ctx.release(process)
    if ctx.cancelled.is_set():
        raise JobCancelled()
    if stop.is_set():
        raise FramesAbandoned()
    if process.returncode != 0 or written != expected_frames:
        raise EncodeFailed(process.returncode, "\n".join(tail))


def widen_pipe(stream: IO[bytes]) -> None:
    """Gives the pipe behind ``stream`` room for 1 MiB; a system that refuses keeps its default."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _keep_tail(stream: IO[bytes], tail: deque[str]) -> None:
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            tail.append(line)
