"""The warm transcriber: a bounded LRU of loaded models, the legacy decoding, progress, stopping."""

import subprocess
import threading
from pathlib import Path

import pytest
from long_audio import sentence_every_minute

from api_gpu_worker import whisper
from api_gpu_worker.recycle import STOPPED_TRANSCRIPTION_WAIT_S
from api_gpu_worker.settings import ConfigError
from api_gpu_worker.whisper import (
    DecodingOptions,
    Transcriber,
    TranscriptionStopped,
    fallback_temperatures,
    max_loaded_models,
)
from api_gpu_worker.whisper_models import WhisperDevice, resolve_model

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."
CPU = WhisperDevice("cpu", "int8")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "fox.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), SENTENCE], check=True)
    return path


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two operator models, ``alpha`` and ``beta``, each the bundled tiny.en under another name."""
    tiny = resolve_model("tiny.en", "en").path
    for name in ("alpha", "beta"):
        (tmp_path / name).symlink_to(tiny, target_is_directory=True)
    monkeypatch.setenv("WHISPER_MODELS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The model directories loaded from now on (each a real faster-whisper model)."""
    loaded: list[Path] = []
    real = whisper.WhisperModel

    def counting(path: str, **kwargs):
        loaded.append(Path(path))
        return real(path, **kwargs)

    monkeypatch.setattr(whisper, "WhisperModel", counting)
    return loaded


def test_fallback_temperatures_step_by_a_fifth_up_to_one() -> None:
    assert fallback_temperatures(0.0) == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert fallback_temperatures(0.3) == (0.3, 0.5, 0.7, 0.9)
    assert fallback_temperatures(1.0) == (1.0,)


def test_models_stay_loaded_up_to_the_bound_least_recently_used_out(
    models_dir: Path, loads: list[Path]
) -> None:
    transcriber = Transcriber(max_loaded=2, device=CPU)
    tiny, alpha, beta = (resolve_model(name, "en") for name in ("tiny.en", "alpha", "beta"))

    first = transcriber.model(tiny)
    assert transcriber.model(tiny) is first
    transcriber.model(alpha)
    transcriber.model(tiny)
    transcriber.model(beta)

    assert loads == [tiny.path, alpha.path, beta.path]
    assert transcriber.loaded() == [tiny.path, beta.path]
    transcriber.model(alpha)
    assert loads == [tiny.path, alpha.path, beta.path, alpha.path]
    assert transcriber.loaded() == [beta.path, alpha.path]


def test_models_load_on_the_transcribers_own_thread_whichever_thread_asks(
    loads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CTranslate2 model used after its loading thread has exited runs several times slower,
    # and the local worker gives each job a thread of its own.
    threads: list[threading.Thread] = []
    real = whisper.WhisperModel

    def recording(path: str, **kwargs):
        threads.append(threading.current_thread())
        return real(path, **kwargs)

    monkeypatch.setattr(whisper, "WhisperModel", recording)
    transcriber = Transcriber(max_loaded=1, device=CPU)
    job = threading.Thread(target=transcriber.model, args=(resolve_model("tiny.en", None),))
    job.start()
    job.join()

    assert len(threads) == 1 and threads[0] is not job and threads[0].is_alive()


def test_transcribes_with_word_times_inside_the_audio_and_reports_progress(speech: Path) -> None:
    transcriber = Transcriber(max_loaded=1, device=CPU)
    progress: list[float] = []

    transcript = transcriber.transcribe(
        speech, resolve_model("tiny.en", None), DecodingOptions(), on_progress=progress.append
    )

    assert (transcript.language, transcript.model, transcript.device) == ("en", "tiny.en", "cpu")
    heard = " ".join(segment.text for segment in transcript.segments).lower()
    assert sum(word in heard for word in ("quick", "brown", "fox", "lazy", "dog", "river")) >= 5
    words = [word for segment in transcript.segments for word in segment.words]
    assert len(words) >= 10
    assert all(0 <= word.start <= word.end <= transcript.duration for word in words)
    assert progress == sorted(progress) and 0 < progress[-1] <= 1


def test_a_stop_request_ends_the_transcription_between_segments(speech: Path) -> None:
    transcriber = Transcriber(max_loaded=1, device=CPU)
    with pytest.raises(TranscriptionStopped):
        transcriber.transcribe(
            speech, resolve_model("tiny.en", None), DecodingOptions(), should_stop=lambda: True
        )


def test_a_stop_request_returns_while_the_model_thread_is_still_busy(
    speech: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loading = threading.Event()
    release = threading.Event()
    real = whisper.WhisperModel

    def stuck_loading(path: str, **kwargs):
        loading.set()
        release.wait()
        return real(path, **kwargs)

    monkeypatch.setattr(whisper, "WhisperModel", stuck_loading)
    transcriber = Transcriber(max_loaded=1, device=CPU)
    stop = threading.Event()
    outcome: list[BaseException] = []

    def transcribe() -> None:
        try:
            transcriber.transcribe(
                speech, resolve_model("tiny.en", None), DecodingOptions(), should_stop=stop.is_set
            )
        except BaseException as error:
            outcome.append(error)

    job = threading.Thread(target=transcribe)
    job.start()
    assert loading.wait(timeout=60)
    stop.set()
    job.join(timeout=60)
    stopped_while_busy = not job.is_alive()
    release.set()
    job.join()

    assert stopped_while_busy
    assert len(outcome) == 1 and isinstance(outcome[0], TranscriptionStopped)


def test_a_stopped_long_transcription_leaves_the_model_thread_idle_and_the_next_one_runs(
    speech: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    hour = sentence_every_minute(tmp_path_factory.mktemp("hour"), 60)
    tiny = resolve_model("tiny.en", None)
    transcriber = Transcriber(max_loaded=1, device=CPU)
    transcriber.model(tiny)
    progressed = threading.Event()
    stop = threading.Event()
    outcome: list[BaseException] = []

    def transcribe() -> None:
        try:
            transcriber.transcribe(
                hour,
                tiny,
                DecodingOptions(),
                on_progress=lambda fraction: progressed.set(),
                should_stop=stop.is_set,
            )
        except BaseException as error:
            outcome.append(error)

    job = threading.Thread(target=transcribe)
    job.start()
    # Decoding the whole hour first, the model's thread reported nothing for half a minute.
    progressed.wait(timeout=10)
    stop.set()
    job.join(timeout=60)

    assert len(outcome) == 1 and isinstance(outcome[0], TranscriptionStopped)
    assert transcriber.wait_idle(STOPPED_TRANSCRIPTION_WAIT_S), "the model thread is still busy"
    heard = transcriber.transcribe(speech, tiny, DecodingOptions())
    assert "fox" in " ".join(segment.text for segment in heard.segments).lower()


def test_timestamps_run_on_across_chunks_with_the_words_in_their_minute(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    minutes = 5
    audio = sentence_every_minute(tmp_path_factory.mktemp("minutes"), minutes)
    transcript = Transcriber(max_loaded=1, device=CPU).transcribe(
        audio, resolve_model("tiny.en", None), DecodingOptions()
    )

    assert transcript.duration == pytest.approx(minutes * 60, abs=0.1)
    words = [word for segment in transcript.segments for word in segment.words]
    assert [word.start for word in words] == sorted(word.start for word in words)
    assert all(0 <= word.start <= word.end <= transcript.duration for word in words)
    # "weekly" is spoken about one second into each minute: the chunks' offsets hold.
    weekly = [word.start for word in words if word.text.strip().lower() == "weekly"]
    heard_in = {int(start // 60) for start in weekly if start % 60 <= 3}
    assert heard_in == set(range(minutes)), weekly


@pytest.mark.parametrize("value", ["0", "17", "two", "-1"])
def test_max_loaded_models_is_validated(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("WHISPER_MAX_LOADED_MODELS", value)
    with pytest.raises(ConfigError) as caught:
        max_loaded_models()
    assert caught.value.variable == "WHISPER_MAX_LOADED_MODELS"


def test_max_loaded_models_defaults_to_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WHISPER_MAX_LOADED_MODELS", raising=False)
    assert max_loaded_models() == 2
    monkeypatch.setenv("WHISPER_MAX_LOADED_MODELS", "3")
    assert max_loaded_models() == 3
