"""Frames handed to FFmpeg's stdin without being copied into the pipe, where Linux allows it.

``write()`` copies every frame into pages the kernel allocates for the pipe, and FFmpeg's read
copies it out and frees them: for 144 1080p frames, 0.11 s of the writer's CPU and 0.08 s of
FFmpeg's, on two cores x264 needs whole. ``vmsplice(2)`` lends the pipe the frame's own pages
instead (0.03 s each side). A lent page is read by FFmpeg when it gets there, so the renderer
must not draw into it before then: `FramePipe.ring_buffers` says how many frame buffers the
renderer must cycle through for that. The last frames, as many as the pipe holds, are copied,
so that no page of the renderer is still lent once the clip ends. Anywhere vmsplice is missing
or refused (another OS, a seccomp profile, a sink that is not a pipe), frames are written as
before.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import math
import os
from collections import deque
from collections.abc import Callable
from typing import BinaryIO

# The frame being written, one queued for the writer, one rendering: the ring `write()` needs.
_RING_WHEN_COPIED = 3
# Errors that mean vmsplice is not there to use, not that FFmpeg went away.
_UNSUPPORTED = {errno.ENOSYS, errno.EPERM, errno.EINVAL, errno.EBADF, errno.EOPNOTSUPP}


class _IoVec(ctypes.Structure):
    _fields_ = (("base", ctypes.c_void_p), ("length", ctypes.c_size_t))


def _load_vmsplice():
    try:
        function = ctypes.CDLL(None, use_errno=True).vmsplice
    except (AttributeError, OSError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_size_t, ctypes.c_uint)
    function.restype = ctypes.c_ssize_t
    return function


_vmsplice = _load_vmsplice()


class FramePipe:
    """Writes equal-sized frames into ``sink``; `send` may keep the latest frames back (as many
    as the pipe holds) until more come, and `finish` writes them. Frames must be writable,
    C-contiguous uint8 buffers. ``on_sent(n)`` is called once n frames were written."""

    def __init__(
        self, sink: BinaryIO, frame_bytes: int, on_sent: Callable[[int], None] | None = None
    ) -> None:
        self._sink = sink
        self._on_sent = on_sent
        self._held: deque[memoryview] = deque()
        self.sent = 0
        self._fd, pipe_bytes = self._pipe_of(sink)
        # The frames a full pipe spans: that many are kept back, and that many more may still
        # be in the pipe, lent, while the oldest kept back is being lent.
        self._keep_back = math.ceil(pipe_bytes / frame_bytes)
        self.ring_buffers = _RING_WHEN_COPIED + 2 * self._keep_back

    @property
    def lends_pages(self) -> bool:
        return self._fd is not None

    def send(self, frame: memoryview) -> None:
        self._held.append(frame)
        while len(self._held) > self._keep_back:
            oldest = self._held.popleft()
            if self._fd is None:
                self._write(oldest)
            else:
                self._lend(oldest)

    def finish(self) -> None:
        """Writes the frames kept back by copy: the pipe then holds none of the renderer's pages."""
        while self._held:
            self._write(self._held.popleft())

    def _write(self, frame: memoryview) -> None:
        # Flushed, so that nothing the buffered sink kept can come after a frame lent later.
        self._sink.write(frame)
        self._sink.flush()
        self._count()

    def _count(self) -> None:
        self.sent += 1
        if self._on_sent is not None:
            self._on_sent(self.sent)

    def _lend(self, frame: memoryview) -> None:
        address = ctypes.addressof(ctypes.c_char.from_buffer(frame))
        done, total, segment = 0, frame.nbytes, _IoVec()
        while done < total:
            segment.base, segment.length = address + done, total - done
            count = _vmsplice(self._fd, ctypes.byref(segment), 1, 0)
            if count < 0:
                error = ctypes.get_errno()
                if error == errno.EINTR:
                    continue
                if done == 0 and error in _UNSUPPORTED:
                    self._fd, self._keep_back = None, 0
                    self._write(frame)
                    return
                raise OSError(error, os.strerror(error))
            done += count
        self._count()

    @staticmethod
    def _pipe_of(sink: BinaryIO) -> tuple[int | None, int]:
        """The pipe's descriptor and size, to lend it frames; (None, 0) where it cannot be."""
        if _vmsplice is None:
            return None, 0
        try:
            fd = sink.fileno()
            sink.flush()
            return fd, fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
        except (OSError, ValueError, AttributeError):
            return None, 0
