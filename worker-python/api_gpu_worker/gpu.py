"""The NVIDIA GPUs of this machine, as ``nvidia-smi`` reports them (none when it cannot run).

The encoder and whisper probes name the GPU in their reasons (an H200 has no NVENC engine; a
driver too old for FFmpeg's NVENC), so an operator reads what to change, not a library's code.
"""

import logging
import subprocess
from dataclasses import asdict, dataclass
from functools import cache

log = logging.getLogger(__name__)

_NVIDIA_SMI_TIMEOUT_S = 10
# Data-centre GPUs built for compute: no NVENC engine at all (NVIDIA's encode support matrix).
_WITHOUT_NVENC = ("A100", "A800", "H100", "H800", "H200", "H20", "B200", "B100", "GB200")


@dataclass(frozen=True)
class Gpu:
    name: str
    driver: str
    memory_mib: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class GpuReport:
    gpus: tuple[Gpu, ...]
    reason: str | None  # why there is none, when there is none

    @property
    def first(self) -> Gpu | None:
        return self.gpus[0] if self.gpus else None


@cache
def detect_gpus() -> GpuReport:
    """Asks ``nvidia-smi`` once per process for each GPU's name, driver and memory."""
    try:
        listed = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=name,driver_version,memory.total",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=_NVIDIA_SMI_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        return GpuReport((), "no NVIDIA driver here: nvidia-smi is not on the PATH")
    except (OSError, subprocess.TimeoutExpired) as error:
        return GpuReport((), f"nvidia-smi did not run: {error}")
    if listed.returncode != 0:
        detail = (listed.stderr or listed.stdout).strip().splitlines()
        return GpuReport((), f"nvidia-smi failed: {detail[-1] if detail else listed.returncode}")
    gpus = tuple(_parse_line(line) for line in listed.stdout.splitlines() if line.strip())
    if not gpus:
        return GpuReport((), "nvidia-smi lists no GPU")
    return GpuReport(gpus, None)


def _parse_line(line: str) -> Gpu:
    name, driver, memory = (part.strip() for part in line.rsplit(",", 2))
    return Gpu(name, driver, int(float(memory)) if memory.replace(".", "", 1).isdigit() else 0)


def has_no_nvenc_engine(gpu_name: str) -> bool:
    """Whether this GPU model is one of the compute GPUs built without an NVENC engine."""
    words = gpu_name.upper().replace("-", " ").split()
    return any(model in words for model in _WITHOUT_NVENC)
