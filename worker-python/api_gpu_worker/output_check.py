"""Every video a job made is probed on the worker's disk before it is uploaded.

An encode that "succeeded" but wrote nothing playable (a truncated file, no video stream, no
duration) must not reach the client as a result: the job fails instead, as retryable, since
another run may well succeed. Probing the local file costs no download and works whatever the
bucket's read policy. It is probed by ffprobe, in a process of its own: the in-process reader
(PyAV) kept, in the full test run, a worker whose node had died alive after its job was cancelled.
"""

from pathlib import Path

from .errors import ProcessingError
from .media import probe
from .usage import record_output


def require_playable_video(path: Path, field: str) -> None:
    info = probe(path)
    if info is None:
        raise ProcessingError(f"{field}: the output cannot be probed", retryable=True)
    if not any(stream.get("codec_type") == "video" for stream in info.get("streams", [])):
        raise ProcessingError(f"{field}: the output has no video stream", retryable=True)
    try:
        duration = float(info.get("format", {}).get("duration") or 0)
    except (TypeError, ValueError):
        duration = 0.0
    if not duration > 0:
        raise ProcessingError(f"{field}: the output has no duration", retryable=True)
    record_output(duration)
