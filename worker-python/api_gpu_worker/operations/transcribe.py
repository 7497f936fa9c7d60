"""transcribe: faster-whisper on the audio, then SRT, WebVTT, karaoke, LRC and JSON files uploaded.

The model is resolved before anything is downloaded, so an unknown model costs no download; it
stays loaded in the process's transcriber for the next job.
"""

from pathlib import Path
from typing import Any

from ..errors import InputError, JobCancelled, JobError
from ..fetch import fetch
from ..job import JobContext
from ..media import require_audio
from ..settings import ConfigError
from ..storage import object_key
from ..subtitles import (
    TranscriptMetadata,
    count_cues,
    count_words,
    karaoke_ass,
    karaoke_vtt,
    lyrics_lrc,
    segments_srt,
    segments_vtt,
    transcript_text,
    words_json,
)
from ..whisper import (
    DecodingOptions,
    Transcriber,
    Transcript,
    TranscriptionStopped,
    shared_transcriber,
)
from ..whisper_models import (
    BundledModelError,
    EnglishOnlyModelError,
    ModelAliasesError,
    ResolvedModel,
    WhisperDeviceError,
    WhisperModelError,
    resolve_model,
)
from ..work_limits import check_transcribe_length

SRT_TYPE = "application/x-subrip; charset=utf-8"
ASS_TYPE = "text/x-ssa; charset=utf-8"
VTT_TYPE = "text/vtt; charset=utf-8"
LRC_TYPE = "application/x-lrc; charset=utf-8"
JSON_TYPE = "application/json"
_FETCHED = 3.0
_TRANSCRIBED = 95.0


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    language = fields.get("language")
    resolved = resolve_whisper_model(fields.get("model"), language)
    transcriber = check_language(resolved, language, "language")
    options = DecodingOptions(
        language=language,
        vad=fields.get("enable_vad", True),
        beam_size=fields.get("beam_size", 5),
        temperature=float(fields.get("temperature", 0.0)),
        initial_prompt=fields.get("prompt"),
        task=fields.get("task", "transcribe"),
    )

    audio = fetch(fields["audio_url"], ctx.workdir / "input-audio", ctx, field="audio_url")
    info = require_audio(audio, "audio_url", ctx.settings)
    check_transcribe_length(
        info.duration, resolved.name, transcriber.device.device, "audio_url", ctx.settings
    )
    ctx.progress(_FETCHED)
    transcript = transcribe_file(
        transcriber, audio, resolved, options, ctx, span=(_FETCHED, _TRANSCRIBED)
    )
    files = upload_transcript(transcript, fields["path"], ctx)
    result = {
        "language": transcript.language,
        "transcription": transcript_text(transcript.segments),
        "files": files,
        "segments": count_cues(transcript.segments),
        "words": count_words(transcript.segments),
        "model": transcript.model,
        "model_requested": _requested_model(transcript),
        "device": transcript.device,
    }
    if transcriber.device.fallback:
        result["device_fallback"] = transcriber.device.fallback
    return result


def check_language(resolved: ResolvedModel, language: str | None, field: str) -> Transcriber:
    """The warm transcriber, once it is known that the model knows ``language``."""
    transcriber = _transcriber()
    if language is not None and language not in transcriber.model(resolved).supported_languages:
        raise InputError(
            f"{field} {language!r} is not one Whisper knows; use an ISO 639-1 code such as pt",
            field=field,
        )
    return transcriber


def transcribe_file(
    transcriber: Transcriber,
    media: Path,
    resolved: ResolvedModel,
    options: DecodingOptions,
    ctx: JobContext,
    span: tuple[float, float],
) -> Transcript:
    low, high = span
    try:
        transcript = transcriber.transcribe(
            media,
            resolved,
            options,
            on_progress=lambda done: ctx.progress(low + (high - low) * done),
            should_stop=ctx.cancelled.is_set,
        )
    except TranscriptionStopped:
        raise JobCancelled() from None
    ctx.check_cancelled()
    return transcript


def upload_transcript(transcript: Transcript, path: str, ctx: JobContext) -> dict[str, Any]:
    """segments.srt, words.json and (when there are words) karaoke.ass under ``path``."""
    metadata = TranscriptMetadata(
        transcript.language, transcript.model, transcript.device, _requested_model(transcript)
    )
    has_words = count_words(transcript.segments) > 0
    outputs = [
        ("segments.srt", segments_srt(transcript.segments), SRT_TYPE),
        ("segments.vtt", segments_vtt(transcript.segments), VTT_TYPE),
        ("words.json", words_json(transcript.segments, metadata), JSON_TYPE),
    ]
    if has_words:
        outputs.append(("karaoke.ass", karaoke_ass(transcript.segments), ASS_TYPE))
        outputs.append(("karaoke.vtt", karaoke_vtt(transcript.segments), VTT_TYPE))
        outputs.append(("lyrics.lrc", lyrics_lrc(transcript.segments), LRC_TYPE))
    urls = {}
    for filename, content, content_type in outputs:
        local = ctx.outdir / filename
        local.write_bytes(content)
        urls[filename] = ctx.storage.upload(local, object_key(path, filename), content_type)

    files: dict[str, Any] = {
        "segments": {
            "srt": urls["segments.srt"],
            "vtt": urls["segments.vtt"],
            "json": urls["words.json"],
        }
    }
    if has_words:
        files["words"] = {
            "ass_karaoke": urls["karaoke.ass"],
            "vtt_karaoke": urls["karaoke.vtt"],
            "lrc": urls["lyrics.lrc"],
            "json": urls["words.json"],
        }
    return files


def _requested_model(transcript: Transcript) -> str:
    """The name the client asked for: an alias (WHISPER_MODEL_ALIASES) or the model itself."""
    return transcript.model_requested or transcript.model


def resolve_whisper_model(model: str | None, language: str | None) -> ResolvedModel:
    try:
        return resolve_model(model, language)
    except EnglishOnlyModelError as error:
        raise InputError(str(error), field="model" if model is not None else "language") from None
    except WhisperModelError as error:
        if model is None:
            raise JobError(f"WHISPER_DEFAULT_MODEL: {error}") from None
        raise InputError(str(error), field="model") from None
    except (BundledModelError, ModelAliasesError) as error:
        raise JobError(str(error)) from None


def _transcriber() -> Transcriber:
    try:
        return shared_transcriber()
    except (ConfigError, WhisperDeviceError) as error:
        raise JobError(str(error)) from None
