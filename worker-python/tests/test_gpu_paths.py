"""The GPU paths on a machine without a GPU, made to fail the way a real GPU box fails.

- ``nvidia-smi``: a stand-in on the PATH prints what the real one prints on a GPU node (its CSV
  query output), so the worker believes it runs on that GPU.
- FFmpeg: a wrapper on the PATH runs this machine's real FFmpeg, except that an ``h264_nvenc``
  encode fails with the lines FFmpeg printed on a real H200 node (docs/gpu.md), or others it prints
  on a GPU at its session limit.
- CTranslate2: told it sees a CUDA device, it really tries CUDA here, without driver or libraries,
  and fails as it does where cuBLAS is missing.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import ctranslate2
import pytest

from api_gpu_worker import encoders, gpu, whisper
from api_gpu_worker.encoders import NvencEncoder, nvenc_failure_reason, select_encoder
from api_gpu_worker.errors import EncoderError
from api_gpu_worker.gpu import Gpu, GpuReport, detect_gpus, has_no_nvenc_engine
from api_gpu_worker.job import JobContext, run_job
from api_gpu_worker.whisper_models import (
    WhisperDeviceError,
    cuda_failure_reason,
    cuda_whisper_probe,
    whisper_device,
)

WORKER_DIR = Path(__file__).resolve().parents[1]
# What FFmpeg 9.0.2 printed for the probe on an H200 with driver 580.159.04 (docs/gpu.md).
H200_NVENC_STDERR = (
    "[h264_nvenc @ 0x55e75ce0a400] Driver does not support the required nvenc API version. "
    "Required: 13.1 Found: 13.0\n"
    "[h264_nvenc @ 0x55e75ce0a400] The minimum required Nvidia driver for nvenc is 610.00 "
    "or newer\n"
    "[vost#0:0/h264_nvenc @ 0x55e75ce09f00] Error while opening encoder - maybe incorrect "
    "parameters such as bit_rate, rate, width or height.\n"
)
SESSION_LIMIT_STDERR = (
    "[h264_nvenc @ 0x5581] OpenEncodeSessionEx failed: incompatible client key (21): (no details)\n"
    "[h264_nvenc @ 0x5581] No capable devices found\n"
)
L4 = GpuReport((Gpu("NVIDIA L4", "550.54.15", 23034),), None)
H200 = GpuReport((Gpu("NVIDIA H200", "580.159.04", 143771),), None)


@pytest.fixture(autouse=True)
def fresh_probes():
    """Each probe runs once per process; every test here starts from none having run."""
    for cached in (detect_gpus, encoders.nvenc_status, cuda_whisper_probe):
        cached.cache_clear()
    whisper.shared_transcriber.cache_clear()
    yield
    for cached in (detect_gpus, encoders.nvenc_status, cuda_whisper_probe):
        cached.cache_clear()
    whisper.shared_transcriber.cache_clear()


def _tool(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def gpu_box(tmp_path, monkeypatch):
    """Puts a stand-in nvidia-smi (``gpu``) and an FFmpeg whose NVENC fails first on the PATH."""
    directory = tmp_path / "gpu-box-bin"
    directory.mkdir()
    real_ffmpeg = subprocess.run(
        ["sh", "-c", "command -v ffmpeg"], capture_output=True, text=True, check=True
    ).stdout.strip()

    def make(gpu_line: str, nvenc_stderr: str = H200_NVENC_STDERR) -> dict[str, str]:
        _tool(directory, "nvidia-smi", f"echo '{gpu_line}'\n")
        (directory / "nvenc.stderr").write_text(nvenc_stderr)
        _tool(
            directory,
            "ffmpeg",
            'case " $* " in *" h264_nvenc "*)\n'
            f'  cat "{directory}/nvenc.stderr" >&2; exit 218;;\nesac\n'
            f'exec "{real_ffmpeg}" "$@"\n',
        )
        path = f"{directory}{os.pathsep}{os.environ['PATH']}"
        monkeypatch.setenv("PATH", path)
        return {"PATH": path}

    return make


def test_nvidia_smi_names_the_gpu_its_driver_and_memory(gpu_box):
    gpu_box("NVIDIA H200, 580.159.04, 143771")
    assert detect_gpus() == H200


def test_without_nvidia_smi_there_is_no_gpu_and_it_says_why(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    report = detect_gpus()
    assert report.gpus == ()
    assert report.reason == "no NVIDIA driver here: nvidia-smi is not on the PATH"


@pytest.mark.parametrize(
    ("name", "without"),
    [
        ("NVIDIA H200", True),
        ("NVIDIA H100 80GB HBM3", True),
        ("NVIDIA A100-SXM4-80GB", True),
        ("NVIDIA L4", False),
        ("NVIDIA GeForce RTX 4090", False),
        ("NVIDIA L40S", False),
    ],
)
def test_the_compute_gpus_are_known_to_have_no_nvenc_engine(name, without):
    assert has_no_nvenc_engine(name) is without


def test_nvenc_reasons_an_operator_can_act_on():
    assert "the NVIDIA H200 has no NVENC engine" in nvenc_failure_reason(
        H200_NVENC_STDERR, H200, {}
    )
    driver = nvenc_failure_reason(H200_NVENC_STDERR, L4, {})
    assert driver.startswith("the NVIDIA driver 550.54.15 is older than this FFmpeg's NVENC needs")
    assert "610.00 or newer" in driver
    assert "concurrent encodes is reached" in nvenc_failure_reason(SESSION_LIMIT_STDERR, L4, {})
    no_library = "[h264_nvenc @ 0x1] Cannot load libnvidia-encode.so.1\n"
    assert nvenc_failure_reason(
        no_library, L4, {"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}
    ).startswith("NVIDIA_DRIVER_CAPABILITIES=compute,utility lacks video")
    assert "set NVIDIA_DRIVER_CAPABILITIES" in nvenc_failure_reason(no_library, L4, {})
    assert "built with NVENC" in nvenc_failure_reason("Unknown encoder 'h264_nvenc'\n", L4, {})
    assert nvenc_failure_reason(
        "[h264_nvenc @ 0x1] Cannot load libcuda.so.1\n", GpuReport((), "nvidia-smi failed"), {}
    ) == ("no NVIDIA GPU: nvidia-smi failed")


def test_auto_on_a_gpu_without_nvenc_is_libx264_and_every_result_says_why(
    gpu_box, settings, media_server, make_video, make_audio, job_path
):
    gpu_box("NVIDIA H200, 580.159.04, 143771")
    encoder = select_encoder("auto")
    assert encoder.name == "libx264"
    status = encoders.nvenc_status()
    assert status.reason.startswith("the NVIDIA H200 has no NVENC engine")
    assert "Required: 13.1 Found: 13.0" in status.detail

    video = make_video(duration=1, size="160x120", codec="mpeg4", container="mkv")
    audio = make_audio(duration=1, container="wav")
    job = {
        "operation": "addaudio",
        "url_video": media_server.url(video.name),
        "url_audio": media_server.url(audio.name),
        "path": job_path,
        "output_filename": "no-nvenc.mp4",
    }
    result = run_job(job, JobContext("no-nvenc", settings, encoder=encoder))
    assert result["encoder"] == "libx264"
    assert result["encoder_fallback"] == (f"libx264 instead of h264_nvenc: {status.reason}")


def test_nvenc_forced_on_a_gpu_without_nvenc_is_a_start_up_error(gpu_box):
    gpu_box("NVIDIA H200, 580.159.04, 143771")
    with pytest.raises(EncoderError, match=r"FFMPEG_ENCODER=nvenc but .* H200 has no NVENC engine"):
        select_encoder("nvenc")


def test_an_nvenc_that_fails_mid_job_names_the_run_time_cause_in_the_result(
    gpu_box, settings, media_server, make_video, make_audio, job_path
):
    gpu_box("NVIDIA L4, 550.54.15, 23034", SESSION_LIMIT_STDERR)
    video = make_video(duration=1, size="160x120", codec="mpeg4", container="mkv")
    audio = make_audio(duration=1, container="wav")
    job = {
        "operation": "addaudio",
        "url_video": media_server.url(video.name),
        "url_audio": media_server.url(audio.name),
        "path": job_path,
        "output_filename": "session-limit.mp4",
    }
    result = run_job(job, JobContext("session-limit", settings, encoder=NvencEncoder()))
    assert result["encoder"] == "libx264"
    assert result["encoder_fallback"].startswith("h264_nvenc failed at run time")
    assert "No capable devices found" in result["encoder_fallback"]


def test_the_worker_reports_the_gpu_and_both_fallbacks_in_its_ready_line(
    gpu_box, local_worker, tmp_path
):
    env = gpu_box("NVIDIA H200, 580.159.04, 143771")
    worker = local_worker(**env, **_ctranslate2_sees_a_gpu(tmp_path))
    ready = worker.next_message()
    assert ready["type"] == "ready"
    assert ready["gpu"] == "NVIDIA H200"
    assert ready["encoder"] == "libx264"
    assert ready["encoder_fallback"].startswith(
        "libx264 instead of h264_nvenc: the NVIDIA H200 has no NVENC engine"
    )
    assert ready["whisper_device"] == "cpu"
    assert ready["whisper_fallback"].startswith("CPU int8 instead of CUDA: ")
    assert worker.close() == 0


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"FFMPEG_ENCODER": "nvenc"}, "FFMPEG_ENCODER=nvenc but h264_nvenc cannot encode here"),
        ({"WHISPER_DEVICE": "cuda"}, "WHISPER_DEVICE=cuda but whisper cannot run on CUDA"),
    ],
)
def test_a_forced_gpu_path_that_cannot_work_stops_the_worker_at_start(
    gpu_box, local_worker, tmp_path, setting, message
):
    env = gpu_box("NVIDIA H200, 580.159.04, 143771")
    worker = local_worker(**env, **_ctranslate2_sees_a_gpu(tmp_path), **setting)
    assert worker.process.wait(timeout=120) == 1
    assert worker.raw_lines == []
    assert message in "".join(worker.stderr_lines)


def test_ctranslate2_asked_for_cuda_without_its_libraries_falls_back_to_the_cpu(
    monkeypatch, settings, make_speech, media_server, job_path
):
    # CTranslate2 counts a device; the probe's child process then really asks it for CUDA.
    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 1)
    reason = cuda_whisper_probe()
    assert reason is not None
    assert whisper_device() == ("cpu", "int8", f"CPU int8 instead of CUDA: {reason}")
    monkeypatch.setenv("WHISPER_DEVICE", "cuda")
    with pytest.raises(WhisperDeviceError, match="WHISPER_DEVICE=cuda but whisper cannot run"):
        whisper_device()

    monkeypatch.setenv("WHISPER_DEVICE", "auto")
    speech = make_speech("one two three")
    job = {
        "operation": "transcribe",
        "audio_url": media_server.url(speech.name),
        "path": job_path,
        "language": "en",
        "model": "tiny.en",
    }
    result = run_job(job, JobContext("cuda-without-libraries", settings))
    assert result["device"] == "cpu"
    assert result["device_fallback"] == f"CPU int8 instead of CUDA: {reason}"
    assert "three" in result["transcription"].lower()


def test_ctranslate2_failures_become_reasons_an_operator_can_act_on():
    cublas = cuda_failure_reason("Library libcublas.so.12 is not found or cannot be loaded")
    assert "cannot load libcublas.so.12 (it is built for CUDA 12)" in cublas
    assert "nvidia-cublas-cu12" in cublas
    cudnn = cuda_failure_reason("Could not load library libcudnn_ops.so.9")
    assert "cannot load libcudnn_ops.so.9" in cudnn
    assert "cuDNN 9" in cudnn
    driver = cuda_failure_reason(
        "CUDA failed with error CUDA driver version is insufficient for CUDA runtime version"
    )
    assert driver.startswith("the NVIDIA driver is older than the CUDA runtime")


def test_gpu_check_on_a_gpu_box_without_nvenc_or_cuda_libraries_runs_every_job_on_the_cpu(
    gpu_box, worker_env, tmp_path
):
    env = {
        **worker_env,
        **gpu_box("NVIDIA H200, 580.159.04, 143771"),
        **_ctranslate2_sees_a_gpu(tmp_path),
    }
    checked = subprocess.run(
        [sys.executable, "-m", "api_gpu_worker.gpu_check", "--require-jobs"],
        cwd=WORKER_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.strip().splitlines()
    assert lines[0] == "GPU: NVIDIA H200, driver 580.159.04, 143771 MiB"
    report = json.loads(lines[-1])["gpu_check"]
    assert report["nvenc"]["available"] is False
    assert report["auto"]["encoder"] == "libx264"
    assert report["auto"]["whisper_device"] == "cpu"
    assert report["whisper_cuda"]["available"] is False
    assert report["auto"]["whisper_fallback"] == (
        f"CPU int8 instead of CUDA: {report['whisper_cuda']['reason']}"
    )
    assert {name: job["status"] for name, job in report["jobs"].items()} == {
        "caption": "ok",
        "img2vid": "ok",
        "addaudio": "ok",
        "transcribe": "ok",
    }
    assert report["jobs"]["transcribe"]["device_fallback"] == report["auto"]["whisper_fallback"]
    assert report["jobs"]["caption"]["encoder_fallback"] == report["auto"]["encoder_fallback"]


def test_gpu_check_without_a_gpu_says_so_and_passes(worker_env, tmp_path):
    checked = subprocess.run(
        [sys.executable, "-m", "api_gpu_worker.gpu_check"],
        cwd=WORKER_DIR,
        env={**worker_env, "PATH": _path_without_nvidia_smi()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("GPU: none (no NVIDIA driver here")
    report = json.loads(checked.stdout.strip().splitlines()[-1])["gpu_check"]
    assert report["gpu"]["gpus"] == []
    assert report["passed"] is True


def _ctranslate2_sees_a_gpu(tmp_path: Path) -> dict[str, str]:
    """Environment in which a Python process's CTranslate2 counts one CUDA device."""
    site = tmp_path / "ctranslate2-sees-a-gpu"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(
        "import ctranslate2\nctranslate2.get_cuda_device_count = lambda: 1\n"
    )
    return {"PYTHONPATH": os.pathsep.join([str(site), str(WORKER_DIR)])}


def _path_without_nvidia_smi() -> str:
    return os.pathsep.join(
        entry
        for entry in os.environ["PATH"].split(os.pathsep)
        if not (Path(entry) / "nvidia-smi").exists()
    )


def test_the_gpu_module_reads_several_gpus(gpu_box):
    gpu_box("NVIDIA L4, 550.54.15, 23034\nNVIDIA L4, 550.54.15, 23034")
    assert [item.name for item in gpu.detect_gpus().gpus] == ["NVIDIA L4", "NVIDIA L4"]
