"""Which H.264 encoder the worker uses, and the FFmpeg arguments of each.

One class per backend builds its arguments (as Immich's transcoding configs do); the backend is
chosen once per process by ``select_encoder``, which probes ``h264_nvenc`` with a real tiny encode
(FFmpeg lists NVENC whenever it was built with it, GPU or not). ``run_encode`` is the single place
that decides whether a failed NVENC encode was the encoder's fault, and retries it on the CPU.
"""

import logging
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from .errors import EncoderError, JobError

if TYPE_CHECKING:
    from .job import JobContext

log = logging.getLogger(__name__)

_PROBE_TIMEOUT_S = 30
# What NVENC and the CUDA runtime print when the GPU side fails, whatever the input:
# no device or driver, the driver's concurrent-session limit, out of GPU memory.
_NVENC_FAILURES = (
    "openencodesessionex failed",
    "no capable devices found",
    "no nvenc capable devices",
    "cannot load libcuda",
    "cannot load libnvidia-encode",
    "driver does not support the required nvenc api version",
    "cuda_error",
    "out of memory",
    "incompatible client key",
)


class EncoderConfig(ABC):
    name: str
    hardware: bool

    @abstractmethod
    def decode_args(self) -> list[str]:
        """Input options that speed decoding up for this backend; go before ``-i``."""

    @abstractmethod
    def encode_args(self) -> list[str]:
        """Output options that encode H.264 with this backend at the service's quality."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SoftwareEncoder(EncoderConfig):
    name = "libx264"
    hardware = False

    def decode_args(self) -> list[str]:
        return []

    def encode_args(self) -> list[str]:
        return ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]


class NvencEncoder(EncoderConfig):
    name = "h264_nvenc"
    hardware = True

    def decode_args(self) -> list[str]:
        # Decoded frames stay in system memory (no -hwaccel_output_format cuda) so the CPU
        # filters (libass, scale) keep working on them.
        return ["-hwaccel", "cuda"]

    def encode_args(self) -> list[str]:
        return [
            "-c:v", "h264_nvenc", "-preset", "p4", "-tune", "hq",
            "-rc", "vbr", "-cq", "23", "-b:v", "0", "-pix_fmt", "yuv420p",
        ]  # fmt: skip

    @staticmethod
    def is_encoder_failure(stderr: str) -> bool:
        lowered = stderr.lower()
        return any(marker in lowered for marker in _NVENC_FAILURES)


@cache
def nvenc_available() -> bool:
    """Whether ``h264_nvenc`` encodes here: a real 256x256, 3-frame encode, run once per process."""
    try:
        probe = subprocess.run(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
                "-f", "lavfi", "-i", "color=black:s=256x256:r=24:d=0.125",
                *NvencEncoder().encode_args(), "-f", "null", "-",
            ],
            capture_output=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        log.info("h264_nvenc probe did not run: %s", error)
        return False
    if probe.returncode != 0:
        log.info("h264_nvenc is not usable here: %s", probe.stderr.decode(errors="replace")[-300:])
    return probe.returncode == 0


def select_encoder(mode: str = "auto") -> EncoderConfig:
    """The backend for ``FFMPEG_ENCODER`` (auto, nvenc or cpu); ``nvenc`` must really work."""
    if mode == "cpu":
        return SoftwareEncoder()
    if mode not in ("auto", "nvenc"):
        raise EncoderError(f"FFMPEG_ENCODER must be auto, nvenc or cpu, not {mode!r}")
    if nvenc_available():
        return NvencEncoder()
    if mode == "nvenc":
        raise EncoderError(
            "FFMPEG_ENCODER=nvenc but h264_nvenc cannot encode here "
            "(no NVIDIA GPU, driver or NVENC-enabled FFmpeg); use auto or cpu"
        )
    return SoftwareEncoder()


def run_encode(
    ctx: "JobContext", build: Callable[[EncoderConfig], list[str]], **run_kw: Any
) -> EncoderConfig:
    """Runs ``build(ctx.encoder)`` through ``ctx.run``; returns the encoder that produced the file.

    When NVENC fails for a reason of its own (session limit, driver, GPU memory), the same
    command is built again for libx264 and run once, and ``ctx.fallback_reason`` says why; a
    failure the input caused is raised as it is.
    """
    encoder = ctx.encoder
    on_error = run_kw.pop("on_error", None)
    if not encoder.hardware:
        ctx.run(build(encoder), on_error=on_error, **run_kw)
        return encoder
    captured: list[str] = []

    def remember(returncode: int, stderr: str) -> JobError:
        captured.append(stderr)
        if on_error is not None:
            return on_error(returncode, stderr)
        return EncoderError(f"{encoder.name} failed (exit {returncode}): {stderr[-600:]}")

    try:
        ctx.run(build(encoder), on_error=remember, **run_kw)
        return encoder
    except JobError:
        if not captured or not NvencEncoder.is_encoder_failure(captured[-1]):
            raise
    software = SoftwareEncoder()
    last_line = captured[-1].strip().splitlines()[-1][:200]
    ctx.fallback_reason = f"h264_nvenc failed at run time, re-encoded with libx264: {last_line}"
    log.warning("job %s: %s", ctx.job_id, ctx.fallback_reason)
    ctx.run(build(software), on_error=on_error, **run_kw)
    return software
