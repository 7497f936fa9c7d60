"""The pipe that carries rendered frames into FFmpeg."""

import fcntl
import os

from api_gpu_worker.frame_encode import widen_pipe


def test_the_frame_pipe_is_widened_to_1_mib():
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader, os.fdopen(write_end, "wb") as writer:
        before = fcntl.fcntl(writer.fileno(), fcntl.F_GETPIPE_SZ)
        widen_pipe(writer)
        assert before < 1 << 20
        assert fcntl.fcntl(reader.fileno(), fcntl.F_GETPIPE_SZ) == 1 << 20
