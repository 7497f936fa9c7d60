"""One compose job against the separate jobs in sequence, for the same finished video.

Inputs (generated once into BENCH_DIR, served over HTTP on loopback): 12 photo-like 1920x1080
JPEGs (bench/img2vid/photo.py) of 5 s each, a 60 s Portuguese narration spoken by espeak-ng (MP3)
and a 30 s music bed (MP3).

- Steps: ``run_job`` of img2vid (12 clips uploaded), concat_video_audio (the clips under the
  narration), trilhasonora (the music under it) and caption with ``auto_captions`` (the narration
  transcribed again from the video, the captions burnt), each job downloading what the one before
  uploaded to the test MinIO, as a client chaining them makes them do.
- Compose: ``run_job`` of one compose job with the same images, narration, music and
  ``captions.auto``.

Both sides run in this one warm process (the whisper model is loaded by a warm-up transcription
first), with the same encoder (libx264 at the service's quality: FFMPEG_ENCODER=cpu) and the same
model. The last line printed is ``{"compose_vs_steps"}``: compose's time over the steps' (target:
0.7 at most).
"""

import functools
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
from photo import photo

from api_gpu_worker.job import JobContext, run_job
from api_gpu_worker.settings import Settings
from api_gpu_worker.storage import s3_client

IMAGES = 12
IMAGE_SECONDS = 5
NARRATION_SECONDS = 60
MODEL = "base"
TEXT = (
    "Bom dia a todos. Hoje vamos falar sobre a alimentação saudável e sobre como pequenas "
    "mudanças no dia a dia fazem uma grande diferença. Comer mais frutas, verduras e legumes, "
    "beber água ao longo do dia e dormir bem são hábitos simples. A ação começa agora mesmo, "
    "na próxima refeição, com atenção e sem pressa. "
)


def main() -> None:
    bench_dir = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="bench-compose-"))
    media = bench_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    images, narration, music, warmup = make_inputs(media)
    server = serve(media)
    host_port = f"127.0.0.1:{server.server_address[1]}"
    base = f"http://{host_port}/"
    settings = Settings.from_env(
        {
            **os.environ,
            "PRIVATE_URL_ALLOWLIST": host_port,
            "WORKER_TMP_DIR": str(bench_dir / "work"),
            "FFMPEG_ENCODER": "cpu",
        }
    )
    prefix = f"bench/compose-{uuid.uuid4().hex[:8]}/"
    image_list = [
        {"id": f"foto-{i + 1}", "image_url": base + path.name, "duracao": IMAGE_SECONDS}
        for i, path in enumerate(images)
    ]
    auto = {"model": MODEL, "language": "pt"}
    try:
        job(settings, {"operation": "transcribe", "audio_url": base + warmup.name,
                       "path": f"{prefix}warmup/", "model": MODEL, "language": "pt"})  # fmt: skip
        steps_s, steps = timed(lambda: separate_steps(settings, image_list, base, narration,
                                                      music, auto, prefix))  # fmt: skip
        for name, seconds in steps:
            say(f"  step {name}: {seconds:.1f} s")
        say(f"steps in sequence: {steps_s:.1f} s")
        compose_s, result = timed(
            lambda: job(
                settings,
                {
                    "operation": "compose",
                    "images": image_list,
                    "narration_url": base + narration.name,
                    "music": {"url": base + music.name},
                    "captions": {"auto": auto},
                    "path": f"{prefix}compose/",
                    "output_filename": "vídeo final.mp4",
                },
            )
        )
        say(f"compose: {compose_s:.1f} s")
        say(
            "compose result: "
            + json.dumps({k: result[k] for k in ("duration", "narration_duration", "duration_fit")})
        )
    finally:
        server.shutdown()
        storage_cleanup(settings, prefix)
    say(f"load average at the end: {Path('/proc/loadavg').read_text().strip()}")
    print(json.dumps({"compose_vs_steps": round(compose_s / steps_s, 3)}))


def separate_steps(settings, images, base, narration, music, auto, prefix):
    timings = []

    def step(name, fields):
        started = time.perf_counter()
        result = job(settings, {"operation": name, **fields})
        timings.append((name, time.perf_counter() - started))
        return result

    clips = step("img2vid", {"images": images, "path": f"{prefix}steps/clips/"})
    bed = step(
        "concat_video_audio",
        {
            "video_urls": [clip["video_url"] for clip in clips["videos"]],
            "audio_url": base + narration.name,
            "path": f"{prefix}steps/",
            "output_filename": "narrado.mp4",
        },
    )
    mixed = step(
        "trilhasonora",
        {
            "url_video": bed["video_url"],
            "trilha_sonora": base + music.name,
            "path": f"{prefix}steps/",
            "output_filename": "com trilha.mp4",
        },
    )
    step(
        "caption",
        {
            "url_video": mixed["video_url"],
            "auto_captions": auto,
            "path": f"{prefix}steps/",
            "output_filename": "vídeo final.mp4",
        },
    )
    return timings


def job(settings: Settings, fields: dict) -> dict:
    return run_job(fields, JobContext(f"bench-{fields['operation']}", settings))


def make_inputs(media: Path) -> tuple[list[Path], Path, Path, Path]:
    images = []
    for i in range(IMAGES):
        path = media / f"foto {i + 1}.jpg"
        if not path.exists():
            cv2.imwrite(str(path), photo(seed=100 + i), [cv2.IMWRITE_JPEG_QUALITY, 90])
        images.append(path)
    narration = media / "narração.mp3"
    if not narration.exists():
        say("generating the 60 s narration with espeak-ng (once; kept in BENCH_DIR)")
        spoken = media / "fala.wav"
        subprocess.run(
            ["espeak-ng", "-v", "pt-br", "-s", "150", "-w", str(spoken), TEXT * 4], check=True
        )
        ffmpeg(
            "-i", str(spoken), "-af", f"apad=whole_dur={NARRATION_SECONDS}",
            "-t", str(NARRATION_SECONDS), "-c:a", "libmp3lame", "-b:a", "128k", str(narration),
        )  # fmt: skip
        spoken.unlink()
    music = media / "trilha.mp3"
    if not music.exists():
        chord = "0.2*sin(2*PI*220*t)+0.15*sin(2*PI*277.2*t)+0.1*sin(2*PI*329.6*t)"
        ffmpeg("-f", "lavfi", "-i", f"aevalsrc='{chord}|{chord}':s=44100:d=30",
               "-c:a", "libmp3lame", "-b:a", "128k", str(music))  # fmt: skip
    warmup = media / "aquecimento.wav"
    if not warmup.exists():
        subprocess.run(
            ["espeak-ng", "-v", "pt-br", "-w", str(warmup), "Bom dia a todos."], check=True
        )
    return images, narration, music, warmup


def serve(root: Path) -> ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def storage_cleanup(settings: Settings, prefix: str) -> None:
    client = s3_client(settings)
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=settings.s3_bucket, Prefix=prefix
    ):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=settings.s3_bucket, Key=item["Key"])


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def say(line: str) -> None:
    print(line, flush=True)


def timed(work):
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


if __name__ == "__main__":
    main()
