"""concatenate: clips joined in order into one video, by stream copy whenever that is sound.

When every clip shares codec (H.264 or HEVC), frame size, frame rate, time base and pixel format
(img2vid's clips do), the video packets are copied through FFmpeg's concat demuxer, each file
placed at the sum of the video durations before it (its frame count over the rate, written into
the list: a container duration includes the audio and would open a gap). Otherwise, or with a
transition, every clip is scaled and padded to one size (the first clip's or ``resolution``), set
to the first clip's rate and re-encoded once; the result says which happened and why.

The audio is always rebuilt, clip by clip: each clip's own audio (resampled to 48 kHz stereo), or
silence for a clip without any, padded or trimmed to exactly that clip's video length, so the
joins never move sound against picture. Sample counts come from the cumulative video time, so the
total matches the video to the sample. When no clip has audio the result has none.

Transitions: ``fade`` dips to black at each join without overlap (the durations add up);
``crossfade`` overlaps neighbouring clips by ``transition_duration`` (video ``xfade``, audio
``acrossfade``), so the result is shorter by that much per join. The duration is rounded to whole
frames so the result stays exact to a frame.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

from ..encoders import EncoderConfig
from ..errors import InputError, MediaError
from ..fetch import fetch
from ..job import JobContext, run_encode
from ..media import VideoInfo, probe, probe_in_process, require_video
from ..output_check import require_playable_video
from ..storage import object_key

COPYABLE_CODECS = {"h264", "hevc"}
SAMPLE_RATE = 48000
DEFAULT_TRANSITION_S = 0.5
_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
_AUDIO_ARGS = ["-c:a", "aac", "-b:a", "192k"]
_DOWNLOADS = 4
# B-frames start a clip's decode times below zero; without -copyts the joined stream is shifted
# to make them non-negative and starts a frame or two late, ahead of its audio.
_KEEP_TIMES = ["-copyts"]


@dataclass(frozen=True)
class Clip:
    index: int
    path: Path
    video: VideoInfo
    frames: int
    time_base: str
    codec_setup: str
    """A hash of the decoder set-up (SPS/PPS): clips joined by copy share one."""
    audio_offset: float | None
    """Where the audio starts against the video, in seconds; None when the clip has no audio."""

    @property
    def field(self) -> str:
        return f"video_urls[{self.index}].video_url"

    @property
    def duration(self) -> Fraction:
        return self.frames / self.video.rate

    def signature(self) -> tuple:
        video = self.video
        return (
            video.codec,
            f"{video.width}x{video.height}",
            video.rate,
            self.time_base,
            video.pix_fmt,
            self.codec_setup,
        )


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    urls = [item["video_url"] for item in fields["video_urls"]]
    clips = fetch_clips(urls, ctx, field_of=lambda i: f"video_urls[{i}].video_url", span=30.0)
    ctx.check_cancelled()
    filename = fields["output_filename"]
    suffix = PurePosixPath(filename).suffix.lower()
    output = ctx.workdir / f"output{suffix}"
    transition = fields.get("transition", "none")
    size = _size(fields.get("resolution"))
    reason = normalise_reason(clips, transition, size)
    if reason is None:
        duration = join_by_copy(clips, output, suffix, ctx)
        encoder_name, stream = "copy", "copied"
    else:
        rate = clips[0].video.rate
        overlap = _transition_frames(clips, transition, fields, rate)
        width, height = size or _even(clips[0].video.width, clips[0].video.height)
        encoder, duration = join_by_reencode(
            clips, output, suffix, ctx, width, height, rate, transition, overlap
        )
        encoder_name, stream = encoder.name, "re-encoded"
    ctx.progress(92)
    require_playable_video(output, "video_url")
    url = ctx.storage.upload(output, object_key(fields["path"], filename))
    result: dict[str, Any] = {
        "video_url": url,
        "filename": filename,
        "encoder": encoder_name,
        "video_stream": stream,
        "duration": round(float(duration), 6),
    }
    if reason is not None:
        result["normalized_reason"] = reason
    if "id_roteiro" in fields:
        result["id_roteiro"] = fields["id_roteiro"]
    return result


def fetch_clips(urls: list[str], ctx: JobContext, *, field_of, span: float) -> list[Clip]:
    """Downloads and probes the clips, a few at a time; progress runs up to ``span``."""
    done: list[int] = []
    lock = threading.Lock()

    def one(index: int) -> Clip:
        field = field_of(index)
        path = fetch(urls[index], ctx.workdir / f"clip_{index + 1}", ctx, field=field)
        clip = probe_clip(index, path, field, ctx)
        with lock:
            done.append(index)
            ctx.progress(span * len(done) / len(urls))
        return clip

    with ThreadPoolExecutor(max_workers=min(_DOWNLOADS, len(urls))) as pool:
        return list(pool.map(one, range(len(urls))))


def probe_clip(index: int, path: Path, field: str, ctx: JobContext) -> Clip:
    # Read in-process: an ffprobe start-up per clip was most of a stream-copy join's time.
    info = probe_in_process(path) or probe(path, ("-show_data_hash", "MD5"))
    video = require_video(path, field, ctx.settings, info)
    streams = info["streams"]
    video_stream = next(s for s in streams if s.get("codec_type") == "video")
    audio_stream = next((s for s in streams if s.get("codec_type") == "audio"), None)
    frames = int(video_stream.get("nb_frames") or 0) or _count_frames(path, ctx)
    if frames < 1:
        raise MediaError(f"{field}: the video has no frames", field=field)
    offset = None
    if audio_stream is not None:
        offset = _start(audio_stream) - _start(video_stream)
    return Clip(
        index,
        path,
        video,
        frames,
        video_stream.get("time_base", ""),
        video_stream.get("extradata_hash", ""),
        offset,
    )


def _count_frames(path: Path, ctx: JobContext) -> int:
    """Video packets counted by reading them: for containers whose header has no frame count."""
    listing = ctx.run(
        [
            "ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
            "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path,
        ]
    ).stdout  # fmt: skip
    return int(listing.decode().strip().strip(",") or 0)


def normalise_reason(
    clips: list[Clip], transition: str, size: tuple[int, int] | None
) -> str | None:
    """Why the clips cannot be joined by stream copy, in words; None when they can."""
    if transition != "none":
        return f"the {transition} transition needs the frames re-encoded"
    first = clips[0]
    if first.video.codec not in COPYABLE_CODECS:
        return f"clip 1 is {first.video.codec}, not H.264 or HEVC"
    if size is not None and size != (first.video.width, first.video.height):
        return f"resolution {size[0]}x{size[1]} differs from the clips' {_size_of(first)}"
    names = ("codec", "frame size", "frame rate", "time base", "pixel format", "encoder set-up")
    for clip in clips[1:]:
        for name, mine, theirs in zip(names, first.signature(), clip.signature(), strict=True):
            if mine != theirs:
                return f"clips 1 and {clip.index + 1} differ in {name} ({mine}, {theirs})"
    return None


def audio_graph(
    clips: list[Clip], inputs: list[int | None], lengths: list[Fraction]
) -> tuple[list[str], list[str]]:
    """Per clip, a filter chain giving its audio, or silence, exactly ``lengths[i]`` long.

    ``inputs[i]`` is the FFmpeg input index of clip i's file (None: silence). Returns the chains
    and their output labels.
    """
    chains, labels = [], []
    edges = [Fraction(0)]
    for length in lengths:
        edges.append(edges[-1] + length)
    for i, clip in enumerate(clips):
        samples = round(edges[i + 1] * SAMPLE_RATE) - round(edges[i] * SAMPLE_RATE)
        label = f"a{i}"
        fmt = f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo"
        if inputs[i] is None or clip.audio_offset is None:
            source = f"anullsrc=r={SAMPLE_RATE}:cl=stereo,{fmt}"
        else:
            shift = ""
            if clip.audio_offset > 1e-4:
                shift = f"adelay=delays={clip.audio_offset * 1000:.3f}:all=1,"
            elif clip.audio_offset < -1e-4:
                shift = f"atrim=start={-clip.audio_offset:.6f},"
            source = (
                f"[{inputs[i]}:a:0]asetpts=PTS-STARTPTS,{shift}aresample={SAMPLE_RATE},{fmt},apad"
            )
        chains.append(f"{source},atrim=end_sample={samples},asetpts=N/SR/TB[{label}]")
        labels.append(label)
    return chains, labels


def join_by_copy(clips: list[Clip], output: Path, suffix: str, ctx: JobContext) -> Fraction:
    listing = ctx.workdir / "clips.ffconcat"
    lines = ["ffconcat version 1.0"]
    for clip in clips:
        lines += [f"file '{clip.path.name}'", f"duration {float(clip.duration):.9f}"]
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    total = sum((clip.duration for clip in clips), Fraction(0))
    # auto_convert would rewrite H.264 packets to Annex B: they are kept as they are, which is
    # sound because every clip carries the same decoder set-up.
    args = ["ffmpeg", "-f", "concat", "-safe", "0", "-auto_convert", "0", "-i", listing.name]
    audio_args: list[str] = []
    if any(clip.audio_offset is not None for clip in clips):
        # Input 0 is the concat list; each clip with audio is opened again for it.
        inputs: list[int | None] = []
        opened = 0
        for clip in clips:
            if clip.audio_offset is None:
                inputs.append(None)
            else:
                opened += 1
                inputs.append(opened)
                args += ["-i", clip.path.name]
        chains, labels = audio_graph(clips, inputs, [clip.duration for clip in clips])
        graph = ";".join([*chains, "".join(f"[{label}]" for label in labels) +
                          f"concat=n={len(labels)}:v=0:a=1[a]"])  # fmt: skip
        audio_args = ["-filter_complex", graph, "-map", "[a]", *_AUDIO_ARGS]
    ctx.run(
        [
            *args, "-map", "0:v:0", "-c:v", "copy", *_KEEP_TIMES, *_tag_args(clips[0], suffix),
            *audio_args,
            *_container_args(suffix), "-f", _MUXERS[suffix], output.name,
        ],
        duration_s=float(total),
        span=(30.0, 90.0),
    )  # fmt: skip
    return total


def join_by_reencode(
    clips: list[Clip],
    output: Path,
    suffix: str,
    ctx: JobContext,
    width: int,
    height: int,
    rate: Fraction,
    transition: str,
    overlap: int,
) -> tuple[EncoderConfig, Fraction]:
    frames = [max(1, round(clip.duration * rate)) for clip in clips]
    lengths = [count / rate for count in frames]
    fade = overlap / rate
    has_audio = any(clip.audio_offset is not None for clip in clips)
    chains = []
    for i, count in enumerate(frames):
        chain = (
            f"[{i}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
            f"fps={rate.numerator}/{rate.denominator},format=yuv420p,"
            f"tpad=stop_mode=clone:stop={count},trim=end_frame={count},setpts=PTS-STARTPTS"
        )
        if transition == "fade":
            if i > 0:
                chain += f",fade=t=in:st=0:d={float(fade):.6f}"
            if i < len(clips) - 1:
                chain += f",fade=t=out:st={float(lengths[i] - fade):.6f}:d={float(fade):.6f}"
        chains.append(f"{chain}[v{i}]")
    audio_chains, audio_labels = [], []
    if has_audio:
        audio_chains, audio_labels = audio_graph(clips, list(range(len(clips))), lengths)
        if transition == "fade":
            audio_chains = [
                _with_audio_fades(chain, i, len(clips), lengths[i], fade)
                for i, chain in enumerate(audio_chains)
            ]
    graph = [*chains, *audio_chains]
    if transition == "crossfade":
        graph += _crossfades(lengths, fade, audio_labels)
    else:
        pairs = "".join(
            f"[v{i}]" + (f"[{audio_labels[i]}]" if has_audio else "") for i in range(len(clips))
        )
        graph.append(f"{pairs}concat=n={len(clips)}:v=1:a={int(has_audio)}[v]" +
                     ("[a]" if has_audio else ""))  # fmt: skip
    total_frames = sum(frames) - (overlap * (len(clips) - 1) if transition == "crossfade" else 0)
    total = Fraction(total_frames) / rate
    script = ctx.workdir / "graph.txt"
    script.write_text(";\n".join(graph), encoding="utf-8")

    def build(encoder: EncoderConfig) -> list[str]:
        inputs = [arg for clip in clips for arg in (*encoder.decode_args(), "-i", clip.path.name)]
        return [
            "ffmpeg", *inputs, "-filter_complex_script", script.name, "-map", "[v]",
            *(["-map", "[a]", *_AUDIO_ARGS] if has_audio else []),
            *encoder.encode_args(), "-frames:v", str(total_frames),
            *_container_args(suffix), "-f", _MUXERS[suffix], output.name,
        ]  # fmt: skip

    encoder = run_encode(ctx, build, duration_s=float(total), span=(30.0, 90.0))
    return encoder, total


def _with_audio_fades(chain: str, i: int, count: int, length: Fraction, fade: Fraction) -> str:
    body, label = chain.rsplit("[", 1)
    if i > 0:
        body += f",afade=t=in:st=0:d={float(fade):.6f}"
    if i < count - 1:
        body += f",afade=t=out:st={float(length - fade):.6f}:d={float(fade):.6f}"
    return f"{body}[{label}"


def _crossfades(lengths: list[Fraction], fade: Fraction, audio_labels: list[str]) -> list[str]:
    steps = []
    video, audio = "v0", audio_labels[0] if audio_labels else None
    elapsed = lengths[0]
    for i in range(1, len(lengths)):
        offset = elapsed - fade
        last = i == len(lengths) - 1
        out = "v" if last else f"x{i}"
        steps.append(
            f"[{video}][v{i}]xfade=transition=fade:duration={float(fade):.6f}:"
            f"offset={float(offset):.6f}[{out}]"
        )
        video = out
        if audio is not None:
            audio_out = "a" if last else f"y{i}"
            samples = round(fade * SAMPLE_RATE)
            steps.append(f"[{audio}][{audio_labels[i]}]acrossfade=ns={samples}[{audio_out}]")
            audio = audio_out
        elapsed = offset + lengths[i]
    return steps


def _transition_frames(clips: list[Clip], transition: str, fields: dict[str, Any], rate) -> int:
    if transition == "none":
        return 0
    seconds = fields.get("transition_duration", DEFAULT_TRANSITION_S)
    frames = max(1, round(seconds * rate))
    shortest = min(clips, key=lambda clip: clip.duration)
    if 2 * frames > round(shortest.duration * rate):
        raise InputError(
            f"transition_duration: {seconds} s is more than half of clip {shortest.index + 1} "
            f"({float(shortest.duration):.3f} s)",
            field="transition_duration",
        )
    return frames


def _size(resolution: str | None) -> tuple[int, int] | None:
    if resolution is None:
        return None
    width, height = (int(part) for part in resolution.split("x"))
    if width % 2 or height % 2:
        raise InputError(
            f"resolution: {resolution} must have an even width and height (H.264 4:2:0)",
            field="resolution",
        )
    return width, height


def _even(width: int, height: int) -> tuple[int, int]:
    return width - width % 2, height - height % 2


def _size_of(clip: Clip) -> str:
    return f"{clip.video.width}x{clip.video.height}"


def _start(stream: dict[str, Any]) -> float:
    try:
        return float(stream.get("start_time") or 0)
    except ValueError:
        return 0.0


def _tag_args(clip: Clip, suffix: str) -> list[str]:
    return ["-tag:v", "hvc1"] if clip.video.codec == "hevc" and suffix != ".mkv" else []


def _container_args(suffix: str) -> list[str]:
    return [] if suffix == ".mkv" else ["-movflags", "+faststart"]
