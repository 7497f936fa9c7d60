"""One still per caption preset, landscape and vertical, each from a real caption job.

The worker runs the job end to end (fetch over HTTP, libass, the encoder, upload to the test
MinIO); the still is the frame of the uploaded video in the middle of a spoken word, so the
word-level kinds show their states. Writes ``<preset>-<landscape|vertical>.jpg`` into the
directory given, and ``index.md`` listing them.
"""

import functools
import os
import subprocess
import sys
import tempfile
import threading
import urllib.request
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from api_gpu_worker.contract import caption_presets
from api_gpu_worker.job import JobContext, run_job
from api_gpu_worker.settings import Settings
from api_gpu_worker.storage import s3_client

FRAMES = {"landscape": (1280, 720), "vertical": (720, 1280)}
STILL_WIDTH = {"landscape": 640, "vertical": 360}
SRT = "1\n00:00:00,200 --> 00:00:02,800\nEntão você não sabe\nque a ação começa agora\n"
STILL_AT_S = 1.1


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="caption-stills-") as scratch:
        media = Path(scratch)
        for name, (width, height) in FRAMES.items():
            background(media / f"{name}.mp4", width, height)
        (media / "legenda.srt").write_text(SRT, encoding="utf-8")
        server = ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Quiet, directory=str(media))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host = f"127.0.0.1:{server.server_address[1]}"
        settings = Settings.from_env(
            {**os.environ, "PRIVATE_URL_ALLOWLIST": host, "WORKER_TMP_DIR": str(media / "work")}
        )
        prefix = f"caption-stills-{uuid.uuid4().hex[:8]}/"
        rows = []
        try:
            for preset in caption_presets():
                cells = []
                for name in FRAMES:
                    job = {
                        "operation": "caption",
                        "url_video": f"http://{host}/{name}.mp4",
                        "url_srt": f"http://{host}/legenda.srt",
                        "path": prefix,
                        "output_filename": f"{preset}-{name}.mp4",
                        "style": {"preset": preset},
                    }
                    still = out / f"{preset}-{name}.jpg"
                    still_of_job(job, settings, media / f"{preset}-{name}.mp4", still, name)
                    cells.append(f"![{preset}, {name}]({still.name})")
                    print(f"{still}", flush=True)
                rows.append(f"| `{preset}` | {' | '.join(cells)} |")
        finally:
            server.shutdown()
            client = s3_client(settings)
            listing = client.list_objects_v2(Bucket=settings.s3_bucket, Prefix=prefix)
            for item in listing.get("Contents", []):
                client.delete_object(Bucket=settings.s3_bucket, Key=item["Key"])
    index = [
        "# Caption presets",
        "",
        f"Made by `scripts/caption-stills.sh` with the worker: each still is {STILL_AT_S} s into",
        "a caption job's video, in the middle of a spoken word.",
        "",
        "| preset | landscape (1280x720) | vertical (720x1280) |",
        "|---|---|---|",
        *rows,
        "",
    ]
    (out / "index.md").write_text("\n".join(index), encoding="utf-8")


def still_of_job(job: dict, settings: Settings, video: Path, still: Path, shape: str) -> None:
    result = run_job(job, JobContext(still.stem, settings))
    with urllib.request.urlopen(result["video_url"], timeout=60) as response:  # noqa: S310
        video.write_bytes(response.read())
    scale = f"scale={STILL_WIDTH[shape]}:-2"
    ffmpeg("-ss", str(STILL_AT_S), "-i", str(video), "-frames:v", "1", "-vf", scale, "-q:v", "4",
           str(still))  # fmt: skip


def background(path: Path, width: int, height: int) -> None:
    """A 3 s dusk-coloured gradient with quiet audio: text on it reads as it would on footage."""
    ffmpeg(
        "-f", "lavfi", "-i",
        f"gradients=s={width}x{height}:c0=0x24476b:c1=0xc97b4a:x0=0:y0=0:x1={width}:y1={height}:d=3:r=24",
        "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "3",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path),
    )  # fmt: skip


def ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True
    )


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    main(Path(sys.argv[1]))
