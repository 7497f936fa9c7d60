"""concat_video_audio: clips cycled in order under a narration, the result exactly as long as it.

The plan is made in frames, from each clip's video stream (its packet count over its rate; a
container duration includes the audio, and over many cycles that error grew into a visible drift
and a cut narration in the replaced service): clips follow one another, cycling, until
``round(narration x rate)`` frames are laid, the last one cut at that exact frame. Every planned
clip goes into one concat list, each entry with its video length, decoded once, scaled and padded
to 1920x1080 (``normalize``, the default) or to the first clip's size, set to the first clip's
rate and encoded once. Clips of different codecs cannot share one decoder: each is then
re-encoded on its own first, once however often it recurs. The narration is the only audio and is
never cut: copied when the container carries its codec, else encoded to AAC.
"""

from dataclasses import replace
from fractions import Fraction
from pathlib import PurePosixPath
from typing import Any

from ..encoders import EncoderConfig
from ..fetch import fetch
from ..job import JobContext, run_encode
from ..media import require_audio
from ..output_check import require_playable_video
from ..storage import object_key
from .addaudio import audio_codec_args
from .concatenate import Clip, fetch_clips

NORMALIZED_SIZE = (1920, 1080)
# A clip of another size would rebuild the filter graph and restart its frame count; the scale
# filter follows size changes by itself.
_ONE_GRAPH = ["-reinit_filter", "0"]
_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


def plan(frames: list[int], total: int) -> list[tuple[int, int]]:
    """(clip index, frames laid) in order, cycling through ``frames`` until ``total`` are laid."""
    if total < 1 or not frames or min(frames) < 1:
        raise ValueError("a plan needs a positive total and clips of at least one frame")
    laid: list[tuple[int, int]] = []
    remaining = total
    index = 0
    while remaining > 0:
        take = min(frames[index], remaining)
        laid.append((index, take))
        remaining -= take
        index = (index + 1) % len(frames)
    return laid


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    audio_path = fetch(fields["audio_url"], ctx.workdir / "narration", ctx, field="audio_url")
    narration = require_audio(audio_path, "audio_url", ctx.settings)
    urls = fields["video_urls"]
    clips = fetch_clips(urls, ctx, field_of=lambda i: f"video_urls[{i}]", span=25.0)
    ctx.check_cancelled()
    rate = clips[0].video.rate
    if fields.get("normalize", True):
        width, height = NORMALIZED_SIZE
    else:
        width = clips[0].video.width - clips[0].video.width % 2
        height = clips[0].video.height - clips[0].video.height % 2
    if len({clip.video.codec for clip in clips}) > 1:
        clips = [_uniform(clip, width, height, rate, ctx) for clip in clips]
    ctx.progress(35)
    total = max(1, round(narration.duration * rate))
    segments = plan([max(1, round(clip.duration * rate)) for clip in clips], total)

    filename = fields["output_filename"]
    suffix = PurePosixPath(filename).suffix.lower()
    listing = ctx.workdir / "bed.ffconcat"
    lines = ["ffconcat version 1.0"]
    for index, _ in segments:
        clip = clips[index]
        lines += [f"file '{clip.path.name}'", f"duration {float(clip.duration):.9f}"]
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    graph = (
        f"[0:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
        f"fps={rate.numerator}/{rate.denominator},format=yuv420p,"
        f"tpad=stop_mode=clone:stop={total},trim=end_frame={total},setpts=PTS-STARTPTS[v]"
    )
    output = ctx.workdir / f"output{suffix}"
    audio_args = audio_codec_args(narration, suffix, narration.duration, float(1 / rate))

    def build(encoder: EncoderConfig) -> list[str]:
        return [
            "ffmpeg", *encoder.decode_args(), "-f", "concat", "-safe", "0", *_ONE_GRAPH,
            "-i", listing.name,
            "-i", audio_path.name, "-filter_complex", graph, "-map", "[v]", "-map", "1:a:0",
            *encoder.encode_args(), *audio_args, "-movflags", "+faststart",
            "-f", _MUXERS[suffix], output.name,
        ]  # fmt: skip

    encoder = run_encode(ctx, build, duration_s=narration.duration, span=(35.0, 92.0))
    require_playable_video(output, "video_url")
    url = ctx.storage.upload(output, object_key(fields["path"], filename))
    result: dict[str, Any] = {
        "video_url": url,
        "filename": filename,
        "encoder": encoder.name,
        "duration": round(narration.duration, 6),
        "segments": len(segments),
    }
    if "id_roteiro" in fields:
        result["id_roteiro"] = fields["id_roteiro"]
    return result


def _uniform(clip: Clip, width: int, height: int, rate: Fraction, ctx: JobContext) -> Clip:
    """The clip re-encoded alone to the common size and rate, so one decoder reads every clip."""
    frames = max(1, round(clip.duration * rate))
    output = clip.path.with_name(f"uniform_{clip.index + 1}.mp4")

    def build(encoder: EncoderConfig) -> list[str]:
        return [
            "ffmpeg", *encoder.decode_args(), "-i", clip.path.name, "-map", "0:v:0",
            "-vf", f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
                   f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
                   f"fps={rate.numerator}/{rate.denominator},format=yuv420p,"
                   f"tpad=stop_mode=clone:stop={frames},trim=end_frame={frames}",
            *encoder.encode_args(), "-an", output.name,
        ]  # fmt: skip

    run_encode(ctx, build)
    video = replace(clip.video, codec="h264", rate=rate, fps=float(rate))
    return Clip(clip.index, output, video, frames, clip.time_base, clip.codec_setup, None)
