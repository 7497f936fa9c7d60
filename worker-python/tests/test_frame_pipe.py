"""Frames lent to the pipe (vmsplice) arrive whole, in order, and untouched by later renders."""

import io
import os
import threading
import time

import numpy as np
import pytest

from api_gpu_worker import kenburns
from api_gpu_worker.frame_encode import widen_pipe
from api_gpu_worker.frame_pipe import FramePipe

SIZE = (256, 128)
FRAME_BYTES = kenburns.frame_bytes(SIZE)


class CountingFrames:
    """A FrameSource whose frame n is filled with n % 251, drawn into a ring of the size
    write_frames asks for, as the renderers do."""

    size = SIZE

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.ring: list[np.ndarray] = []

    def iter_frames(self, buffers: int = 2):
        self.ring = [np.empty(FRAME_BYTES, dtype=np.uint8) for _ in range(buffers)]
        for index in range(self.frames):
            buffer = self.ring[index % buffers]
            buffer.fill(index % 251)
            yield memoryview(buffer)


@pytest.fixture
def pipe():
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb", buffering=0) as reader, os.fdopen(write_end, "wb") as writer:
        yield reader, writer


def read_frames(reader, frames: int, pause_s: float = 0.0) -> list[int]:
    """The fill value of each frame read, or -1 for a frame that is not one value throughout."""
    seen = []
    for _ in range(frames):
        if pause_s:
            time.sleep(pause_s)
        data = np.frombuffer(reader.read(FRAME_BYTES), dtype=np.uint8)
        seen.append(int(data[0]) if data.size == FRAME_BYTES and (data == data[0]).all() else -1)
    return seen


def test_frames_are_lent_to_a_pipe_with_a_ring_long_enough_for_what_it_holds(pipe):
    _, writer = pipe
    frame_pipe = FramePipe(writer, FRAME_BYTES)
    assert frame_pipe.lends_pages
    # A 64 KiB pipe spans two 48 KiB frames: two kept back, two more lent, three in hand.
    assert frame_pipe.ring_buffers == 3 + 2 * 2


def test_a_slow_reader_gets_every_frame_as_it_was_rendered(pipe):
    reader, writer = pipe
    frames = CountingFrames(60)
    seen: list[int] = []
    # FFmpeg lagging behind: the pipe stays full while the renderer runs ahead.
    consumer = threading.Thread(target=lambda: seen.extend(read_frames(reader, 60, 0.002)))
    consumer.start()
    assert kenburns.write_frames(frames, writer) == 60
    consumer.join()
    assert len(frames.ring) == FramePipe(writer, FRAME_BYTES).ring_buffers
    assert seen == [index % 251 for index in range(60)]


def test_no_frame_is_still_lent_once_the_clip_ends(pipe):
    reader, writer = pipe
    widen_pipe(writer)
    frames = CountingFrames(16)
    # 16 frames fit in a 1 MiB pipe (256 pages; a 48 KiB frame lent unaligned takes 13): nothing
    # is read before the clip ends and its buffers are reused for something else, as a freed
    # renderer's may be.
    assert kenburns.write_frames(frames, writer) == 16
    for buffer in frames.ring:
        buffer.fill(255)
    assert read_frames(reader, 16) == list(range(16))


def test_sinks_that_are_not_pipes_are_written_a_copy_at_a_time(tmp_path):
    on_disk = (tmp_path / "frames.raw").open("wb")
    for sink in (io.BytesIO(), on_disk):
        frame_pipe = FramePipe(sink, FRAME_BYTES)
        assert not frame_pipe.lends_pages
        assert frame_pipe.ring_buffers == 3
    assert kenburns.write_frames(CountingFrames(4), on_disk) == 4
    on_disk.close()
    assert len((tmp_path / "frames.raw").read_bytes()) == 4 * FRAME_BYTES


def test_a_pipe_whose_reader_is_gone_raises_broken_pipe(pipe):
    reader, writer = pipe
    reader.close()
    with pytest.raises(BrokenPipeError):
        kenburns.write_frames(CountingFrames(5), writer)
