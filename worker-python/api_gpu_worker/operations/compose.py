"""compose: a finished video from images, a narration, music and captions, in one job.

What the separate jobs do in sequence (img2vid, concat_video_audio, trilhasonora, caption with
auto_captions), done here with no intermediate file uploaded, downloaded or encoded:

1. The images, the narration, the music and a subtitle file are fetched in parallel and checked.
2. ``captions.auto``: the narration (not a mixed track: the music would only hinder Whisper) is
   transcribed by this worker's warm faster-whisper; the words are laid out by `caption_ass` in
   the ``style`` given (or its preset, or the default look), as /video/caption does with a style.
   ``url_words`` / ``url_srt`` are laid out the same way.
3. The audio: the narration alone (copied when the container takes its codec, else AAC), or with
   ``music`` the mix of `music_bed` (the narration's level untouched, the music a loudness gap
   below it, looped with crossfaded seams, faded, ducked while the narration speaks) encoded once
   to AAC.
4. The picture: every image's Ken Burns frames rendered straight into ONE FFmpeg's stdin
   (`compose_timeline`), the captions burnt by libass in the same filter graph, encoded once,
   muxed with the audio. The video is encoded exactly once: that is what the separate jobs cannot
   do (img2vid encodes, concat_video_audio decodes and encodes again, caption a third time).

Durations: the narration sets the length and is never cut; the video has
``round(narration x 24)`` frames. Images shorter in total extend the last image to the end;
images longer are cut at the narration's end (see `compose_timeline`). The result says which
(``duration_fit``) and every duration. A narration more than twice the images' total (plus 10 s) is
refused: the job's deadline and the admission limits are reckoned from the images' durations.

``return_intermediates``: the silent video (no captions; encoded by the same FFmpeg as a second
output when captions are burnt, else the result's video stream copied), the mixed audio (with
music) and the transcript files (segments.srt, words.json... with ``captions.auto``) are
uploaded under ``path`` too.

Progress: fetching 0-5%, transcription 5-35% (when auto), audio to 40%, frames to 96%, uploads
to 100%.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .. import kenburns, music_bed
from ..caption_ass import ass_script
from ..caption_style import CaptionStyle, caption_style
from ..caption_words import (
    TimedCaption,
    from_subtitles,
    from_transcript,
    from_words_json,
    looks_like_words_json,
)
from ..compose_timeline import Timeline, TimelinePlan, plan_shots
from ..contract import caption_presets
from ..encoders import EncoderConfig
from ..errors import InputError, MediaError
from ..fetch import fetch
from ..fonts import resolve_font
from ..frame_encode import encode_with_fallback, pipe_frames
from ..job import JobContext
from ..media import AudioInfo, require_audio, require_image
from ..output_check import require_playable_video
from ..storage import content_type_for, object_key
from ..subtitle_limits import bound_subtitles
from ..subtitles import SubtitleError, parse_subtitles, seconds_to_ms
from ..whisper import DecodingOptions, Transcript
from ..work_limits import check_transcribe_length
from .addaudio import audio_codec_args
from .caption import MAX_SUBTITLE_BYTES, subtitles_filter
from .concatenate import DEFAULT_TRANSITION_S
from .img2vid import motion_for
from .transcribe import check_language, resolve_whisper_model, transcribe_file, upload_transcript
from .trilhasonora import DEFAULT_DUCKING_DB, DEFAULT_GAP_LU

_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
_AAC = ["-c:a", "aac", "-b:a", "192k"]
_FETCHED = 5.0
_TRANSCRIBED = 35.0
_AUDIO_READY = 40.0
_FRAMES_DONE = 96.0
# The narration may outlast the images by this much before the request is refused.
_MAX_HOLD_FACTOR = 2.0
_MAX_HOLD_SLACK_S = 10.0
SILENT_VIDEO_NAME = "video_sem_audio.mp4"
MIXED_AUDIO_NAME = "audio_mixado.m4a"


@dataclass(frozen=True)
class _Inputs:
    narration: Path
    narration_info: AudioInfo
    images: list[Path]
    music: Path | None
    music_duration: float | None
    subtitles: tuple[str, bytes] | None


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    captions = fields.get("captions")
    style, font, transcription = _prepare_captions(captions)
    size = kenburns.SIZES[fields.get("resolution", "1920x1080")]
    frames = [_image_frames(index, image) for index, image in enumerate(fields["images"])]
    transition = fields.get("transition", "none")
    overlap = _overlap_frames(frames, transition, fields)

    inputs = _fetch_inputs(fields, ctx)
    ctx.progress(_FETCHED)
    if transcription is not None:
        check_transcribe_length(
            inputs.narration_info.duration,
            transcription.resolved.name,
            transcription.transcriber.device.device,
            "narration_url",
            ctx.settings,
        )
    total_frames = max(1, kenburns.frame_count(inputs.narration_info.duration))
    motions = [
        motion_for(image, index, fields.get("zoom_types", []))
        for index, image in enumerate(fields["images"])
    ]
    plan = plan_shots(frames, inputs.images, motions, total_frames, transition, overlap)
    _check_hold(plan, inputs.narration_info.duration)

    result: dict[str, Any] = {}
    subtitles_file = None
    if captions is not None:
        caption, transcript = _timed_caption(captions, inputs, transcription, ctx)
        subtitles_file = ctx.workdir / "subs.ass"
        subtitles_file.write_text(
            ass_script(caption, style or CaptionStyle(), size[0], size[1]), encoding="utf-8"
        )
        result["word_timing"] = caption.timing
        result["font"] = font
        if transcript is not None:
            result["transcript"] = {"language": transcript.language, "model": transcript.model}
    else:
        transcript = None
    ctx.check_cancelled()

    filename = fields["output_filename"]
    suffix = PurePosixPath(filename).suffix.lower()
    audio, audio_args, mix = _audio(inputs, fields.get("music"), suffix, ctx)
    ctx.progress(_AUDIO_READY)
    intermediates = fields.get("return_intermediates", False)
    output = ctx.outdir / f"output{suffix}"
    silent = ctx.outdir / SILENT_VIDEO_NAME if intermediates and subtitles_file else None
    timeline = Timeline(
        plan, size, fields.get("fit", "cover"), transition, overlap, lambda i: f"images[{i}]"
    )
    encoder = _encode(timeline, audio, audio_args, subtitles_file, output, silent, suffix, ctx)
    require_playable_video(output, "video_url")

    path = fields["path"]
    url = ctx.storage.upload(output, object_key(path, filename), content_type_for(filename))
    narration_s = inputs.narration_info.duration
    result = {
        "video_url": url,
        "filename": filename,
        "encoder": encoder.name,
        "duration": round(total_frames / kenburns.FPS, 6),
        "narration_duration": round(narration_s, 6),
        "images_duration": round(plan.images_frames / kenburns.FPS, 6),
        "duration_fit": plan.duration_fit,
        "images_shown": len(plan.shots),
        **result,
    }
    if mix is not None:
        result["mix"] = mix
    if intermediates:
        result["intermediates"] = _upload_intermediates(
            output, silent, audio if mix is not None else None, transcript, path, ctx
        )
    if "id_roteiro" in fields:
        result["id_roteiro"] = fields["id_roteiro"]
    ctx.progress(100.0, force=True)
    return result


def _image_frames(index: int, image: dict[str, Any]) -> int:
    frames = kenburns.frame_count(image["duracao"])
    if frames < 1:
        field = f"images[{index}].duracao"
        raise InputError(
            f"{field}: {image['duracao']} s is shorter than one frame at {kenburns.FPS} fps",
            field=field,
        )
    return frames


def _overlap_frames(frames: list[int], transition: str, fields: dict[str, Any]) -> int:
    """The transition in whole frames; at most half of the shortest image, so no more than two
    images are ever on screen at once."""
    if transition == "none":
        return 0
    seconds = fields.get("transition_duration", DEFAULT_TRANSITION_S)
    overlap = max(1, round(seconds * kenburns.FPS))
    shortest = min(range(len(frames)), key=frames.__getitem__)
    if overlap * 2 > frames[shortest]:
        raise InputError(
            f"transition_duration: {seconds} s is more than half of images[{shortest}] "
            f"({frames[shortest] / kenburns.FPS:.3f} s)",
            field="transition_duration",
        )
    return overlap


def _check_hold(plan: TimelinePlan, narration_s: float) -> None:
    images_s = plan.images_frames / kenburns.FPS
    limit = images_s * _MAX_HOLD_FACTOR + _MAX_HOLD_SLACK_S
    if narration_s > limit:
        raise MediaError(
            f"narration_url: the narration lasts {narration_s:.1f} s, more than twice the images' "
            f"{images_s:.1f} s plus {_MAX_HOLD_SLACK_S:g} s ({limit:.1f} s); give the images "
            "durations that cover it",
            field="narration_url",
        )


@dataclass(frozen=True)
class _Transcription:
    resolved: Any
    transcriber: Any
    language: str | None


def _prepare_captions(
    captions: dict[str, Any] | None,
) -> tuple[CaptionStyle | None, str | None, _Transcription | None]:
    """Style, font and whisper model resolved before anything is downloaded."""
    if captions is None:
        return None, None, None
    style = None
    if "style" in captions:
        try:
            style = caption_style(captions["style"], caption_presets())
        except InputError as error:
            raise InputError(f"captions.{error.message}", field=f"captions.{error.field}") from None
    font = resolve_font((style or CaptionStyle()).font_name, "captions.style.font.name")
    if "url_words" in captions or "url_srt" in captions:
        return style, font, None
    options = captions["auto"] if isinstance(captions.get("auto"), dict) else {}
    language = options.get("language")
    try:
        resolved = resolve_whisper_model(options.get("model"), language)
    except InputError as error:
        field = f"captions.auto.{error.field}"
        raise InputError(f"captions.auto.{error.message}", field=field) from None
    transcriber = check_language(resolved, language, "captions.auto.language")
    return style, font, _Transcription(resolved, transcriber, language)


def _fetch_inputs(fields: dict[str, Any], ctx: JobContext) -> _Inputs:
    captions = fields.get("captions") or {}
    subtitle_field = next((f for f in ("url_words", "url_srt") if f in captions), None)
    workers = max(2, min(ctx.settings.batch_size, len(fields["images"]) + 2))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="compose-fetch") as pool:
        narration_job = pool.submit(_fetch_audio, fields["narration_url"], "narration", ctx)
        music = fields.get("music")
        music_job = pool.submit(_fetch_audio, music["url"], "music", ctx) if music else None
        subtitles_job = (
            pool.submit(_fetch_subtitles, captions[subtitle_field], subtitle_field, ctx)
            if subtitle_field
            else None
        )
        image_jobs = [
            pool.submit(_fetch_image, index, image["image_url"], ctx)
            for index, image in enumerate(fields["images"])
        ]
        narration, narration_info = narration_job.result()
        music_path, music_info = music_job.result() if music_job else (None, None)
        return _Inputs(
            narration=narration,
            narration_info=narration_info,
            images=[job.result() for job in image_jobs],
            music=music_path,
            music_duration=music_info.duration if music_info else None,
            subtitles=(subtitle_field, subtitles_job.result()) if subtitles_job else None,
        )


def _fetch_audio(url: str, name: str, ctx: JobContext) -> tuple[Path, AudioInfo]:
    field = "narration_url" if name == "narration" else "music.url"
    path = fetch(url, ctx.workdir / name, ctx, field=field)
    return path, require_audio(path, field, ctx.settings)


def _fetch_image(index: int, url: str, ctx: JobContext) -> Path:
    field = f"images[{index}].image_url"
    path = fetch(url, ctx.workdir / f"image_{index + 1}", ctx, field=field)
    require_image(path, field, ctx.settings)
    return path


def _fetch_subtitles(url: str, source: str, ctx: JobContext) -> bytes:
    field = f"captions.{source}"
    path = fetch(url, ctx.workdir / "input-subtitles", ctx, field=field)
    if path.stat().st_size > MAX_SUBTITLE_BYTES:
        raise MediaError(
            f"{field}: the subtitle file is larger than {MAX_SUBTITLE_BYTES // (1024 * 1024)} MB",
            field=field,
        )
    return path.read_bytes()


def _timed_caption(
    captions: dict[str, Any],
    inputs: _Inputs,
    transcription: _Transcription | None,
    ctx: JobContext,
) -> tuple[TimedCaption, Transcript | None]:
    if inputs.subtitles is not None:
        source, data = inputs.subtitles
        field = f"captions.{source}"
        try:
            if source == "url_words" or looks_like_words_json(data):
                return from_words_json(data, field), None
            subtitles = parse_subtitles(data, field)
            bound_subtitles(subtitles, field)
        except SubtitleError as error:
            raise MediaError(error.message, field=error.field) from None
        return from_subtitles(subtitles), None
    assert transcription is not None  # noqa: S101 (no subtitle file means auto, by the contract)
    options = DecodingOptions(language=transcription.language, vad=True, beam_size=5)
    transcript = transcribe_file(
        transcription.transcriber,
        inputs.narration,
        transcription.resolved,
        options,
        ctx,
        span=(_FETCHED, _TRANSCRIBED),
    )
    words = [
        (word.text, seconds_to_ms(word.start), seconds_to_ms(word.end))
        for segment in transcript.segments
        for word in segment.words
    ]
    caption = from_transcript(words)
    if not caption.blocks:
        raise MediaError(
            "captions.auto: no speech was found in the narration", field="captions.auto"
        )
    return caption, transcript


def _audio(
    inputs: _Inputs, music: dict[str, Any] | None, suffix: str, ctx: JobContext
) -> tuple[Path, list[str], dict[str, float] | None]:
    """The audio track to mux and how: the narration as it is, or mixed with the music."""
    narration = inputs.narration_info
    if inputs.music is None or music is None:
        args = audio_codec_args(narration, suffix, narration.duration, 1 / kenburns.FPS)
        return inputs.narration, args, None
    mixed = ctx.workdir / "mix.m4a"
    length = narration.duration
    levels = music_bed.plan_levels(
        ctx,
        inputs.narration,
        inputs.music,
        music.get("volume_reduction_db", DEFAULT_GAP_LU),
        music.get("ducking_db", DEFAULT_DUCKING_DB),
    )
    spans = music_bed.speech_spans(ctx, inputs.narration, length)
    copies = music_bed.loop_copies(inputs.music_duration, length)
    graph = music_bed.music_graph(
        list(range(1, copies + 1)),
        inputs.music_duration,
        length,
        levels.music_gain_db,
        music_bed.ducking_expression(spans, levels.ducking_db),
    )
    music_inputs = [arg for _ in range(copies) for arg in ("-i", inputs.music.name)]
    ctx.run(
        [
            "ffmpeg", "-i", inputs.narration.name, *music_inputs,
            "-filter_complex", music_bed.mix_graph("0:a:0", graph),
            "-map", "[mix]", *_AAC, "-f", "mp4", mixed.name,
        ],
        duration_s=length,
        span=(_TRANSCRIBED, _AUDIO_READY),
    )  # fmt: skip
    return mixed, ["-c:a", "copy"], levels.to_dict()


def _encode(
    timeline: Timeline,
    audio: Path,
    audio_args: list[str],
    subtitles: Path | None,
    output: Path,
    silent: Path | None,
    suffix: str,
    ctx: JobContext,
) -> EncoderConfig:
    """One FFmpeg: raw frames on stdin, captions burnt, audio muxed."""

    def encode(encoder: EncoderConfig) -> None:
        _encode_with(encoder, timeline, audio, audio_args, subtitles, output, silent, suffix, ctx)

    return encode_with_fallback(ctx, encode)


def _encode_with(
    encoder: EncoderConfig,
    timeline: Timeline,
    audio: Path,
    audio_args: list[str],
    subtitles: Path | None,
    output: Path,
    silent: Path | None,
    suffix: str,
    ctx: JobContext,
) -> None:
    # The pipe carries exactly the planned frames: no -frames:v, which would end the whole output
    # at the last frame and cut the narration's copied audio short.
    video_out = ["-map", "0:v"]
    graph: list[str] = []
    if subtitles is not None and silent is not None:
        graph = ["-filter_complex", f"[0:v]split=2[c][s];[c]{subtitles_filter(subtitles.name)}[v]"]
        video_out = ["-map", "[v]"]
    elif subtitles is not None:
        graph = ["-filter_complex", f"[0:v]{subtitles_filter(subtitles.name)}[v]"]
        video_out = ["-map", "[v]"]
    faststart = [] if suffix == ".mkv" else ["-movflags", "+faststart"]
    second = (
        [
            "-map", "[s]", *encoder.encode_args(), *kenburns.COLOR_ARGS,
            "-an", "-movflags", "+faststart", "-f", "mp4", str(silent),
        ]
        if silent is not None
        else []
    )  # fmt: skip
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        *kenburns.raw_input_args(timeline.size), "-i", "pipe:0", "-i", audio.name, *graph,
        *video_out, "-map", "1:a:0", *encoder.encode_args(), *kenburns.COLOR_ARGS,
        *audio_args, *faststart, "-f", _MUXERS[suffix], str(output),
        *second,
    ]  # fmt: skip
    span = _FRAMES_DONE - _AUDIO_READY
    pipe_frames(
        ctx,
        command,
        lambda: timeline,
        timeline.frames,
        on_frame=lambda count: ctx.progress(_AUDIO_READY + span * count / timeline.frames),
        stop=ctx.cancelled,
    )


def _upload_intermediates(
    output: Path,
    silent: Path | None,
    mixed_audio: Path | None,
    transcript: Transcript | None,
    path: str,
    ctx: JobContext,
) -> dict[str, Any]:
    if silent is None:
        silent = ctx.outdir / SILENT_VIDEO_NAME
        ctx.run(["ffmpeg", "-i", str(output), "-map", "0:v:0", "-c", "copy", "-movflags",
                 "+faststart", "-f", "mp4", str(silent)])  # fmt: skip
    require_playable_video(silent, "intermediates.video_url")
    uploaded: dict[str, Any] = {
        "video_url": ctx.storage.upload(silent, object_key(path, SILENT_VIDEO_NAME), "video/mp4")
    }
    if mixed_audio is not None:
        uploaded["audio_url"] = ctx.storage.upload(
            mixed_audio, object_key(path, MIXED_AUDIO_NAME), "audio/mp4"
        )
    if transcript is not None:
        uploaded["transcript_files"] = upload_transcript(transcript, path, ctx)
    return uploaded
