"""One job's context (work directory, storage, encoder, progress, cancel) and its dispatch.

Every external process a job starts goes through ``JobContext.run`` or ``JobContext.popen``, which
register it: ``cancel()`` kills them all (their whole process group) at once, so a cancelled job
stops within a moment whatever it was doing. ``run_job`` validates the input against the contract
before anything is fetched, and whatever way the job ends, its work directory is removed, and on
failure or cancel so is every object it had uploaded.
"""

import importlib
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from .contract import ContractError, validate_job
from .encoders import (
    EncoderConfig,
    NvencEncoder,
    SoftwareEncoder,
    encoder_fallback_reason,
    select_encoder,
)
from .errors import (
    EncoderError,
    InputError,
    InternalError,
    JobCancelled,
    JobError,
    JobTimedOut,
    ProcessingError,
)
from .settings import Settings
from .storage import Storage
from .usage import gpu_task, metering

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]
ErrorFactory = Callable[[int, str], JobError]

# At most ~4 progress reports a second reach the caller; the last one (100) always does.
_PROGRESS_INTERVAL_S = 0.25
_STDERR_LINES_KEPT = 20
_OUT_TIME = re.compile(r"out_time_(?:us|ms)=(\d+)")
_PROGRESS_KEY = re.compile(r"[a-z_0-9]+=\S*$")


class JobContext:
    """What an operation gets: ``workdir`` for its files, ``outdir`` for the results it uploads,
    ``storage`` for uploading them, ``encoder``.

    Use it as a context manager (``run_job`` does) so the work directory goes away afterwards.
    """

    def __init__(
        self,
        job_id: str,
        settings: Settings,
        *,
        encoder: EncoderConfig | None = None,
        storage: Storage | None = None,
        on_progress: ProgressCallback | None = None,
        deadline_s: float | None = None,
    ) -> None:
        self.job_id = job_id
        self.deadline_s = deadline_s
        self.timed_out = False
        self._deadline_timer: threading.Timer | None = None
        self.settings = settings
        self.encoder = encoder if encoder is not None else select_encoder(settings.ffmpeg_encoder)
        self.storage = storage if storage is not None else Storage(settings)
        self.cancelled = threading.Event()
        # Why this job is on libx264: FFMPEG_ENCODER=auto found no NVENC at start, or
        # (fallback_reason) NVENC failed during this very job.
        self.encoder_fallback = encoder_fallback_reason(settings.ffmpeg_encoder, self.encoder)
        self.fallback_reason: str | None = None
        safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", job_id)[:64]
        name = f"job-{os.getpid()}-{safe_id}-{uuid.uuid4().hex[:8]}"
        self.workdir = settings.work_root / name
        self.outdir = settings.output_root / name
        self._on_progress = on_progress
        self._last_percent = -1.0
        self._last_report = 0.0
        self._lock = threading.Lock()
        self._processes: set[subprocess.Popen] = set()
        self._cancel_hooks: set[Callable[[], None]] = set()

    def __enter__(self) -> "JobContext":
        self.workdir.mkdir(parents=True, exist_ok=False)
        self.outdir.mkdir(parents=True, exist_ok=True)
        if self.deadline_s is not None:
            self._deadline_timer = threading.Timer(self.deadline_s, self._time_out)
            self._deadline_timer.daemon = True
            self._deadline_timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            _kill_group(process)
            process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(self.outdir, ignore_errors=True)

    def progress(self, percent: float, *, force: bool = False) -> None:
        """Reports progress, clamped to 0-100, never decreasing, throttled to ~4 per second.

        ``force`` skips the throttle, for the end of a step that must not be lost.
        """
        percent = round(min(100.0, max(0.0, float(percent))), 1)
        now = time.monotonic()
        with self._lock:
            if percent <= self._last_percent:
                return
            throttled = now - self._last_report < _PROGRESS_INTERVAL_S
            if throttled and percent < 100.0 and not force:
                return
            self._last_percent = percent
            self._last_report = now
        if self._on_progress is not None:
            self._on_progress(percent)

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelled()

    def _time_out(self) -> None:
        # A cancel the job did not ask for: the same kill of its processes and hooks, reported as
        # timed_out rather than cancelled.
        log.warning("job %s passed its deadline of %g s; stopping it", self.job_id, self.deadline_s)
        self.timed_out = True
        self.cancel()

    def cancel(self) -> None:
        """Stops the job: every registered process is killed, every cancel hook called."""
        with self._lock:
            self.cancelled.set()
            processes = list(self._processes)
            hooks = list(self._cancel_hooks)
        for process in processes:
            _kill_group(process)
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.exception("cancel hook failed")

    @contextmanager
    def cancel_hook(self, hook: Callable[[], None]) -> Iterator[None]:
        """Calls ``hook`` if the job is cancelled while the block runs (to abort a download)."""
        with self._lock:
            if self.cancelled.is_set():
                raise JobCancelled()
            self._cancel_hooks.add(hook)
        try:
            yield
        finally:
            with self._lock:
                self._cancel_hooks.discard(hook)

    def popen(self, args: Sequence[str], **kwargs: Any) -> subprocess.Popen:
        """Starts a process the job's cancel kills; the caller waits for it (``release`` after).

        It runs in a session of its own, so killing it also kills what it started.
        """
        with self._lock:
            if self.cancelled.is_set():
                raise JobCancelled()
            self._processes = {p for p in self._processes if p.poll() is None}
            kwargs.setdefault("cwd", self.workdir)
            process = subprocess.Popen([str(arg) for arg in args], start_new_session=True, **kwargs)
            self._processes.add(process)
        return process

    def release(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._processes.discard(process)

    def run(
        self,
        args: Sequence[str],
        *,
        duration_s: float | None = None,
        span: tuple[float, float] = (0.0, 100.0),
        stdin: IO[bytes] | int | None = None,
        input_bytes: bytes | None = None,
        on_error: ErrorFactory | None = None,
    ) -> subprocess.CompletedProcess:
        """Runs a tool to completion; stdout is captured, stderr kept for the error message.

        For FFmpeg (``args[0]`` named ``ffmpeg``), ``-hide_banner -y -loglevel error`` are added
        unless a log level is given, and with ``duration_s`` also ``-progress pipe:2 -nostats``,
        whose ``out_time`` is reported as progress mapped into ``span``. A non-zero exit raises
        ``on_error(returncode, stderr_tail)``, by default a ProcessingError holding that tail;
        an exit caused by cancel raises JobCancelled.
        """
        argv = [str(arg) for arg in args]
        if Path(argv[0]).name == "ffmpeg":
            extra = [] if "-loglevel" in argv or "-v" in argv else ["-loglevel", "error"]
            # -y: the files are the job's own, and a retry must overwrite a failed attempt's.
            extra = ["-hide_banner", "-y", *extra]
            if duration_s:
                extra += ["-progress", "pipe:2", "-nostats"]
            argv = [argv[0], *extra, *argv[1:]]
        if input_bytes is not None:
            stdin = subprocess.PIPE
        process = self.popen(
            argv,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        tail: deque[str] = deque(maxlen=_STDERR_LINES_KEPT)
        reader = threading.Thread(
            target=self._read_stderr, args=(process.stderr, tail, duration_s, span), daemon=True
        )
        reader.start()
        try:
            if input_bytes is not None:
                threading.Thread(
                    target=_feed, args=(process.stdin, input_bytes), daemon=True
                ).start()
            stdout = process.stdout.read()
            process.wait()
            reader.join()
        finally:
            if process.poll() is None:
                _kill_group(process)
                process.wait()
            self.release(process)
        stderr_tail = "\n".join(tail)
        if self.cancelled.is_set():
            raise JobCancelled()
        if process.returncode != 0:
            if on_error is not None:
                raise on_error(process.returncode, stderr_tail)
            raise ProcessingError(
                f"{Path(argv[0]).name} failed (exit {process.returncode}): {stderr_tail[-600:]}"
            )
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr_tail)

    def _read_stderr(
        self,
        stream: IO[bytes],
        tail: deque[str],
        duration_s: float | None,
        span: tuple[float, float],
    ) -> None:
        # Error messages name the job's files, never where they are on the worker's disk.
        workdir_prefix = f"{self.workdir}/"
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip().replace(workdir_prefix, "")
            match = _OUT_TIME.match(line)
            if line == "progress=end" and duration_s:
                self.progress(span[1], force=True)
            elif match:
                if duration_s:
                    done = min(1.0, int(match.group(1)) / 1e6 / duration_s)
                    self.progress(span[0] + (span[1] - span[0]) * done)
            elif line and not _PROGRESS_KEY.match(line):
                tail.append(line)


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except BrokenPipeError:
        pass


def _kill_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def remove_stale_workdirs(*roots: Path) -> list[Path]:
    """Deletes the work and output directories of worker processes that are gone (killed
    mid-job, say) under each of ``roots``.

    Each directory's name carries the pid of its process; the ones of live processes (other
    slots sharing a root) are left alone. Returns what was removed.
    """
    removed = []
    for entry in (entry for root in dict.fromkeys(roots) for entry in root.glob("job-*-*")):
        pid = entry.name.split("-", 2)[1]
        if entry.is_dir() and pid.isdigit() and not _process_exists(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_encode(
    ctx: JobContext, build: Callable[[EncoderConfig], list[str]], **run_kw: Any
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
        with gpu_task():
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


def run_job(job: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Validates ``job`` (``{"operation": ..., **fields}``), runs its operation, returns its result.

    Raises a JobError; before it does, the objects the job uploaded are deleted. The context's
    work directory is removed in every case.
    """
    try:
        operation, fields = validate_job(job)
    except ContractError as error:
        raise InputError(error.message, field=error.field or None) from None
    run = _operation(operation)
    with ctx, metering() as meter:
        try:
            ctx.check_cancelled()
            result = run(fields, ctx)
            ctx.check_cancelled()
        except BaseException:
            ctx.storage.delete_uploaded()
            if ctx.timed_out:
                raise JobTimedOut(ctx.deadline_s) from None
            raise
    reason = ctx.fallback_reason or ctx.encoder_fallback
    if reason and result.get("encoder") == "libx264":
        result["encoder_fallback"] = reason
    result["usage"] = meter.report()
    ctx.progress(100.0)
    return result


def _operation(name: str) -> Callable[[dict[str, Any], JobContext], dict[str, Any]]:
    # Imported on first use: an operation whose module or dependencies are missing fails alone.
    try:
        module = importlib.import_module(f"{__package__}.operations.{name}")
    except ImportError as error:
        log.error("operation %s cannot be loaded", name, exc_info=error)
        raise InternalError(f"operation {name} is not available on this worker") from None
    return module.run
