"""A local stand-in for RunPod's serverless REST API v2, for tests: ``server.py`` (env below).

Implements, as RunPod documents them: ``POST /{endpoint}/run`` (``{"input", "policy":
{"executionTimeout" ms, "ttl" ms}}`` -> ``{"id", "status": "IN_QUEUE"}``), ``GET
/{endpoint}/status/{id}`` (``{"id", "status", "delayTime", "executionTime", "output" | "error"}``),
``POST /{endpoint}/cancel/{id}``, ``GET /{endpoint}/health`` (``{"jobs": {...}, "workers":
{...}}``), Bearer authentication (401). A job goes IN_QUEUE -> IN_PROGRESS -> COMPLETED | FAILED |
CANCELLED | TIMED_OUT; each runs in a process of its own (run_job.py) with the real handler, which
is killed on cancel or when it passes executionTimeout. A handler result with an ``error`` key
fails the job with that error, as RunPod does.

Control routes for tests, under ``/_fake/``: ``POST faults`` ``{"status", "count", "routes"}``
answers the next ``count`` calls of those routes (run, status, cancel, health) with ``status``;
``POST settings`` ``{"queue_delay_s", "workers"}``; ``GET log`` every API call with its time.
Env: ``FAKE_RUNPOD_API_KEY`` (the only key accepted), ``FAKE_RUNPOD_STOCK_ENDPOINTS``
(comma-separated endpoint ids whose worker is the stock faster-whisper one), ``PORT`` (0: any);
the port is printed on stdout as ``{"port": N}``.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
DEFAULT_EXECUTION_TIMEOUT_MS = 600_000

lock = threading.Condition()
jobs: dict[str, dict] = {}
queue: list[str] = []
log: list[dict] = []
faults: list[dict] = []
settings = {"queue_delay_s": 0.0, "workers": 1}
running = {"count": 0}
stock_endpoints = {e for e in os.environ.get("FAKE_RUNPOD_STOCK_ENDPOINTS", "").split(",") if e}
api_key = os.environ["FAKE_RUNPOD_API_KEY"]


def now_ms() -> int:
    return int(time.time() * 1000)


def status_body(job: dict) -> dict:
    body = {"id": job["id"], "status": job["status"]}
    if job.get("started") is not None:
        body["delayTime"] = job["started"] - job["created"]
    if job.get("ended") is not None and job.get("started") is not None:
        body["executionTime"] = job["ended"] - job["started"]
    if "output" in job:
        body["output"] = job["output"]
    if "error" in job:
        body["error"] = job["error"]
    return body


def end(job: dict, status: str, **fields) -> None:
    if job["status"] in TERMINAL:
        return
    job.update(fields, status=status, ended=now_ms())
    if job.get("started") is None and status != "CANCELLED":
        job["started"] = job["ended"]


def scheduler() -> None:
    while True:
        with lock:
            while True:
                ready = [
                    job_id
                    for job_id in queue
                    if time.time() - jobs[job_id]["created"] / 1000 >= settings["queue_delay_s"]
                ]
                if ready and running["count"] < settings["workers"]:
                    break
                lock.wait(0.1)
            job_id = ready[0]
            queue.remove(job_id)
            job = jobs[job_id]
            job.update(status="IN_PROGRESS", started=now_ms())
            running["count"] += 1
        threading.Thread(target=execute, args=(job,), daemon=True).start()


def execute(job: dict) -> None:
    kind = "stock" if job["endpoint"] in stock_endpoints else "project"
    with tempfile.TemporaryDirectory() as work:
        result_path = Path(work) / "result.json"
        process = subprocess.Popen(
            [sys.executable, str(HERE / "run_job.py"), kind, str(result_path)],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
        job["process"] = process
        process.stdin.write(json.dumps({"id": job["id"], "input": job["input"]}).encode())
        process.stdin.close()
        try:
            code = process.wait(timeout=job["execution_timeout_ms"] / 1000)
        except subprocess.TimeoutExpired:
            kill(process)
            code = None
        with lock:
            running["count"] -= 1
            lock.notify_all()
            if job["status"] in TERMINAL:
                return
            if code is None:
                end(job, "TIMED_OUT")
            elif code != 0 or not result_path.exists():
                end(job, "FAILED", error=f"handler process exited with status {code}")
            else:
                result = json.loads(result_path.read_text(encoding="utf-8"))
                if isinstance(result, dict) and "error" in result:
                    end(job, "FAILED", error=result["error"])
                else:
                    end(job, "COMPLETED", output=result)


def kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def route(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts and parts[0] == "_fake":
            return self.control(method, parts[1:], raw)
        if len(parts) >= 2 and parts[0] == "v2":
            parts = parts[1:]
        name = parts[1] if len(parts) >= 2 else ""
        with lock:
            log.append({"method": method, "route": name, "path": self.path, "at": time.time()})
            fault = next((f for f in faults if name in f["routes"] and f["count"] > 0), None)
            if fault:
                fault["count"] -= 1
        if self.headers.get("Authorization") != f"Bearer {api_key}":
            return self.reply(401, {"error": "Unauthorized"})
        if fault:
            return self.reply(fault["status"], {"error": f"injected {fault['status']}"})
        endpoint = parts[0]
        if method == "POST" and name == "run" and len(parts) == 2:
            return self.run(endpoint, raw)
        if method == "GET" and name == "status" and len(parts) == 3:
            return self.status(parts[2])
        if method == "POST" and name == "cancel" and len(parts) == 3:
            return self.cancel(parts[2])
        if method == "GET" and name == "health" and len(parts) == 2:
            return self.health(endpoint)
        self.reply(404, {"error": "not found"})

    def run(self, endpoint: str, raw: bytes) -> None:
        body = json.loads(raw or b"{}")
        if not isinstance(body.get("input"), dict):
            return self.reply(400, {"error": "input is required"})
        policy = body.get("policy") or {}
        job_id = f"{uuid.uuid4()}-u1"
        with lock:
            jobs[job_id] = {
                "id": job_id,
                "endpoint": endpoint,
                "input": body["input"],
                "status": "IN_QUEUE",
                "created": now_ms(),
                "execution_timeout_ms": int(
                    policy.get("executionTimeout") or DEFAULT_EXECUTION_TIMEOUT_MS
                ),
                "ttl_ms": policy.get("ttl"),
            }
            queue.append(job_id)
            lock.notify_all()
        self.reply(200, {"id": job_id, "status": "IN_QUEUE"})

    def status(self, job_id: str) -> None:
        with lock:
            job = jobs.get(job_id)
            body = status_body(job) if job else None
        self.reply(200, body) if body else self.reply(404, {"error": "job not found"})

    def cancel(self, job_id: str) -> None:
        with lock:
            job = jobs.get(job_id)
            if job is None:
                return self.reply(404, {"error": "job not found"})
            job["cancel_requested"] = True
            if job_id in queue:
                queue.remove(job_id)
            process = job.get("process")
            end(job, "CANCELLED")
            body = {"id": job_id, "status": job["status"]}
        if process is not None and process.poll() is None:
            kill(process)
        self.reply(200, body)

    def health(self, endpoint: str) -> None:
        with lock:
            mine = [job for job in jobs.values() if job["endpoint"] == endpoint]
            count = lambda status: sum(1 for job in mine if job["status"] == status)  # noqa: E731
            busy = running["count"]
            body = {
                "jobs": {
                    "completed": count("COMPLETED"),
                    "failed": count("FAILED"),
                    "inProgress": count("IN_PROGRESS"),
                    "inQueue": count("IN_QUEUE"),
                    "retried": 0,
                },
                "workers": {
                    "idle": max(0, settings["workers"] - busy),
                    "initializing": 0,
                    "ready": settings["workers"],
                    "running": busy,
                    "throttled": 0,
                    "unhealthy": 0,
                },
            }
        self.reply(200, body)

    def control(self, method: str, parts: list[str], raw: bytes) -> None:
        body = json.loads(raw or b"{}")
        with lock:
            if method == "POST" and parts == ["faults"]:
                faults.append(
                    {
                        "status": int(body["status"]),
                        "count": int(body["count"]),
                        "routes": list(body["routes"]),
                    }
                )
                answer = {"ok": True}
            elif method == "POST" and parts == ["settings"]:
                settings.update({k: body[k] for k in ("queue_delay_s", "workers") if k in body})
                lock.notify_all()
                answer = dict(settings)
            elif method == "GET" and parts == ["log"]:
                answer = {"calls": list(log)}
            elif method == "GET" and parts == ["jobs"]:
                answer = {
                    "jobs": [
                        {
                            **status_body(job),
                            "endpoint": job["endpoint"],
                            "input": job["input"],
                            "executionTimeoutMs": job["execution_timeout_ms"],
                            "ttlMs": job["ttl_ms"],
                            "cancelRequested": job.get("cancel_requested", False),
                        }
                        for job in jobs.values()
                    ]
                }
            else:
                answer = None
        self.reply(200, answer) if answer is not None else self.reply(404, {"error": "not found"})

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "0"))), Handler)
    server.daemon_threads = True
    threading.Thread(target=scheduler, daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
