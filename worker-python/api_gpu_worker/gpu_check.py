"""``python -m api_gpu_worker.gpu_check`` (``make gpu-check``): this node's GPU paths, proven.

Reports in words, then one closing JSON line (``{"gpu_check": ...}``), on stdout:

- ``gpu``: what ``nvidia-smi`` lists (name, driver, memory), or why there is none;
- ``nvenc``: the worker's real probe (a tiny ``h264_nvenc`` encode) and, when it fails, why;
- ``whisper_cuda``: the smallest whisper model (the bundled ``tiny.en``) loaded on CUDA, then one
  real inference on a second of generated speech (espeak-ng), or why not (CTranslate2 loads a
  model on CUDA without cuBLAS or cuDNN and fails only at the first inference);
- ``auto``: what the worker chooses under ``FFMPEG_ENCODER=auto`` and ``WHISPER_DEVICE=auto``,
  with the reason of each fallback, and whether the configured settings can start at all;
- ``jobs``: one job per operation, end to end in this process with those choices, on media made
  here (inputs put in the bucket and read back through ``s3://``; every object removed after).

Exit status 0 when nothing that should work failed, a machine without a GPU included (it says
so); 1 when a job failed or a forced ``FFMPEG_ENCODER=nvenc`` / ``WHISPER_DEVICE=cuda`` cannot
start here. Jobs that cannot run (no S3 settings, no FFmpeg) are ``skipped`` with the reason, and
``--require-jobs`` (``make test``) counts that as a failure.
"""

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .encoders import (
    EncoderConfig,
    encoder_fallback_reason,
    nvenc_status,
    select_encoder,
)
from .gpu import detect_gpus
from .settings import ConfigError, Settings

log = logging.getLogger("api_gpu_worker.gpu_check")

_OPERATIONS = ("caption", "img2vid", "addaudio", "transcribe")
_SPEECH = "one two three"
_FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]


def check_gpu() -> dict[str, Any]:
    report = detect_gpus()
    return {"gpus": [gpu.to_dict() for gpu in report.gpus], "reason": report.reason}


def check_nvenc() -> dict[str, Any]:
    status = nvenc_status()
    return {"available": status.available, "reason": status.reason, "ffmpeg_said": status.detail}


def check_whisper_cuda(workdir: Path) -> dict[str, Any]:
    """The worker's CUDA probe, then (when it passes) a transcription of generated speech."""
    from .whisper_models import cuda_whisper_probe, probe_model

    started = time.monotonic()
    reason = cuda_whisper_probe()
    result: dict[str, Any] = {
        "available": reason is None,
        "reason": reason,
        "probe_s": round(time.monotonic() - started, 2),
    }
    if reason is not None:
        return result
    speech = _speech(workdir)
    if speech is None:
        result["inference"] = "skipped: espeak-ng is not on the PATH to generate speech"
        return result
    from faster_whisper import WhisperModel

    model_path = probe_model()
    started = time.monotonic()
    model = WhisperModel(str(model_path), device="cuda", compute_type="float16")
    loaded_s = time.monotonic() - started
    segments, _ = model.transcribe(str(speech), language="en", beam_size=1)
    text = " ".join(segment.text.strip() for segment in segments)
    result.update(
        model=model_path.name,
        load_s=round(loaded_s, 2),
        inference_s=round(time.monotonic() - started - loaded_s, 2),
        heard=text,
    )
    return result


def choose_auto() -> dict[str, Any]:
    encoder = select_encoder("auto")
    chosen: dict[str, Any] = {
        "encoder": encoder.name,
        "encoder_fallback": encoder_fallback_reason("auto", encoder),
    }
    previous = os.environ.get("WHISPER_DEVICE")
    os.environ["WHISPER_DEVICE"] = "auto"
    try:
        from .whisper_models import whisper_device

        device = whisper_device()
    except ImportError as error:
        return {
            **chosen,
            "whisper_device": None,
            "whisper_compute_type": None,
            "whisper_fallback": f"the whisper stack is not installed here: {error}",
        }
    finally:
        _restore("WHISPER_DEVICE", previous)
    return {
        **chosen,
        "whisper_device": device.device,
        "whisper_compute_type": device.compute_type,
        "whisper_fallback": device.fallback,
    }


def check_configured(settings: Settings | None) -> dict[str, Any]:
    """Whether the worker starts with the settings it is given (a forced GPU that cannot work)."""
    mode = settings.ffmpeg_encoder if settings else os.environ.get("FFMPEG_ENCODER", "auto")
    configured: dict[str, Any] = {
        "FFMPEG_ENCODER": mode.strip().lower() or "auto",
        "WHISPER_DEVICE": os.environ.get("WHISPER_DEVICE", "").strip().lower() or "auto",
        "starts": True,
    }
    errors = []
    try:
        configured["encoder"] = select_encoder(configured["FFMPEG_ENCODER"]).name
    except Exception as error:
        errors.append(str(error))
    try:
        from .whisper_models import whisper_device

        configured["whisper_device"] = whisper_device().device
    except Exception as error:
        errors.append(str(error))
    if errors:
        configured.update(starts=False, errors=errors)
    return configured


def run_jobs(settings: Settings, encoder: EncoderConfig, workdir: Path) -> dict[str, Any]:
    """One job per operation with ``encoder`` and whisper on ``auto``, through ``run_job``."""
    from .job import JobContext, run_job
    from .storage import Storage

    run_id = uuid.uuid4().hex[:12]
    prefix = f"gpu-check/{run_id}/"
    inputs = Storage(settings)
    media = _make_media(workdir)

    def staged(name: str) -> str:
        key = f"{prefix}in/{media[name].name}"
        inputs.upload(media[name], key)
        return f"s3://{settings.s3_bucket}/{key}"

    jobs: dict[str, Callable[[], dict[str, Any]]] = {
        "caption": lambda: {
            "url_video": staged("video"),
            "url_srt": staged("srt"),
            "output_filename": "legendado.mp4",
        },
        "img2vid": lambda: {
            "images": [{"id": "img-1", "image_url": staged("image"), "duracao": 1.0}],
        },
        "addaudio": lambda: {
            "url_video": staged("video_mpeg4"),
            "url_audio": staged("audio"),
            "output_filename": "com_audio.mp4",
        },
        "transcribe": lambda: {
            "audio_url": staged("speech"),
            "language": "en",
            "model": "tiny.en",
        },
    }
    results: dict[str, Any] = {}
    previous = os.environ.get("WHISPER_DEVICE")
    os.environ["WHISPER_DEVICE"] = "auto"
    try:
        for operation in _OPERATIONS:
            if operation == "transcribe" and "speech" not in media:
                results[operation] = {"status": "skipped", "reason": "espeak-ng is not on the PATH"}
                continue
            job = {"operation": operation, "path": f"{prefix}{operation}/", **jobs[operation]()}
            ctx = JobContext(f"gpu-check-{operation}", settings, encoder=encoder)
            started = time.monotonic()
            try:
                output = run_job(job, ctx)
            except Exception as error:
                results[operation] = {"status": "failed", "error": str(error)}
                continue
            finally:
                ctx.storage.delete_uploaded()
            results[operation] = {
                "status": "ok",
                "seconds": round(time.monotonic() - started, 2),
                **_summary(output),
            }
    finally:
        _restore("WHISPER_DEVICE", previous)
        inputs.delete_uploaded()
    return results


def _summary(output: dict[str, Any]) -> dict[str, Any]:
    keys = ("encoder", "encoder_fallback", "video_stream", "device", "device_fallback", "model")
    summary = {key: output[key] for key in keys if key in output}
    if "transcription" in output:
        summary["heard"] = output["transcription"]
    return summary


def _make_media(workdir: Path) -> dict[str, Path]:
    def ffmpeg(name: str, *args: str) -> Path:
        path = workdir / name
        subprocess.run([*_FFMPEG, *args, str(path)], check=True, capture_output=True)
        return path

    media = {
        "video": ffmpeg(
            "video.mp4",
            *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=24:duration=1"),
            *("-f", "lavfi", "-i", "sine=frequency=440:duration=1"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"),
        ),
        # MPEG-4 Part 2 cannot be stream-copied into the result: addaudio re-encodes it.
        "video_mpeg4": ffmpeg(
            "video.mkv",
            *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=24:duration=1", "-c:v", "mpeg4"),
        ),
        "audio": ffmpeg("audio.wav", "-f", "lavfi", "-i", "sine=frequency=660:duration=1"),
        "image": ffmpeg(
            "image.png", "-f", "lavfi", "-i", "testsrc2=size=640x480", "-frames:v", "1"
        ),
    }
    srt = workdir / "legenda.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nVerificação da GPU\n", encoding="utf-8")
    media["srt"] = srt
    speech = _speech(workdir)
    if speech is not None:
        media["speech"] = speech
    return media


def _speech(workdir: Path) -> Path | None:
    """About a second of English speech from espeak-ng, or None without it."""
    path = workdir / "speech.wav"
    if path.exists():
        return path
    if shutil.which("espeak-ng") is None:
        return None
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), _SPEECH], check=True)
    return path


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _load_settings(workdir: Path) -> tuple[Settings | None, str | None]:
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        return None, f"the worker's settings do not load: {error}"
    return replace(settings, work_root=workdir / "work"), None


def run_check(require_jobs: bool) -> tuple[dict[str, Any], bool]:
    """Runs every section; returns the report and whether the check passed."""
    with tempfile.TemporaryDirectory(prefix="api-gpu-check-") as scratch:
        workdir = Path(scratch)
        settings, settings_problem = _load_settings(workdir)
        report: dict[str, Any] = {
            "gpu": check_gpu(),
            "nvenc": check_nvenc(),
            "whisper_cuda": _guarded(lambda: check_whisper_cuda(workdir)),
            "auto": choose_auto(),
        }
        report["configured"] = check_configured(settings)
        skip_reason = settings_problem
        if skip_reason is None and shutil.which("ffmpeg") is None:
            skip_reason = "ffmpeg is not on the PATH"
        if skip_reason is None and shutil.which("ffprobe") is None:
            skip_reason = "ffprobe is not on the PATH"
        if skip_reason is None:
            jobs = _guarded(lambda: run_jobs(settings, select_encoder("auto"), workdir))
            if "error" in jobs:
                jobs = {name: {"status": "failed", "error": jobs["error"]} for name in _OPERATIONS}
        else:
            jobs = {name: {"status": "skipped", "reason": skip_reason} for name in _OPERATIONS}
        report["jobs"] = jobs
    statuses = [job["status"] for job in jobs.values()]
    passed = report["configured"]["starts"] and "failed" not in statuses
    if require_jobs and "skipped" in statuses:
        passed = False
    report["passed"] = passed
    return report, passed


def _guarded(section: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return section()
    except Exception as error:
        log.exception("gpu check section failed")
        return {"error": f"{type(error).__name__}: {error}"}


def describe(report: dict[str, Any]) -> list[str]:
    """The report in words, one line per fact."""
    lines = []
    gpu = report["gpu"]
    if gpu["gpus"]:
        for item in gpu["gpus"]:
            lines.append(f"GPU: {item['name']}, driver {item['driver']}, {item['memory_mib']} MiB")
    else:
        lines.append(f"GPU: none ({gpu['reason']})")
    nvenc = report["nvenc"]
    lines.append(
        "NVENC: h264_nvenc encodes here"
        if nvenc["available"]
        else f"NVENC: not usable: {nvenc['reason']}"
        + (f" [FFmpeg: {nvenc['ffmpeg_said']}]" if nvenc["ffmpeg_said"] else "")
    )
    cuda = report["whisper_cuda"]
    if "error" in cuda:
        lines.append(f"whisper on CUDA: the check broke: {cuda['error']}")
    elif cuda["available"]:
        heard = cuda.get("heard")
        lines.append(
            f"whisper on CUDA: works (probe {cuda['probe_s']} s"
            + (f"; {cuda['model']} heard {heard!r} in {cuda['inference_s']} s)" if heard else ")")
        )
    else:
        lines.append(f"whisper on CUDA: not usable: {cuda['reason']}")
    auto = report["auto"]
    lines.append(
        f"auto chooses: encoder {auto['encoder']}, whisper on {auto['whisper_device']} "
        f"({auto['whisper_compute_type']})"
    )
    for key in ("encoder_fallback", "whisper_fallback"):
        if auto[key]:
            lines.append(f"  {key.replace('_', ' ')}: {auto[key]}")
    configured = report["configured"]
    if configured["starts"]:
        lines.append(
            f"configured (FFMPEG_ENCODER={configured['FFMPEG_ENCODER']}, "
            f"WHISPER_DEVICE={configured['WHISPER_DEVICE']}): the worker starts"
        )
    else:
        for error in configured["errors"]:
            lines.append(f"configured: the worker would NOT start: {error}")
    for operation, job in report["jobs"].items():
        details = ", ".join(f"{key} {value}" for key, value in job.items() if key != "status")
        lines.append(f"job {operation}: {job['status']}" + (f" ({details})" if details else ""))
    lines.append("gpu check: " + ("passed" if report["passed"] else "FAILED"))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api_gpu_worker.gpu_check")
    parser.add_argument(
        "--require-jobs",
        action="store_true",
        help="fail when a job cannot run here (no S3 settings, FFmpeg or espeak-ng)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("WORKER_LOG_LEVEL", "WARNING").upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    report, passed = run_check(args.require_jobs)
    for line in describe(report):
        print(line, flush=True)
    print(json.dumps({"gpu_check": report}, ensure_ascii=False), flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
