"""RunPod serverless entry: ``python rp_handler.py`` (``--test_input '{"input": ...}'`` to try it).

Input ``{"input": {"operation": ..., ...contract fields}}``; output the operation's result, or
``{"error": "<JSON of {code, message, field?, retryable}>"}`` (RunPod carries errors as strings).
Progress goes out through ``runpod.serverless.progress_update`` as ``{"percent": ...}``, at most
every two seconds, when running under RunPod (its SDK's local test mode has nowhere to send it).
Settings and the encoder are set up once, when the worker starts, and kept across jobs.
"""

import json
import logging
import os
import sys
import threading
import time
from typing import Any

import runpod
from runpod.serverless.modules.rp_logger import RunPodLogger

from api_gpu_worker.encoders import EncoderConfig, encoder_fallback_reason, select_encoder
from api_gpu_worker.errors import as_job_error
from api_gpu_worker.job import JobContext, remove_stale_workdirs, run_job
from api_gpu_worker.settings import ConfigError, Settings
from api_gpu_worker.whisper_models import whisper_device

log = logging.getLogger("api_gpu_worker.runpod")

_PROGRESS_INTERVAL_S = 2.0


class Runtime:
    def __init__(self, settings: Settings, encoder: EncoderConfig) -> None:
        self.settings = settings
        self.encoder = encoder


_runtime: Runtime | None = None


def handler(job: dict[str, Any]) -> dict[str, Any]:
    if _runtime is None:
        raise RuntimeError("rp_handler.main() sets the worker up before RunPod calls handler")
    job_id = str(job.get("id") or "runpod-job")
    job_input = dict(job.get("input") or {})
    # The API sends the job's deadline beside the contract's fields; RunPod's executionTimeout
    # is the backstop, this the clean stop (processes killed, files removed, timed_out reported).
    deadline = job_input.pop("deadline_s", None)
    ctx = JobContext(
        job_id,
        _runtime.settings,
        encoder=_runtime.encoder,
        on_progress=_progress_sender(job),
        deadline_s=float(deadline) if isinstance(deadline, int | float) and deadline > 0 else None,
    )
    try:
        result = run_job(job_input, ctx)
    except BaseException as error:
        details = as_job_error(error).to_dict()
        log.info("job %s failed: %s", job_id, details["message"])
        return {"error": json.dumps(details, ensure_ascii=False)}
    if ctx.fallback_reason:
        log.warning("job %s: %s", job_id, ctx.fallback_reason)
    return result


def _progress_sender(job: dict[str, Any]):
    under_runpod = bool(os.environ.get("RUNPOD_WEBHOOK_POST_OUTPUT"))
    last = {"at": 0.0}
    lock = threading.Lock()

    def send(percent: float) -> None:
        now = time.monotonic()
        with lock:
            if percent < 100 and now - last["at"] < _PROGRESS_INTERVAL_S:
                return
            last["at"] = now
        log.debug("job %s: %.1f%%", job.get("id"), percent)
        if under_runpod:
            runpod.serverless.progress_update(job, {"percent": percent})

    return send


def main() -> None:
    global _runtime
    logging.basicConfig(
        level=os.environ.get("WORKER_LOG_LEVEL", "INFO").upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not (os.environ.get("RUNPOD_LOG_LEVEL") or os.environ.get("RUNPOD_DEBUG_LEVEL")):
        # The SDK logs each job's input at DEBUG, its default; inputs may hold signed URLs.
        RunPodLogger().set_level("INFO")
    try:
        settings = Settings.from_env()
        _runtime = Runtime(settings, select_encoder(settings.ffmpeg_encoder))
        device = whisper_device()
        remove_stale_workdirs(settings.work_root, settings.output_root)
    except ConfigError as error:
        log.error("configuration error: %s", error)
        sys.exit(2)
    except Exception as error:
        log.error("the worker cannot start: %s", as_job_error(error).message)
        sys.exit(1)
    log.info("worker ready: encoder %s, whisper on %s", _runtime.encoder.name, device.device)
    for reason in (
        encoder_fallback_reason(settings.ffmpeg_encoder, _runtime.encoder),
        device.fallback,
    ):
        if reason:
            log.warning("%s", reason)
    runpod.serverless.start({"handler": handler})


if __name__ == "__main__":
    main()
