"""Raw faster-whisper against a warm worker doing the whole transcribe job, side by side.

Both sides use the same bundled model, device, threads and decoding options, and both are warm
(model loaded, one run done) before anything is timed. "Raw" is WhisperModel.transcribe on the
local file with every segment consumed; the job is the local worker protocol from the job line to
its result line: the download over HTTP, ffprobe, the transcription, the three files written and
uploaded to MinIO. Rounds alternate the two. The figure is the ratio of the best times of each
(the runs least disturbed by whatever else the machine does); the median of each round's own
ratio is printed next to it.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from botocore.config import Config
from faster_whisper import WhisperModel

from api_gpu_worker.whisper import cpu_threads, fallback_temperatures
from api_gpu_worker.whisper_models import resolve_model

MODEL = "tiny.en"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TEXT = (
    "Good morning everyone. Today we will talk about the weekly report, the budget for the next "
    "quarter and the plans for the new office. First, the report: sales grew by twelve percent, "
    "mostly in the southern region, while costs stayed almost flat. Second, the budget: we will "
    "hire two engineers and one designer, and we will move part of the servers to a cheaper "
    "provider. Finally, the office: the move is planned for the end of March, and everyone will "
    "get a new desk and a quieter room for meetings. Thank you for listening, and please send "
    "your questions to the team before Friday."
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def make_speech(directory: Path) -> Path:
    wav, mp3 = directory / "speech.wav", directory / "speech.mp3"
    if not mp3.exists():
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), TEXT], check=True)
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame",
             "-b:a", "128k", str(mp3)],
            check=True,
        )  # fmt: skip
    return mp3


def duration_of(path: Path) -> float:
    return float(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip


def raw_transcription(model: WhisperModel, audio: Path) -> float:
    started = time.perf_counter()
    segments, _ = model.transcribe(
        str(audio),
        language="en",
        beam_size=5,
        best_of=5,
        temperature=fallback_temperatures(0.0),
        compression_ratio_threshold=2.4,
        log_prob_threshold=-1.0,
        no_speech_threshold=0.6,
        condition_on_previous_text=True,
        word_timestamps=True,
        vad_filter=True,
    )
    list(segments)
    return time.perf_counter() - started


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api_gpu_worker.local"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        ready = self.read()
        if ready.get("type") != "ready":
            raise RuntimeError(f"the worker did not start: {ready}")

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the worker exited")
        return json.loads(line)

    def job(self, job_input: dict) -> float:
        """Runs one job; returns its time and logs its phases, read off its progress messages."""
        job_id = str(uuid.uuid4())
        started = time.perf_counter()
        line = json.dumps({"type": "job", "id": job_id, "input": job_input})
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        fetched = transcribed = started
        while True:
            message = self.read()
            if message.get("id") != job_id:
                continue
            if message["type"] == "progress":
                now = time.perf_counter()
                if fetched == started:
                    fetched = now
                if message["percent"] < 100:
                    transcribed = now
                continue
            if message["type"] != "result":
                raise RuntimeError(f"the job failed: {message}")
            ended = time.perf_counter()
            log(
                f"  job phases: download+probe {fetched - started:.2f} s, "
                f"transcription {transcribed - fetched:.2f} s, "
                f"files+upload {ended - transcribed:.2f} s"
            )
            return ended - started

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def main() -> None:
    if not os.environ.get("BENCH_DIR"):
        sys.exit("BENCH_DIR is not set: run this benchmark as bench/run transcribe")
    bench_dir = Path(os.environ["BENCH_DIR"]).resolve()
    media = bench_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    audio = make_speech(media)
    audio_s = duration_of(audio)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(media)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host_port = f"127.0.0.1:{server.server_address[1]}"
    work_root = bench_dir / "work"
    work_root.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PRIVATE_URL_ALLOWLIST": host_port,
        "WORKER_TMP_DIR": str(work_root),
        "WHISPER_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
    }
    prefix = f"bench/transcribe/{uuid.uuid4().hex[:8]}/"
    job_input = {
        "operation": "transcribe",
        "audio_url": f"http://{host_port}/{audio.name}",
        "model": MODEL,
        "language": "en",
    }

    model = WhisperModel(
        str(resolve_model(MODEL, "en").path),
        device="cpu",
        compute_type="int8",
        cpu_threads=cpu_threads(),
    )
    worker = Worker(env)
    try:
        log(f"audio {audio_s:.1f} s, model {MODEL}, cpu int8, {cpu_threads()} threads")
        raw_transcription(model, audio)
        worker.job({**job_input, "path": f"{prefix}warm-up/"})
        raw_times, job_times = [], []
        for round_number in range(ROUNDS):
            raw_times.append(raw_transcription(model, audio))
            job_times.append(worker.job({**job_input, "path": f"{prefix}{round_number}/"}))
            log(f"round {round_number + 1}: raw {raw_times[-1]:.2f} s, job {job_times[-1]:.2f} s")
    finally:
        worker.stop()
        server.shutdown()
        delete_prefix(prefix)

    raw_s, job_s = min(raw_times), min(job_times)
    paired = statistics.median(job / raw for job, raw in zip(job_times, raw_times, strict=True))
    print(
        json.dumps(
            {
                "warm_job_vs_raw": round(job_s / raw_s, 3),
                "median_round_ratio": round(paired, 3),
                "raw_s": round(raw_s, 3),
                "job_s": round(job_s, 3),
                "audio_s": round(audio_s, 1),
                "model": MODEL,
            }
        )
    )


def delete_prefix(prefix: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_SECRET_KEY"],
        region_name=os.environ.get("S3_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket = os.environ["S3_BUCKET_NAME"]
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    for item in listing.get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])


if __name__ == "__main__":
    main()
