"""``python -m api_gpu_worker.local``: the GPU node's long-lived worker, one per slot.

It speaks JSON lines (protocol in worker-python/README.md): jobs and cancels on stdin; ready,
progress, result, error, cancelled and state on stdout. Only protocol lines reach stdout: the real
stdout is kept on a private descriptor and descriptor 1 is pointed at stderr, so nothing a
library or a child process prints can corrupt the stream. One job runs at a time, on a thread,
so that stdin stays read and a cancel takes effect while the job runs; the process, and the
models and encoder it holds, stay warm from one job to the next.
"""

import ctypes
import json
import logging
import os
import signal
import sys
import threading
from typing import IO, Any

from .encoders import encoder_fallback_reason, nvenc_available, select_encoder
from .errors import JobCancelled, JobTimedOut, as_job_error
from .gpu import detect_gpus
from .job import JobContext, remove_stale_workdirs, run_job
from .recycle import recycle_reason
from .settings import ConfigError, Settings
from .storage import Storage
from .whisper import shared_transcriber
from .whisper_models import available_models, effective_aliases, whisper_device

log = logging.getLogger("api_gpu_worker.local")


class ProtocolOutput:
    """Writes one JSON object per line, whole, whichever thread writes."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class LocalWorker:
    def __init__(self, settings: Settings, output: ProtocolOutput) -> None:
        self.settings = settings
        self.output = output
        self.encoder = select_encoder(settings.ffmpeg_encoder)
        self._lock = threading.Lock()
        self._current: tuple[str, JobContext] | None = None
        self._last_thread: threading.Thread | None = None

    def ready_message(self) -> dict[str, Any]:
        device = whisper_device()
        gpu = detect_gpus().first
        return {
            "type": "ready",
            "encoder": self.encoder.name,
            "nvenc": nvenc_available(),
            "encoder_fallback": encoder_fallback_reason(self.settings.ffmpeg_encoder, self.encoder),
            "whisper_device": device.device,
            "whisper_fallback": device.fallback,
            "gpu": gpu.name if gpu else None,
            "models": available_models(),
            "model_aliases": effective_aliases(),
            "warm_models": shared_transcriber().loaded_names(),
            "pid": os.getpid(),
        }

    def state_message(self) -> dict[str, Any]:
        return {"type": "state", "warm_models": shared_transcriber().loaded_names()}

    def handle(self, line: str) -> None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            self._protocol_error(None, "the line is not JSON")
            return
        if not isinstance(message, dict):
            self._protocol_error(None, "a message must be a JSON object")
            return
        job_id = message.get("id")
        if not isinstance(job_id, str) or not job_id:
            self._protocol_error(None, "id must be a non-empty string")
            return
        match message.get("type"):
            case "job":
                self._start(job_id, message.get("input"), deadline_seconds(message))
            case "cancel":
                self._cancel(job_id)
            case _:
                self._protocol_error(job_id, "type must be job or cancel")

    def wait(self) -> None:
        """Blocks until the last job started has ended and been reported."""
        with self._lock:
            thread = self._last_thread
        if thread is not None:
            thread.join()

    def _start(self, job_id: str, job_input: Any, deadline_s: float | None) -> None:
        with self._lock:
            if self._current is not None:
                self.output.send(
                    {
                        "type": "error",
                        "id": job_id,
                        "error": {
                            "code": "busy",
                            "message": f"this worker is running job {self._current[0]}",
                            "retryable": True,
                        },
                    }
                )
                return
            try:
                ctx = JobContext(
                    job_id,
                    self.settings,
                    encoder=self.encoder,
                    storage=Storage(self.settings),
                    on_progress=lambda percent: self.output.send(
                        {"type": "progress", "id": job_id, "percent": percent}
                    ),
                    deadline_s=deadline_s,
                )
            except Exception as error:
                self.output.send(
                    {"type": "error", "id": job_id, "error": as_job_error(error).to_dict()}
                )
                return
            thread = threading.Thread(
                target=self._run, args=(job_id, job_input, ctx), name=f"job-{job_id}", daemon=True
            )
            self._current = (job_id, ctx)
            self._last_thread = thread
            thread.start()

    def _run(self, job_id: str, job_input: Any, ctx: JobContext) -> None:
        try:
            output = run_job(job_input if job_input is not None else {}, ctx)
            message: dict[str, Any] = {"type": "result", "id": job_id, "output": output}
            if ctx.fallback_reason:
                message["encoder_fallback"] = ctx.fallback_reason
        except BaseException as error:
            timed_out = isinstance(error, JobTimedOut)
            if not timed_out and (isinstance(error, JobCancelled) or ctx.cancelled.is_set()):
                message = {"type": "cancelled", "id": job_id}
            else:
                message = {"type": "error", "id": job_id, "error": as_job_error(error).to_dict()}
        recycling = recycle_reason(self.settings)
        if recycling:
            # Said before the outcome, so the node hands this worker no next job.
            self.output.send({**self.state_message(), "recycling": recycling})
        # Free before reporting: a node that sends its next job on reading this line is not busy.
        with self._lock:
            self._current = None
        self.output.send(message)
        if recycling:
            log.warning("exiting to be replaced: %s", recycling)
            os._exit(0)
        self.output.send(self.state_message())

    def cancel_current(self) -> None:
        with self._lock:
            current = self._current
        if current is not None:
            current[1].cancel()

    def _cancel(self, job_id: str) -> None:
        with self._lock:
            current = self._current
        if current is not None and current[0] == job_id:
            current[1].cancel()

    def _protocol_error(self, job_id: str | None, message: str) -> None:
        self.output.send(
            {
                "type": "error",
                "id": job_id,
                "error": {"code": "invalid_message", "message": message, "retryable": False},
            }
        )


def deadline_seconds(message: dict[str, Any]) -> float | None:
    """The job's ``deadline_s``: a positive number of seconds, or None for a job without one."""
    value = message.get("deadline_s")
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None
    return float(value)


class ParentGone(Exception):
    """The GPU node that started this worker is gone, or asks it to stop now (SIGTERM)."""


def _stop_with_parent() -> None:
    """Turns the parent's death into SIGTERM, and SIGTERM into ParentGone in the main thread.

    A node killed with SIGKILL cannot cancel its workers, and their stdin may stay open (a
    process that inherited it keeps it). Its job goes back to the queue and runs elsewhere, so
    the orphan must not carry on and upload to the key the retry writes. Linux's parent-death
    signal is the one notice that survives SIGKILL.
    """
    parent = os.getppid()

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise ParentGone

    signal.signal(signal.SIGTERM, on_sigterm)
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    # The parent may have died before the signal was armed.
    if os.getppid() != parent:
        raise ParentGone


def _protocol_stream() -> IO[str]:
    protocol_fd = os.dup(sys.stdout.fileno())
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1)


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("WORKER_LOG_LEVEL", "INFO").upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    output = ProtocolOutput(_protocol_stream())
    try:
        settings = Settings.from_env()
        for stale in remove_stale_workdirs(settings.work_root, settings.output_root):
            log.info("removed %s, left by a worker that is gone", stale.name)
        worker = LocalWorker(settings, output)
        ready = worker.ready_message()
    except ConfigError as error:
        log.error("configuration error: %s", error)
        return 2
    except Exception as error:
        log.error("the worker cannot start: %s", as_job_error(error).message)
        return 1
    try:
        _stop_with_parent()
        output.send(ready)
        for line in sys.stdin:
            if line.strip():
                worker.handle(line)
    except ParentGone:
        log.warning("stopping: the GPU node is gone or asked to stop; the running job is cancelled")
        worker.cancel_current()
    worker.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
