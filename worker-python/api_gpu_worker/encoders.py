"""Which H.264 encoder the worker uses, and the FFmpeg arguments of each.

One class per backend builds its arguments (as Immich's transcoding configs do); the backend is
chosen once per process by ``select_encoder``, which probes ``h264_nvenc`` with a real tiny encode
(FFmpeg lists NVENC whenever it was built with it, GPU or not). ``NvencEncoder.is_encoder_failure``
tells a failure of NVENC itself from one the input caused (``job.run_encode`` retries the former
on the CPU). Nothing here knows about jobs: the job module depends on this one, never the reverse.
"""

import logging
import os
import re
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Mapping
from functools import cache
from typing import NamedTuple

from .errors import EncoderError
from .gpu import GpuReport, detect_gpus, has_no_nvenc_engine

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
# FFmpeg: "The minimum required Nvidia driver for nvenc is 570.0 or newer".
_REQUIRED_DRIVER = re.compile(r"minimum required nvidia driver for nvenc is ([0-9.]+)", re.I)


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


class NvencStatus(NamedTuple):
    available: bool
    reason: str | None  # why not, in words an operator can act on
    detail: str  # the line where FFmpeg said what failed


@cache
def nvenc_status() -> NvencStatus:
    """Whether ``h264_nvenc`` encodes here, and why not: a real 256x256 3-frame encode, once."""
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
    except FileNotFoundError:
        return NvencStatus(False, "ffmpeg is not on the PATH", "")
    except (OSError, subprocess.TimeoutExpired) as error:
        return NvencStatus(False, f"the h264_nvenc test encode did not run: {error}", "")
    if probe.returncode == 0:
        return NvencStatus(True, None, "")
    stderr = probe.stderr.decode(errors="replace")
    reason = nvenc_failure_reason(stderr, detect_gpus(), os.environ)
    log.info("h264_nvenc is not usable here: %s (FFmpeg: %s)", reason, _cause_line(stderr))
    return NvencStatus(False, reason, _cause_line(stderr))


def nvenc_available() -> bool:
    return nvenc_status().available


def nvenc_failure_reason(stderr: str, gpus: GpuReport, environ: Mapping[str, str]) -> str:
    """What an operator can do about a failed NVENC test encode, from FFmpeg's own words."""
    lowered = stderr.lower()
    gpu = gpus.first
    if "unknown encoder" in lowered or "encoder not found" in lowered:
        return "this FFmpeg has no h264_nvenc: install an FFmpeg built with NVENC"
    if gpu is None:
        return f"no NVIDIA GPU: {gpus.reason}"
    if has_no_nvenc_engine(gpu.name):
        return (
            f"the {gpu.name} has no NVENC engine (the A100, H100 and H200 have none): "
            "encode with libx264, or run video jobs on a GPU with NVENC (L4, L40S, RTX)"
        )
    if "cannot load libnvidia-encode" in lowered or "cannot load libcuda" in lowered:
        capabilities = environ.get("NVIDIA_DRIVER_CAPABILITIES")
        if capabilities is not None and not {"video", "all"} & set(capabilities.split(",")):
            return (
                f"NVIDIA_DRIVER_CAPABILITIES={capabilities} lacks video, so the container runtime "
                "mounts no NVENC library: set it to compute,utility,video (or all)"
            )
        return (
            f"the {gpu.name}'s driver {gpu.driver} provides no NVENC library (libnvidia-encode) "
            "here; in a container set NVIDIA_DRIVER_CAPABILITIES=compute,utility,video"
        )
    required = _REQUIRED_DRIVER.search(stderr)
    if required or "required nvenc api version" in lowered:
        needs = f" {required.group(1)} or newer" if required else " a newer one"
        return (
            f"the NVIDIA driver {gpu.driver} is older than this FFmpeg's NVENC needs "
            f"(it wants{needs}): update the driver or use an FFmpeg built for this one"
        )
    if "incompatible client key" in lowered or "out of memory (10)" in lowered:
        return (
            f"the {gpu.name} refused another NVENC session: the driver's limit of concurrent "
            "encodes is reached (other processes hold them); lower NODE_CONCURRENCY or free them"
        )
    if "no capable devices found" in lowered or "unsupported device" in lowered:
        return f"the {gpu.name} offers no NVENC engine to this process: encode with libx264"
    return f"the h264_nvenc test encode failed: {_cause_line(stderr)}"


def _cause_line(stderr: str) -> str:
    """The line where h264_nvenc says what went wrong; FFmpeg's generic summary follows it."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    own = [line for line in lines if line.startswith("[h264_nvenc")]
    if own:
        return own[0][:300]
    return lines[-1][:300] if lines else ""


def select_encoder(mode: str = "auto") -> EncoderConfig:
    """The backend for ``FFMPEG_ENCODER`` (auto, nvenc or cpu); ``nvenc`` must really work."""
    if mode == "cpu":
        return SoftwareEncoder()
    if mode not in ("auto", "nvenc"):
        raise EncoderError(f"FFMPEG_ENCODER must be auto, nvenc or cpu, not {mode!r}")
    status = nvenc_status()
    if status.available:
        return NvencEncoder()
    if mode == "nvenc":
        raise EncoderError(
            f"FFMPEG_ENCODER=nvenc but h264_nvenc cannot encode here: {status.reason}; "
            "use auto or cpu"
        )
    return SoftwareEncoder()


def encoder_fallback_reason(mode: str, encoder: EncoderConfig) -> str | None:
    """Why ``auto`` settled for libx264 here; None when NVENC is used or the CPU was asked for."""
    if mode != "auto" or encoder.hardware:
        return None
    status = nvenc_status()
    return None if status.available else f"libx264 instead of h264_nvenc: {status.reason}"
