"""The legacy addaudio (the replaced service's) against ours, both as whole jobs (download, FFmpeg,
upload) in one run.

Legacy: ``-i video -i audio -c:v <encoder> -c:a aac -shortest`` (its worker's command, with libx264
at the service's quality standing in for NVENC on a box without a GPU, and the two -map options
it meant). Ours: ``run_job`` of an addaudio job, which copies the video stream. Inputs: a 60 s
1920x1080 24 fps H.264 (with B-frames)/AAC clip and a 45 s MP3, served over HTTP on loopback.
The last line printed is ``{"speedup", "video_bit_identical"}``.
"""

import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from api_gpu_worker.encoders import SoftwareEncoder
from api_gpu_worker.fetch import fetch
from api_gpu_worker.job import JobContext, run_job
from api_gpu_worker.settings import Settings
from api_gpu_worker.storage import object_key, s3_client

VIDEO_SECONDS = 60
AUDIO_SECONDS = 45
FPS = 24
OUR_RUNS = 3


def main() -> None:
    bench_dir = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="bench-addaudio-"))
    media = bench_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    video, audio = make_inputs(media)
    server = serve(media)
    host_port = f"127.0.0.1:{server.server_address[1]}"
    settings = Settings.from_env(
        {
            **os.environ,
            "PRIVATE_URL_ALLOWLIST": host_port,
            "WORKER_TMP_DIR": str(bench_dir / "work"),
            "FFMPEG_ENCODER": "cpu",
        }
    )
    prefix = f"bench/addaudio-{uuid.uuid4().hex[:8]}/"
    job = {
        "operation": "addaudio",
        "url_video": f"http://{host_port}/{video.name}",
        "url_audio": f"http://{host_port}/{audio.name}",
        "path": prefix,
    }
    try:
        legacy_s = timed(lambda: legacy_job({**job, "output_filename": "legacy.mp4"}, settings))
        say(f"legacy (re-encode, -shortest): {legacy_s:.2f} s")
        ours = []
        for run in range(OUR_RUNS):
            ours.append(timed(functools.partial(ours_job, job, settings, run)))
            say(f"ours run {run + 1}: {ours[-1]:.3f} s")
        ours_s = statistics.median(ours)
        checks = inspect_outputs(settings, prefix, video, bench_dir)
    finally:
        server.shutdown()
        storage_cleanup(settings, prefix)
    speedup = legacy_s / ours_s
    median = f"ours median {ours_s:.3f} s of {OUR_RUNS}"
    say(f"speedup {speedup:.1f}x (legacy {legacy_s:.2f} s, {median})")
    for name, value in checks.items():
        say(f"{name}: {value}")
    print(
        json.dumps(
            {"speedup": round(speedup, 1), "video_bit_identical": checks["video_bit_identical"]}
        )
    )


def say(line: str) -> None:
    print(line, flush=True)


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True
    )


def make_inputs(media: Path) -> tuple[Path, Path]:
    video = media / "clip-1080p-60s.mp4"
    audio = media / "narration-45s.mp3"
    if not video.exists():
        say("generating the 60 s 1080p clip (once; kept in BENCH_DIR)")
        partial = media / "partial.mp4"
        ffmpeg(
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate={FPS}:duration={VIDEO_SECONDS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={VIDEO_SECONDS}",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", str(partial),
        )  # fmt: skip
        partial.replace(video)
    if not audio.exists():
        ffmpeg(
            "-f", "lavfi", "-i", f"sine=frequency=660:sample_rate=44100:duration={AUDIO_SECONDS}",
            "-c:a", "libmp3lame", "-b:a", "128k", str(audio),
        )  # fmt: skip
    return video, audio


def serve(root: Path) -> ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def legacy_job(job: dict, settings: Settings) -> None:
    with JobContext("legacy", settings) as ctx:
        video = fetch(job["url_video"], ctx.workdir / "video.mp4", ctx, field="url_video")
        audio = fetch(job["url_audio"], ctx.workdir / "audio.mp3", ctx, field="url_audio")
        output = ctx.workdir / "output.mp4"
        ctx.run(
            [
                "ffmpeg", "-i", video, "-i", audio, "-map", "0:v:0", "-map", "1:a:0",
                *SoftwareEncoder().encode_args(), "-c:a", "aac", "-shortest", output,
            ]
        )  # fmt: skip
        ctx.storage.upload(output, object_key(job["path"], job["output_filename"]))


def ours_job(job: dict, settings: Settings, run: int) -> None:
    result = run_job({**job, "output_filename": "ours.mp4"}, JobContext(f"ours-{run}", settings))
    if result["video_stream"] != "copied":
        sys.exit(f"expected a stream copy, got {result}")


def probe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-print_format",
            "json",
            "-show_streams",
            str(path),
        ],
        capture_output=True,
        check=True,
    ).stdout
    return {stream["codec_type"]: stream for stream in json.loads(out)["streams"]}


def packet_hashes(path: Path) -> list[str]:
    out = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-f",
            "framemd5",
            "-",
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if not line.startswith("#")]


def inspect_outputs(settings: Settings, prefix: str, source: Path, bench_dir: Path) -> dict:
    client = s3_client(settings)
    results = {}
    for name in ("legacy", "ours"):
        local = bench_dir / f"{name}-output.mp4"
        client.download_file(settings.s3_bucket, f"{prefix}{name}.mp4", str(local))
        streams = probe(local)
        results[f"{name}_video_s"] = round(float(streams["video"]["duration"]), 4)
        results[f"{name}_audio_s"] = round(float(streams["audio"]["duration"]), 4)
        results[f"{name}_video_frames"] = int(streams["video"]["nb_read_packets"])
    ours = packet_hashes(bench_dir / "ours-output.mp4")
    results["video_bit_identical"] = ours == packet_hashes(source)[: len(ours)]
    frame = 1 / FPS
    results["ours_within_one_frame_of_45s"] = all(
        abs(results[key] - AUDIO_SECONDS) <= frame for key in ("ours_video_s", "ours_audio_s")
    )
    return results


def storage_cleanup(settings: Settings, prefix: str) -> None:
    client = s3_client(settings)
    listing = client.list_objects_v2(Bucket=settings.s3_bucket, Prefix=prefix)
    for item in listing.get("Contents", []):
        client.delete_object(Bucket=settings.s3_bucket, Key=item["Key"])


if __name__ == "__main__":
    main()
