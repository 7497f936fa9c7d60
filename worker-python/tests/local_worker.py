"""Drives ``python -m api_gpu_worker.local`` as the GPU node does: JSON lines in, JSON lines out."""

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

WORKER_DIR = Path(__file__).resolve().parents[1]


class LocalWorkerProcess:
    def __init__(self, env: dict[str, str], launcher: tuple[str, ...] = ()) -> None:
        # A test may put modules of its own ahead of the worker's (a sitecustomize, say).
        python_path = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(WORKER_DIR)]))
        self.process = subprocess.Popen(
            [*launcher, sys.executable, "-m", "api_gpu_worker.local"],
            cwd=WORKER_DIR,
            env={**env, "PYTHONPATH": python_path},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.pid = self.process.pid
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.raw_lines: list[str] = []
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self.raw_lines.append(line)
            self.messages.put(json.loads(line))

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def send(self, message: dict[str, Any]) -> None:
        self.send_line(json.dumps(message))

    def send_line(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def next_message(self, timeout: float = 120) -> dict[str, Any]:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no message from the worker in {timeout} s; stderr:\n{''.join(self.stderr_lines)}"
            ) from None

    def until(self, *types: str, timeout: float = 300) -> tuple[dict[str, Any], list[dict]]:
        """Reads messages up to the first of one of ``types``; returns it and those before it."""
        before = []
        while True:
            message = self.next_message(timeout)
            if message["type"] in types:
                return message, before
            before.append(message)

    def run(self, job_id: str, job_input: dict[str, Any]) -> tuple[dict[str, Any], list[dict]]:
        self.send({"type": "job", "id": job_id, "input": job_input})
        return self.until("result", "error", "cancelled")

    def close(self, timeout: float = 60) -> int:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def children(self) -> list[int]:
        """Pids of the worker's live child processes (FFmpeg runs in sessions of its own)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid and fields[0] != "Z":
                found.append(int(entry.name))
        return found

    def alive(self, pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"


def kill_if_running(worker: LocalWorkerProcess) -> None:
    if worker.process.poll() is None:
        worker.process.kill()
        worker.process.wait()
