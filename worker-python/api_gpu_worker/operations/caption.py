"""caption: burn subtitles into a video with libass; the audio is copied as it is.

The one exception: audio the output container cannot carry (PCM from a MOV into an MP4, say) is
encoded to AAC rather than failing the job.

Where the captions come from: ``url_words`` (a words.json of /transcribe), ``url_srt`` (SRT, ASS,
or a words.json too), or, with neither, ``auto_captions``: the video's own speech transcribed on
this worker by the warm faster-whisper, its transcript files uploaded beside the video. Without a
``style``, an SRT or ASS is burnt in as it is (SRT cues in libass's default look, as the replaced
service's ``subtitles=file.srt`` gave; ASS keeps its styles and ``{\\k}`` timing). With a
``style``, or from words, the captions are written as a new ASS by ``caption_ass``: word-level
kinds, paging and a layout relative to the frame; the result says ``word_timing``.

The subtitles are checked and written to ``subs.srt`` or ``subs.ass`` in the job's work
directory, which is FFmpeg's working directory, so the filtergraph only ever names that fixed file
and no URL or file name reaches it."""

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..caption_ass import ass_script
from ..caption_style import CaptionStyle, caption_style, filter_value
from ..caption_words import (
    TimedCaption,
    from_subtitles,
    from_transcript,
    from_words_json,
    looks_like_words_json,
)
from ..contract import caption_presets
from ..encoders import EncoderConfig
from ..errors import InputError, MediaError
from ..fetch import fetch
from ..fonts import SRT_DEFAULT_FONT, ass_style_fonts, resolve_font, resolve_fonts
from ..job import JobContext, run_encode
from ..media import VideoInfo, probe, require_video
from ..output_check import require_playable_video
from ..storage import content_type_for, object_key
from ..subtitle_limits import bound_subtitles
from ..subtitles import SubtitleError, parse_subtitles, seconds_to_ms
from ..whisper import DecodingOptions, Transcriber
from ..whisper_models import ResolvedModel
from .transcribe import (
    check_language,
    resolve_whisper_model,
    transcribe_file,
    upload_transcript,
)

MAX_SUBTITLE_BYTES = 20 * 1024 * 1024
_FASTSTART_SUFFIXES = {".mp4", ".m4v", ".mov"}
_CARRIED_AUDIO = {
    ".mp4": {"aac", "mp3", "alac", "ac3", "eac3"},
    ".m4v": {"aac", "mp3", "alac", "ac3", "eac3"},
    ".mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le"},
}
_AAC = ["-c:a", "aac", "-b:a", "192k"]
_FETCH_SPAN = 5.0
_ENCODE_SPAN = (5.0, 97.0)
_TRANSCRIBED = 40.0
_ENCODE_AFTER_TRANSCRIPTION = (_TRANSCRIBED, 97.0)


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    style = None
    font = None
    if "style" in fields:
        style = caption_style(fields["style"], caption_presets())
        # Resolved before any download: an unknown font is the caller's mistake, found at once.
        font = resolve_font(style.font_name, "style.font.name")
    source = _subtitle_source(fields)
    transcription = _prepare_transcription(fields["auto_captions"]) if source is None else None

    video = fetch(fields["url_video"], ctx.workdir / "input-video", ctx, field="url_video")
    info = require_video(video, "url_video", ctx.settings)
    ctx.progress(_FETCH_SPAN / 2)
    result: dict[str, Any] = {}
    if source is None:
        caption, result["transcript"] = _auto_captions(transcription, video, info, fields, ctx)
        subtitles_file = None
    else:
        caption, subtitles_file = _read_subtitles(fields, source, style, ctx)
    if font is None:
        font = _unstyled_font(caption, subtitles_file)
    if caption is not None:
        subtitles_file = ctx.workdir / "subs.ass"
        width, height = _display_size(video, info)
        script = ass_script(caption, style or CaptionStyle(), width, height)
        subtitles_file.write_text(script, encoding="utf-8")
        result["word_timing"] = caption.timing
    if transcription is None:
        ctx.progress(_FETCH_SPAN)

    output_filename = fields["output_filename"]
    suffix = PurePosixPath(output_filename).suffix.lower()
    output = ctx.outdir / f"output{suffix}"
    video_filter = subtitles_filter(subtitles_file.name)
    carried = _CARRIED_AUDIO.get(suffix)
    audio_args = (
        _AAC if carried is not None and info.audio_codec not in carried else ["-c:a", "copy"]
    )

    def command(encoder: EncoderConfig) -> list[str]:
        return [
            "ffmpeg", "-nostdin", "-y", *encoder.decode_args(), "-i", video.name,
            "-map", "0:v:0", "-map", "0:a?", "-vf", video_filter,
            *encoder.encode_args(), *audio_args,
            *(["-movflags", "+faststart"] if suffix in _FASTSTART_SUFFIXES else []),
            str(output),
        ]  # fmt: skip

    encode_span = _ENCODE_SPAN if transcription is None else _ENCODE_AFTER_TRANSCRIPTION
    encoder = run_encode(ctx, command, duration_s=info.duration, span=encode_span)
    ctx.check_cancelled()
    require_playable_video(output, "video_url")
    key = object_key(fields["path"], output_filename)
    url = ctx.storage.upload(output, key, content_type_for(output_filename))
    return {
        "video_url": url,
        "filename": output_filename,
        "encoder": encoder.name,
        "font": font,
        **result,
    }


def _unstyled_font(caption: TimedCaption | None, subtitles_file: Path | None) -> str | None:
    """The family libass draws without a style: the generated ASS's default, the ASS file's own
    (libass would silently draw a font it cannot find in a fallback family: refused instead), or
    libass's default for SRT."""
    if caption is not None:
        return resolve_font(CaptionStyle().font_name, "style.font.name")
    if subtitles_file is not None and subtitles_file.suffix == ".ass":
        names = ass_style_fonts(subtitles_file.read_text(encoding="utf-8"))
        return next(iter(resolve_fonts(names, "url_srt")), None)
    return resolve_font(SRT_DEFAULT_FONT, "url_srt")


def _display_size(video: Path, info: VideoInfo) -> tuple[int, int]:
    """The frame as FFmpeg decodes it: a phone's portrait video is often stored landscape with a
    rotation of 90 degrees, which FFmpeg applies before the subtitles filter sees the frame."""
    streams = (probe(video) or {}).get("streams", [])
    stream = next((s for s in streams if s.get("codec_type") == "video"), {})
    rotations = [
        side.get("rotation") for side in stream.get("side_data_list", []) if "rotation" in side
    ]
    rotation = rotations[0] if rotations else stream.get("tags", {}).get("rotate", 0)
    try:
        quarter_turn = int(float(rotation)) % 180 == 90
    except (TypeError, ValueError):
        quarter_turn = False
    return (info.height, info.width) if quarter_turn else (info.width, info.height)


def _subtitle_source(fields: dict[str, Any]) -> str | None:
    """The field the subtitles come from; None when they are to be transcribed."""
    for field in ("url_words", "url_srt"):
        if field in fields:
            return field
    if "auto_captions" not in fields:
        raise InputError("url_srt is required", field="url_srt")
    return None


def _read_subtitles(
    fields: dict[str, Any], source: str, style: CaptionStyle | None, ctx: JobContext
) -> tuple[TimedCaption | None, Path | None]:
    """Words to lay out, or (no style, plain SRT or ASS) the file to burn as it is."""
    download = fetch(fields[source], ctx.workdir / "input-subtitles", ctx, field=source)
    if download.stat().st_size > MAX_SUBTITLE_BYTES:
        raise MediaError(
            f"{source}: the subtitle file is larger than {MAX_SUBTITLE_BYTES // (1024 * 1024)} MB",
            field=source,
        )
    data = download.read_bytes()
    try:
        if source == "url_words" or looks_like_words_json(data):
            return from_words_json(data, source), None
        subtitles = parse_subtitles(data, source)
    except SubtitleError as error:
        raise MediaError(error.message, field=error.field) from None
    bounded = bound_subtitles(subtitles, source)
    if style is not None:
        return from_subtitles(subtitles), None
    subtitles_file = ctx.workdir / f"subs{subtitles.suffix}"
    subtitles_file.write_bytes(bounded)
    return None, subtitles_file


@dataclass(frozen=True)
class _Transcription:
    resolved: ResolvedModel
    transcriber: Transcriber
    language: str | None


def _prepare_transcription(options: dict[str, Any]) -> _Transcription:
    """The model resolved (and its language checked) before anything is downloaded."""
    language = options.get("language")
    try:
        resolved = resolve_whisper_model(options.get("model"), language)
    except InputError as error:
        field = f"auto_captions.{error.field}"
        raise InputError(f"auto_captions.{error}", field=field) from None
    transcriber = check_language(resolved, language, "auto_captions.language")
    return _Transcription(resolved, transcriber, language)


def _auto_captions(
    transcription: _Transcription,
    video: Path,
    info: VideoInfo,
    fields: dict[str, Any],
    ctx: JobContext,
) -> tuple[TimedCaption, dict[str, Any]]:
    """The video's speech transcribed on this worker; its files are uploaded beside the video."""
    if info.audio_codec is None:
        raise InputError(
            "auto_captions: the video has no audio track to transcribe", field="auto_captions"
        )
    options = DecodingOptions(language=transcription.language, vad=True, beam_size=5)
    transcript = transcribe_file(
        transcription.transcriber,
        video,
        transcription.resolved,
        options,
        ctx,
        span=(_FETCH_SPAN / 2, _TRANSCRIBED),
    )
    words = [
        (word.text, seconds_to_ms(word.start), seconds_to_ms(word.end))
        for segment in transcript.segments
        for word in segment.words
    ]
    caption = from_transcript(words)
    if not caption.blocks:
        raise InputError("auto_captions: no speech was found in the video", field="auto_captions")
    files = upload_transcript(transcript, fields["path"], ctx)
    return caption, {
        "language": transcript.language,
        "model": transcript.model,
        "files": files,
    }


def subtitles_filter(subtitles_name: str) -> str:
    """The ``subtitles`` filter for a file in FFmpeg's working directory, its name escaped."""
    return f"subtitles=filename={filter_value(subtitles_name)}"
