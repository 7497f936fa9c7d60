"""A plain SRT burn-in against our styled caption jobs, each a whole job (download, FFmpeg, upload).

Plain: ``-vf subtitles=subs.srt`` with the same encoder and settings as ours (libx264 at the
service's quality, the CPU path), the audio copied. Ours: ``run_job`` of a caption job with
``style.kind`` classic, then with the pop preset (one ASS event per word state). Inputs: a 60 s
1920x1080 24 fps H.264/AAC clip and a 30-cue Portuguese SRT, served over HTTP on loopback.
The last line printed is ``{"classic_vs_plain", "pop_vs_plain"}`` (time ratios; 1.0 is free).
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

from api_gpu_worker.encoders import SoftwareEncoder
from api_gpu_worker.fetch import fetch
from api_gpu_worker.job import JobContext, run_job
from api_gpu_worker.settings import Settings
from api_gpu_worker.storage import object_key, s3_client

SECONDS = 60
FPS = 24
CUE_SECONDS = 2
LINE = "então você não sabe que a ação começa agora mesmo"


def main() -> None:
    bench_dir = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="bench-caption-"))
    media = bench_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    video, srt = make_inputs(media)
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
    prefix = f"bench/caption-{uuid.uuid4().hex[:8]}/"
    job = {
        "operation": "caption",
        "url_video": f"http://{host_port}/{video.name}",
        "url_srt": f"http://{host_port}/{srt.name}",
        "path": prefix,
    }
    try:
        plain_s = timed(lambda: plain_job({**job, "output_filename": "plain.mp4"}, settings))
        say(f"plain -vf subtitles=: {plain_s:.2f} s")
        classic_s = timed(lambda: ours(job, settings, "classic", {"kind": "classic"}))
        say(f"ours, classic: {classic_s:.2f} s")
        pop_s = timed(lambda: ours(job, settings, "pop", {"preset": "pop"}))
        say(f"ours, pop: {pop_s:.2f} s")
    finally:
        server.shutdown()
        storage_cleanup(settings, prefix)
    print(
        json.dumps(
            {
                "classic_vs_plain": round(classic_s / plain_s, 3),
                "pop_vs_plain": round(pop_s / plain_s, 3),
            }
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
    if not video.exists():
        say("generating the 60 s 1080p clip (once; kept in BENCH_DIR)")
        partial = media / "partial.mp4"
        ffmpeg(
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate={FPS}:duration={SECONDS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", str(partial),
        )  # fmt: skip
        partial.replace(video)
    srt = media / "legenda.srt"
    cues = [
        f"{n}\n00:00:{start:02d},000 --> 00:00:{start + CUE_SECONDS - 1:02d},900\n{LINE}\n"
        if start + CUE_SECONDS < 60
        else f"{n}\n00:00:{start:02d},000 --> 00:00:59,900\n{LINE}\n"
        for n, start in enumerate(range(0, SECONDS, CUE_SECONDS), start=1)
    ]
    srt.write_text("\n".join(cues), encoding="utf-8")
    return video, srt


def serve(root: Path) -> ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def plain_job(job: dict, settings: Settings) -> None:
    with JobContext("plain", settings) as ctx:
        fetch(job["url_video"], ctx.workdir / "video.mp4", ctx, field="url_video")
        fetch(job["url_srt"], ctx.workdir / "subs.srt", ctx, field="url_srt")
        output = ctx.workdir / "output.mp4"
        ctx.run(
            [
                "ffmpeg", "-nostdin", "-y", "-i", "video.mp4", "-map", "0:v:0", "-map", "0:a?",
                "-vf", "subtitles=subs.srt", *SoftwareEncoder().encode_args(), "-c:a", "copy",
                "-movflags", "+faststart", output.name,
            ]
        )  # fmt: skip
        ctx.storage.upload(output, object_key(job["path"], job["output_filename"]))


def ours(job: dict, settings: Settings, name: str, style: dict) -> None:
    result = run_job(
        {**job, "output_filename": f"{name}.mp4", "style": style}, JobContext(name, settings)
    )
    if result.get("word_timing") != "interpolated":
        raise SystemExit(f"expected a styled job, got {result}")


def storage_cleanup(settings: Settings, prefix: str) -> None:
    client = s3_client(settings)
    listing = client.list_objects_v2(Bucket=settings.s3_bucket, Prefix=prefix)
    for item in listing.get("Contents", []):
        client.delete_object(Bucket=settings.s3_bucket, Key=item["Key"])


if __name__ == "__main__":
    main()
