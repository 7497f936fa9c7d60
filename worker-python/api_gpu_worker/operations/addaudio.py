"""addaudio: the new audio replaces the old; the result lasts as long as the shorter input.

When the video is H.264 or HEVC in MP4/MOV its stream is copied, packet for packet, never
re-encoded. The cut is computed, not left to ``-shortest``: with stream copy FFmpeg can only stop
at a packet, in decode order, so ``-shortest``/``-t`` overshoot by a few frames and drop trailing
B-frames. Instead the video is cut at an exact frame count (the frames whose presentation falls
before the shorter duration, nudged by one to where the decode order closes when that stays
within a frame) into a video-only file, which is then muxed with the audio cut to the same
duration: in FFmpeg 5 a frame count stops every stream of its file, hence the two steps. Other
videos are re-encoded with the worker's encoder, cut by time. The audio is copied too when the
output container carries its codec (AAC, MP3) and a cut at its packet boundaries stays within a
frame; otherwise it is encoded to AAC.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

from ..encoders import EncoderConfig
from ..errors import MediaError
from ..fetch import fetch
from ..job import JobContext, run_encode
from ..media import AudioInfo, VideoInfo, require_audio, require_video
from ..output_check import require_playable_video
from ..storage import object_key

COPYABLE_CODECS = {"h264", "hevc"}
# ffprobe's format_name for the ISO BMFF family (MP4, MOV, M4V, 3GP).
COPYABLE_CONTAINER = "mov,mp4,m4a,3gp,3g2,mj2"
_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
_AUDIO_ARGS = ["-c:a", "aac", "-b:a", "192k"]
# Audio kept as it is when the output container carries it and browsers play it from there.
_COPYABLE_AUDIO = {
    ".mp4": {"aac", "mp3"},
    ".m4v": {"aac", "mp3"},
    ".mov": {"aac", "mp3"},
    ".mkv": {"aac", "mp3", "opus", "vorbis", "flac"},
}
# Samples per packet: a copied stream can only be cut at a packet boundary.
_SAMPLES_PER_PACKET = {"aac": 1024, "mp3": 1152}


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    # Each input is downloaded and checked on its own thread, the video's packets listed too.
    with ThreadPoolExecutor(max_workers=2) as pool:
        video_input = pool.submit(_video_input, fields["url_video"], ctx)
        audio_input = pool.submit(_audio_input, fields["url_audio"], ctx)
        video_path, video, packet_times = video_input.result()
        audio_path, audio = audio_input.result()
    ctx.progress(30)
    ctx.check_cancelled()
    duration = min(video.duration, audio.duration)
    filename = fields["output_filename"]
    suffix = PurePosixPath(filename).suffix.lower()
    output = ctx.outdir / f"output{suffix}"
    audio_args = audio_codec_args(audio, suffix, duration, 1 / video.fps)
    if packet_times is not None:
        _copy_video(
            video_path, audio_path, audio_args, video, packet_times, duration, output, suffix, ctx
        )
        encoder_name, stream = "copy", "copied"
    else:
        encoder = _reencode(
            video_path, audio_path, audio_args, video, duration, output, suffix, ctx
        )
        encoder_name, stream = encoder.name, "re-encoded"
    ctx.progress(90)
    require_playable_video(output, "video_url")
    key = object_key(fields["path"], filename)
    url = ctx.storage.upload(output, key)
    return {"video_url": url, "filename": filename, "encoder": encoder_name, "video_stream": stream}


def can_copy(video: VideoInfo) -> bool:
    return video.codec in COPYABLE_CODECS and video.container == COPYABLE_CONTAINER


def audio_codec_args(
    audio: AudioInfo, suffix: str, duration: float, frame_duration: float
) -> list[str]:
    """Copy the audio when the container takes it and any cut lands within a frame, else AAC."""
    if audio.codec not in _COPYABLE_AUDIO[suffix]:
        return _AUDIO_ARGS
    needs_cut = audio.duration > duration + 1e-3
    samples = _SAMPLES_PER_PACKET.get(audio.codec)
    if needs_cut and not (
        samples and audio.sample_rate and samples / audio.sample_rate <= frame_duration
    ):
        return _AUDIO_ARGS
    return ["-c:a", "copy"]


def _video_input(url: str, ctx: JobContext) -> tuple[Path, VideoInfo, list[float] | None]:
    path = fetch(url, ctx.workdir / "video-input", ctx, field="url_video")
    video = require_video(path, "url_video", ctx.settings)
    return path, video, _packet_times(path, ctx) if can_copy(video) else None


def _audio_input(url: str, ctx: JobContext) -> tuple[Path, AudioInfo]:
    path = fetch(url, ctx.workdir / "audio-input", ctx, field="url_audio")
    return path, require_audio(path, "url_audio", ctx.settings)


def frames_to_keep(presentation_times: list[float], frame_duration: float, duration: float) -> int:
    """How many packets, in decode order, make a video closest to ``duration``.

    A frame is kept when at least half of it falls before ``duration``. With B-frames the first
    N packets in decode order may not be the first N frames shown; a count one off that is
    (every frame shown before the cut, none after) is preferred while it stays within a frame.
    """
    start = min(presentation_times)
    shown = sorted(time - start for time in presentation_times)
    wanted = sum(1 for time in shown if time + frame_duration / 2 <= duration) or 1
    ends = [time + frame_duration for time in shown]
    for count in (wanted, wanted + 1, wanted - 1):
        if not 1 <= count <= len(shown) or abs(ends[count - 1] - duration) > frame_duration:
            continue
        decoded = sorted(time - start for time in presentation_times[:count])
        if decoded == shown[:count]:
            return count
    return wanted


def _copy_video(
    video_path: Path,
    audio_path: Path,
    audio_args: list[str],
    video: VideoInfo,
    times: list[float],
    duration: float,
    output: Path,
    suffix: str,
    ctx: JobContext,
) -> None:
    frame_duration = 1 / video.fps
    count = frames_to_keep(times, frame_duration, duration)
    video_only = ctx.workdir / f"video-cut{suffix}"
    ctx.run(
        [
            "ffmpeg", "-i", video_path, "-map", "0:v:0", "-c", "copy",
            "-frames:v", str(count), *_tag_args(video, suffix), "-f", _MUXERS[suffix], video_only,
        ]
    )  # fmt: skip
    ctx.progress(50)
    kept = sorted(times)[:count]
    cut_at = kept[-1] - kept[0] + frame_duration
    ctx.run(
        [
            "ffmpeg", "-i", video_only, "-i", audio_path,
            "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", *_tag_args(video, suffix),
            *audio_args, "-t", f"{min(duration, cut_at):.6f}",
            *_container_args(suffix), "-f", _MUXERS[suffix], output,
        ],
        duration_s=duration,
        span=(50.0, 90.0),
    )  # fmt: skip


def _reencode(
    video_path: Path,
    audio_path: Path,
    audio_args: list[str],
    video: VideoInfo,
    duration: float,
    output: Path,
    suffix: str,
    ctx: JobContext,
) -> EncoderConfig:
    # yuv420p needs even dimensions; an odd one loses its last row or column.
    even = (
        ["-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2"] if video.width % 2 or video.height % 2 else []
    )

    def build(encoder: EncoderConfig) -> list[str]:
        return [
            "ffmpeg", *encoder.decode_args(), "-i", video_path, "-i", audio_path,
            "-map", "0:v:0", "-map", "1:a:0", *even, *encoder.encode_args(), *audio_args,
            "-t", f"{duration:.6f}", *_container_args(suffix), "-f", _MUXERS[suffix], output,
        ]  # fmt: skip

    return run_encode(ctx, build, duration_s=duration, span=(30.0, 90.0))


def _packet_times(path: Path, ctx: JobContext) -> list[float]:
    """Presentation times of the video packets, in decode (file) order."""
    listing = ctx.run(
        [
            "ffprobe", "-v", "error", "-select_streams", "v:0",
            "-show_entries", "packet=pts_time", "-of", "csv=p=0", path,
        ],
    ).stdout.decode()  # fmt: skip
    times = []
    for line in listing.split():
        value = line.strip().strip(",")
        if value and value != "N/A":
            times.append(float(value))
    if not times:
        raise MediaError("url_video: the video has no timed frames", field="url_video")
    return times


def _tag_args(video: VideoInfo, suffix: str) -> list[str]:
    # Apple players want HEVC in MP4/MOV tagged hvc1, not FFmpeg's default hev1.
    return ["-tag:v", "hvc1"] if video.codec == "hevc" and suffix != ".mkv" else []


def _container_args(suffix: str) -> list[str]:
    # The index first, so a browser can start playing before the whole file has arrived.
    return [] if suffix == ".mkv" else ["-movflags", "+faststart"]
