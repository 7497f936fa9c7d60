"""concatenate: the replaced service's join (concat demuxer, full re-encode) against ours.

Twenty clips made as img2vid makes them (Ken Burns frames from a photo-like image, the worker's
encoder and colour tags, 1920x1080 at 24 fps, no audio), CLIP_SECONDS each. The legacy way: the
concat demuxer into the same encoder, audio to AAC 192k as it did. Ours: the concatenate
operation's own probes (four at a time, as in the operation), stream-copy join and output check;
download and upload are left out of both. Each side is the median of RUNS runs, alternating. Our
output is checked to hold every input frame. Ends with one JSON line.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

from api_gpu_worker import kenburns
from api_gpu_worker.job import JobContext
from api_gpu_worker.operations.concatenate import join_by_copy, normalise_reason, probe_clip
from api_gpu_worker.output_check import require_playable_video
from api_gpu_worker.settings import Settings

sys.path.insert(0, str(Path(__file__).parent.parent / "img2vid"))
from photo import photo

CLIPS = 20
CLIP_SECONDS = float(os.environ.get("CLIP_SECONDS", "2"))
RUNS = 3
MOTIONS = list(kenburns.Motion)


def make_clips(workdir: Path, encoder) -> list[Path]:
    image_path = workdir / "foto.png"
    cv2.imwrite(str(image_path), photo())
    image = kenburns.load_image(image_path)
    frames = kenburns.frame_count(CLIP_SECONDS)
    clips = []
    for index in range(CLIPS):
        path = workdir / f"video_{index + 1}.mp4"
        process = subprocess.Popen(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                *kenburns.raw_input_args(), "-i", "pipe:0", *encoder.encode_args(),
                *kenburns.COLOR_ARGS, "-frames:v", str(frames), "-an",
                "-movflags", "+faststart", str(path),
            ],
            stdin=subprocess.PIPE,
        )  # fmt: skip
        renderer = kenburns.KenBurns(image, MOTIONS[index % len(MOTIONS)], frames)
        kenburns.write_frames(renderer, process.stdin)
        process.stdin.close()
        if process.wait() != 0:
            raise SystemExit("clip encode failed")
        clips.append(path)
    return clips


def legacy_join(ctx: JobContext, clips: list[Path], output: Path) -> float:
    listing = ctx.workdir / "legacy.txt"
    listing.write_text("".join(f"file '{clip}'\n" for clip in clips), encoding="utf-8")
    started = time.perf_counter()
    ctx.run(
        [
            "ffmpeg", "-f", "concat", "-safe", "0", "-i", listing, *ctx.encoder.encode_args(),
            "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", output,
        ]
    )  # fmt: skip
    return time.perf_counter() - started


def our_join(ctx: JobContext, clips: list[Path], output: Path) -> float:
    started = time.perf_counter()
    # Probed as the operation does, a few at a time.
    with ThreadPoolExecutor(max_workers=4) as pool:
        probed = list(
            pool.map(
                lambda i: probe_clip(i, clips[i], f"video_urls[{i}].video_url", ctx),
                range(len(clips)),
            )
        )
    if normalise_reason(probed, "none", None) is not None:
        raise SystemExit("img2vid clips were not found joinable by copy")
    join_by_copy(probed, output, ".mp4", ctx)
    require_playable_video(output, "video_url")
    return time.perf_counter() - started


def main() -> None:
    settings = Settings.from_env()
    root = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp())
    root.mkdir(parents=True, exist_ok=True)
    with JobContext("bench-concatenate", settings) as ctx:
        clips = make_clips(ctx.workdir, ctx.encoder)
        legacy_times, our_times = [], []
        for _ in range(RUNS):
            legacy_times.append(legacy_join(ctx, clips, ctx.workdir / "legacy.mp4"))
            our_times.append(our_join(ctx, clips, ctx.workdir / "ours.mp4"))
        listing = subprocess.run(
            ["ffprobe", "-v", "error", "-count_packets", "-of", "json", "-show_entries",
             "stream=nb_read_packets", str(ctx.workdir / "ours.mp4")],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        joined = int(json.loads(listing)["streams"][0]["nb_read_packets"])
        if joined != CLIPS * kenburns.frame_count(CLIP_SECONDS):
            raise SystemExit(f"our join has {joined} frames, not every input frame")
        legacy_s, ours_s = statistics.median(legacy_times), statistics.median(our_times)
        print(
            json.dumps(
                {
                    "concat_speedup": round(legacy_s / ours_s, 1),
                    "legacy_s": round(legacy_s, 3),
                    "ours_s": round(ours_s, 3),
                    "clips": CLIPS,
                    "seconds_per_clip": CLIP_SECONDS,
                    "encoder": ctx.encoder.name,
                }
            )
        )


if __name__ == "__main__":
    main()
