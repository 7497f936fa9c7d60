"""The pipe that carries rendered frames into FFmpeg."""

import fcntl
import os
from types import SimpleNamespace

import cv2
import pytest

from api_gpu_worker.encoders import NvencEncoder, SoftwareEncoder
from api_gpu_worker.frame_encode import encode_with_fallback, widen_pipe


def test_the_frame_pipe_is_widened_to_1_mib():
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader, os.fdopen(write_end, "wb") as writer:
        before = fcntl.fcntl(writer.fileno(), fcntl.F_GETPIPE_SZ)
        widen_pipe(writer)
        assert before < 1 << 20
        assert fcntl.fcntl(reader.fileno(), fcntl.F_GETPIPE_SZ) == 1 << 20


@pytest.mark.parametrize(
    ("encoder", "render_threads"), [(SoftwareEncoder(), 1), (NvencEncoder(), cv2.getNumThreads())]
)
def test_frames_render_on_one_thread_only_while_x264_encodes_on_the_cpu(encoder, render_threads):
    threads_before = cv2.getNumThreads()
    seen = []
    job = SimpleNamespace(encoder=encoder, fallback_reason=None)

    assert encode_with_fallback(job, lambda _: seen.append(cv2.getNumThreads())) is encoder

    assert seen == [render_threads]
    assert cv2.getNumThreads() == threads_before
