"""transcribe: faster-whisper on the audio, then segments.srt, karaoke.ass and words.json uploaded.

The model is resolved before anything is downloaded, so an unknown model costs no download; it
stays loaded in the process's transcriber for the next job.
"""

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
    segments_srt,
    transcript_text,
    words_json,
)
from ..whisper import DecodingOptions, Transcriber, TranscriptionStopped, shared_transcriber
from ..whisper_models import (
    BundledModelError,
    EnglishOnlyModelError,
    ResolvedModel,
    WhisperDeviceError,
    WhisperModelError,
    resolve_model,
)
from ..work_limits import check_transcribe_length

SRT_TYPE = "application/x-subrip; charset=utf-8"
ASS_TYPE = "text/x-ssa; charset=utf-8"
JSON_TYPE = "application/json"
_FETCHED = 3.0
_TRANSCRIBED = 95.0


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    language = fields.get("language")
    resolved = _resolve(fields.get("model"), language)
    transcriber = _transcriber()
    if language is not None and language not in transcriber.model(resolved).supported_languages:
        raise InputError(
            f"language {language!r} is not one Whisper knows; use an ISO 639-1 code such as pt",
            field="language",
        )
    options = DecodingOptions(
        language=language,
        vad=fields.get("enable_vad", True),
        beam_size=fields.get("beam_size", 5),
        temperature=float(fields.get("temperature", 0.0)),
    )

    audio = fetch(fields["audio_url"], ctx.workdir / "input-audio", ctx, field="audio_url")
    info = require_audio(audio, "audio_url", ctx.settings)
    check_transcribe_length(
        info.duration, resolved.name, transcriber.device.device, "audio_url", ctx.settings
    )
    ctx.progress(_FETCHED)
    try:
        transcript = transcriber.transcribe(
            audio,
            resolved,
            options,
            on_progress=lambda done: ctx.progress(_FETCHED + (_TRANSCRIBED - _FETCHED) * done),
            should_stop=ctx.cancelled.is_set,
        )
    except TranscriptionStopped:
        raise JobCancelled() from None
    ctx.check_cancelled()

    metadata = TranscriptMetadata(transcript.language, transcript.model, transcript.device)
    word_count = count_words(transcript.segments)
    has_words = word_count > 0
    outputs = [
        ("segments.srt", segments_srt(transcript.segments), SRT_TYPE),
        ("words.json", words_json(transcript.segments, metadata), JSON_TYPE),
    ]
    if has_words:
        outputs.append(("karaoke.ass", karaoke_ass(transcript.segments), ASS_TYPE))
    urls = {}
    for filename, content, content_type in outputs:
        local = ctx.workdir / filename
        local.write_bytes(content)
        urls[filename] = ctx.storage.upload(
            local, object_key(fields["path"], filename), content_type
        )

    files: dict[str, Any] = {
        "segments": {"srt": urls["segments.srt"], "vtt": "", "json": urls["words.json"]}
    }
    if has_words:
        files["words"] = {
            "ass_karaoke": urls["karaoke.ass"],
            "vtt_karaoke": "",
            "lrc": "",
            "json": urls["words.json"],
        }
    return {
        "language": transcript.language,
        "transcription": transcript_text(transcript.segments),
        "files": files,
        "segments": count_cues(transcript.segments),
        "words": word_count,
        "model": transcript.model,
        "device": transcript.device,
    }


def _resolve(model: str | None, language: str | None) -> ResolvedModel:
    try:
        return resolve_model(model, language)
    except EnglishOnlyModelError as error:
        raise InputError(str(error), field="model" if model is not None else "language") from None
    except WhisperModelError as error:
        if model is None:
            raise JobError(f"WHISPER_DEFAULT_MODEL: {error}") from None
        raise InputError(str(error), field="model") from None
    except BundledModelError as error:
        raise JobError(str(error)) from None


def _transcriber() -> Transcriber:
    try:
        return shared_transcriber()
    except (ConfigError, WhisperDeviceError) as error:
        raise JobError(str(error)) from None
