"""transcribe jobs end to end: espeak-ng speech, the bundled models, the three files in MinIO."""

import json
import os
import re
import subprocess
import unicodedata
import urllib.request

import pytest
import webvtt

from api_gpu_worker import whisper
from api_gpu_worker.errors import InputError, JobCancelled, MediaError
from api_gpu_worker.job import run_job
from api_gpu_worker.subtitles import parse_subtitles

ENGLISH = "Please send the weekly report to the whole team before the meeting on Friday morning."
PORTUGUESE = "Bom dia a todos. Hoje vamos falar sobre a importância do descanso e da alimentação."


def words(text: str) -> list[str]:
    unaccented = unicodedata.normalize("NFKD", text.casefold())
    return re.findall(r"[a-z0-9']+", "".join(c for c in unaccented if c.isascii()))


def recall(expected: str, heard: str) -> float:
    heard_words = set(words(heard))
    return sum(word in heard_words for word in words(expected)) / len(words(expected))


def get(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the test MinIO)
        return response.read(), response.headers["Content-Type"]


def audio_seconds(path) -> float:
    return float(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


@pytest.fixture
def model_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Model loads from now on, in a process transcriber of this test's own."""
    loaded: list[str] = []
    real = whisper.WhisperModel

    def counting(path: str, **kwargs):
        loaded.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(whisper, "WhisperModel", counting)
    whisper.shared_transcriber.cache_clear()
    yield loaded
    whisper.shared_transcriber.cache_clear()


def test_english_speech_gives_six_files_and_the_legacy_result(
    make_speech, media_server, job_context, job_path, s3, s3_keys, work_root, model_loads, tmp_path
) -> None:
    speech = make_speech(ENGLISH, "report.wav")
    duration = audio_seconds(speech)
    progress: list[float] = []

    job = {
        "operation": "transcribe",
        "audio_url": media_server.url(speech.name),
        "path": job_path,
        "model": "tiny.en",
    }
    result = run_job(job, job_context(on_progress=progress.append))

    assert recall(ENGLISH, result["transcription"]) >= 0.8, result["transcription"]
    assert (result["language"], result["model"], result["device"]) == ("en", "tiny.en", "cpu")
    assert set(result) == {
        "language",
        "transcription",
        "files",
        "segments",
        "words",
        "model",
        "model_requested",
        "device",
        "device_fallback",
        "usage",
    }
    # Whisper ran on the CPU: no GPU time.
    assert result["usage"]["gpu_s"] == 0 and result["usage"]["media_in_s"] > 0
    # No GPU here: WHISPER_DEVICE=auto ran on the CPU, and the result says why.
    assert result["device_fallback"].startswith("CPU int8 instead of CUDA: ")
    assert result["model_requested"] == "tiny.en"
    assert progress == sorted(progress) and progress[-1] == 100.0 and len(progress) >= 2
    assert list(work_root.iterdir()) == []

    bucket = os.environ["S3_BUCKET_NAME"]
    assert s3_keys(job_path) == [
        f"{job_path}{name}"
        for name in (
            "karaoke.ass",
            "karaoke.vtt",
            "lyrics.lrc",
            "segments.srt",
            "segments.vtt",
            "words.json",
        )
    ]
    expected_types = {
        "segments.srt": "application/x-subrip; charset=utf-8",
        "karaoke.ass": "text/x-ssa; charset=utf-8",
        "words.json": "application/json",
        "segments.vtt": "text/vtt; charset=utf-8",
        "karaoke.vtt": "text/vtt; charset=utf-8",
        "lyrics.lrc": "application/x-lrc; charset=utf-8",
    }
    for name, content_type in expected_types.items():
        head = s3.head_object(Bucket=bucket, Key=f"{job_path}{name}")
        assert head["ContentType"] == content_type

    files = result["files"]
    assert files["segments"]["vtt"].endswith("/segments.vtt")
    assert files["words"]["vtt_karaoke"].endswith("/karaoke.vtt")
    assert files["words"]["lrc"].endswith("/lyrics.lrc")
    assert files["segments"]["json"] == files["words"]["json"]
    srt, srt_type = get(files["segments"]["srt"])
    ass, _ = get(files["words"]["ass_karaoke"])
    document = json.loads(get(files["words"]["json"])[0])
    assert srt_type == expected_types["segments.srt"]

    cues = parse_subtitles(srt, "segments.srt").cues
    assert len(cues) == result["segments"] >= 1
    assert recall(ENGLISH, " ".join(cue.text for cue in cues)) >= 0.8
    karaoke = parse_subtitles(ass, "karaoke.ass").cues
    assert all(re.fullmatch(r"(\{\\k\d+\}[^{}]*)+", cue.text) for cue in karaoke)
    for cue in karaoke:
        sung = sum(int(k) for k in re.findall(r"\\k(\d+)", cue.text))
        assert abs(sung * 10 - (cue.end_ms - cue.start_ms)) <= 10
    assert document["metadata"] == {"language": "en", "model": "tiny.en", "device": "cpu"}
    timed = document["words"]
    assert len(timed) == result["words"] >= len(words(ENGLISH)) * 0.8
    assert " ".join(word["word"] for word in timed) == result["transcription"]

    segment_vtt = webvtt.from_string(get(files["segments"]["vtt"])[0].decode("utf-8")).captions
    karaoke_vtt = webvtt.from_string(get(files["words"]["vtt_karaoke"])[0].decode("utf-8")).captions
    assert [caption.text for caption in segment_vtt] == [cue.text for cue in cues]
    assert " ".join(caption.text for caption in karaoke_vtt) == result["transcription"]
    lrc = get(files["words"]["lrc"])[0].decode("utf-8")
    assert len(lrc.splitlines()) == len(karaoke_vtt)

    for times in (
        [(cue.start_ms / 1000, cue.end_ms / 1000) for cue in cues],
        [
            (c.start_time.in_milliseconds() / 1000, c.end_time.in_milliseconds() / 1000)
            for c in segment_vtt
        ],
        [
            (c.start_time.in_milliseconds() / 1000, c.end_time.in_milliseconds() / 1000)
            for c in karaoke_vtt
        ],
        [(cue.start_ms / 1000, cue.end_ms / 1000) for cue in karaoke],
        [(word["start"], word["end"]) for word in timed],
    ):
        starts = [start for start, _ in times]
        assert starts == sorted(starts)
        assert all(0 <= start <= end <= duration + 0.01 for start, end in times)

    assert len(model_loads) == 1


def test_a_second_job_in_the_same_process_does_not_load_the_model_again(
    make_speech, media_server, job_context, job_path, model_loads
) -> None:
    speech = make_speech(ENGLISH, "report.wav")
    for run in ("first", "second"):
        job = {
            "operation": "transcribe",
            "audio_url": media_server.url(speech.name),
            "path": f"{job_path}{run}/",
            "language": "en",
        }
        assert run_job(job, job_context())["model"] == "tiny.en"
    assert len(model_loads) == 1


def test_a_cancelled_transcription_uploads_nothing_and_the_next_job_runs(
    make_speech, media_server, job_context, job_path, s3_keys, work_root
) -> None:
    speech = make_speech(ENGLISH, "report.wav")
    job = {
        "operation": "transcribe",
        "audio_url": media_server.url(speech.name),
        "path": job_path,
        "model": "tiny.en",
    }
    contexts = []

    def cancel_once_downloaded(percent: float) -> None:
        if percent > 0:
            contexts[0].cancel()

    contexts.append(job_context(on_progress=cancel_once_downloaded))
    with pytest.raises(JobCancelled):
        run_job(job, contexts[0])

    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []
    assert run_job(job, job_context())["words"] > 0


def test_an_aliased_model_name_runs_the_model_it_names_and_says_so(
    make_speech, media_server, job_context, job_path, monkeypatch
) -> None:
    monkeypatch.setenv("WHISPER_MODEL_ALIASES", "large-v3=base")
    speech = make_speech(ENGLISH, "report.wav")
    job = {
        "operation": "transcribe",
        "audio_url": media_server.url(speech.name),
        "path": job_path,
        "model": "large-v3",
        "language": "en",
    }
    result = run_job(job, job_context())

    assert (result["model"], result["model_requested"]) == ("base", "large-v3")
    document = json.loads(get(result["files"]["words"]["json"])[0])
    assert document["metadata"] == {
        "language": "en",
        "model": "base",
        "device": "cpu",
        "model_requested": "large-v3",
    }


def test_portuguese_keeps_its_accents_in_every_file(
    make_speech, media_server, job_context, job_path
) -> None:
    speech = make_speech(PORTUGUESE, "bom dia, ação.wav", voice="pt-br")
    job = {
        "operation": "transcribe",
        "audio_url": media_server.url(speech.name),
        "path": job_path,
        "model": "base",
        "language": "pt",
        "beam_size": 2,
    }
    result = run_job(job, job_context())

    assert result["language"] == "pt"
    assert recall(PORTUGUESE, result["transcription"]) >= 0.7, result["transcription"]
    accented = [w for w in result["transcription"].split() if not w.isascii()]
    assert accented, result["transcription"]
    srt = get(result["files"]["segments"]["srt"])[0].decode("utf-8")
    ass = get(result["files"]["words"]["ass_karaoke"])[0].decode("utf-8")
    document = get(result["files"]["words"]["json"])[0].decode("utf-8")
    for word in accented:
        assert word in srt and word.strip(".,!?") in ass and word.strip(".,!?") in document


def test_translate_turns_portuguese_speech_into_english_text_and_files(
    make_speech, media_server, job_context, job_path
) -> None:
    speech = make_speech(PORTUGUESE, "tradução.wav", voice="pt-br")
    job = {
        "operation": "transcribe",
        "audio_url": media_server.url(speech.name),
        "path": job_path,
        "model": "base",
        "task": "translate",
        "prompt": "Good morning, everyone.",
        "beam_size": 2,
    }
    result = run_job(job, job_context())

    english = {
        "good",
        "morning",
        "everyone",
        "today",
        "talk",
        "about",
        "rest",
        "food",
        "importance",
    }
    said = {word.strip(".,!?").lower() for word in result["transcription"].split()}
    assert len(said & english) >= 3, result["transcription"]
    assert not said & {"hoje", "vamos", "falar", "sobre", "importância"}, result["transcription"]
    srt = get(result["files"]["segments"]["srt"])[0].decode("utf-8")
    assert any(word in srt.lower() for word in english)


def test_karaoke_from_transcribe_feeds_caption_through_its_public_url(
    make_speech, make_video, media_server, job_context, job_path, s3_keys
) -> None:
    speech = make_speech(ENGLISH, "report.wav")
    transcribed = run_job(
        {"operation": "transcribe", "audio_url": media_server.url(speech.name), "path": job_path},
        job_context(),
    )
    # No model and no language: the multilingual default, which detects the language.
    assert (transcribed["model"], transcribed["language"]) == ("base", "en")
    video = make_video("caption-under-karaoke.mp4", duration=2.0, size="320x240")
    caption = {
        "operation": "caption",
        "url_video": media_server.url(video.name),
        "url_srt": transcribed["files"]["words"]["ass_karaoke"],
        "path": job_path,
        "output_filename": "karaokê.mp4",
    }
    requests_before = len(media_server.requests)

    result = run_job(caption, job_context())

    assert f"{job_path}karaokê.mp4" in s3_keys(job_path)
    assert result["video_url"].endswith("/karaok%C3%AA.mp4")
    # The video came from the media server; the subtitles from MinIO, not over HTTP.
    assert media_server.requests[requests_before:] == [f"/{video.name}"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"model": "large-v3"}, "model", "model 'large-v3' is not available here; available: "),
        ({"model": "tiny.en", "language": "pt"}, "model", "English-only"),
        ({"model": "base", "language": "xx"}, "language", "language must be one of"),
    ],
)
def test_a_model_or_language_that_cannot_work_fails_before_any_download(
    make_speech, media_server, job_context, job_path, s3_keys, work_root, fields, field, message
) -> None:
    speech = make_speech(ENGLISH, "report.wav")
    requests_before = len(media_server.requests)
    job = {"operation": "transcribe", "audio_url": media_server.url(speech.name), "path": job_path}

    with pytest.raises(InputError) as caught:
        run_job({**job, **fields}, job_context())

    assert caught.value.field == field
    assert message in caught.value.message
    if field == "model" and "available" in message:
        assert "base" in caught.value.message and "tiny.en" in caught.value.message
    assert len(media_server.requests) == requests_before
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []


def test_a_file_that_is_not_audio_fails_naming_audio_url(
    media_server, job_context, job_path, s3_keys, work_root
) -> None:
    (media_server.root / "not-audio.mp3").write_text("isto não é áudio\n" * 100)
    job = {
        "operation": "transcribe",
        "audio_url": media_server.url("not-audio.mp3"),
        "path": job_path,
        "model": "tiny.en",
    }
    with pytest.raises(MediaError) as caught:
        run_job(job, job_context())

    assert caught.value.field == "audio_url"
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []
