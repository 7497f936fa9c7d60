"""What a job used, reported with its result for the API's usage ledger.

A worker process runs one job at a time (the GPU node's warm worker, a RunPod worker), so the meter
of the job running is process-wide: the media helpers, the encoders and whisper record into it
from whichever thread does the work (downloads, clips and the model run on threads of their own),
and nothing is recorded while no job runs.

GPU time is wall-clock time during which at least one GPU task (an NVENC encode, a CUDA
transcription) was running, so clips encoded side by side are not counted twice and it never
exceeds the job's run time; the rest of the run time (downloads, probes, uploads, CPU encodes and
transcriptions) is CPU time.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class UsageMeter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._media_in_s = 0.0
        self._media_out_s = 0.0
        self._images = 0
        self._gpu_s = 0.0
        self._gpu_tasks = 0
        self._gpu_since = 0.0

    def add_input(self, seconds: float) -> None:
        with self._lock:
            self._media_in_s += max(0.0, seconds)

    def add_output(self, seconds: float) -> None:
        with self._lock:
            self._media_out_s += max(0.0, seconds)

    def add_image(self) -> None:
        with self._lock:
            self._images += 1

    @contextmanager
    def gpu_task(self) -> Iterator[None]:
        with self._lock:
            if self._gpu_tasks == 0:
                self._gpu_since = time.monotonic()
            self._gpu_tasks += 1
        try:
            yield
        finally:
            with self._lock:
                self._gpu_tasks -= 1
                if self._gpu_tasks == 0:
                    self._gpu_s += time.monotonic() - self._gpu_since

    def report(self) -> dict[str, Any]:
        with self._lock:
            now = time.monotonic()
            run_s = now - self._started
            gpu_s = self._gpu_s + (now - self._gpu_since if self._gpu_tasks else 0.0)
            gpu_s = min(gpu_s, run_s)
            return {
                "run_s": round(run_s, 3),
                "gpu_s": round(gpu_s, 3),
                "cpu_s": round(run_s - gpu_s, 3),
                "media_in_s": round(self._media_in_s, 3),
                "media_out_s": round(self._media_out_s, 3),
                "images": self._images,
            }


_current: UsageMeter | None = None


@contextmanager
def metering() -> Iterator[UsageMeter]:
    """Meters the job run inside the block."""
    global _current
    meter = UsageMeter()
    _current = meter
    try:
        yield meter
    finally:
        _current = None


def record_input(seconds: float) -> None:
    """Media seconds the job read (a video, an audio track)."""
    if _current is not None:
        _current.add_input(seconds)


def record_output(seconds: float) -> None:
    """Media seconds the job produced."""
    if _current is not None:
        _current.add_output(seconds)


def record_image() -> None:
    if _current is not None:
        _current.add_image()


@contextmanager
def gpu_task() -> Iterator[None]:
    """Counts the block as GPU time of the job running, if any."""
    if _current is None:
        yield
        return
    with _current.gpu_task():
        yield
