"""faster-whisper, kept warm: loaded models stay in a small LRU for the life of the process.

Audio reaches the model in chunks of at most two minutes, cut in pauses (audio_chunks), so a
transcription's memory does not grow with the audio's length and a stop request is seen between
chunks and between segments; timestamps run on from chunk to chunk, the language detected on the
first chunk with speech is kept for the rest, and each chunk is conditioned on the text before it.

``WHISPER_MAX_LOADED_MODELS`` (default 2) bounds how many models stay loaded at once; the least
recently used one is dropped to make room. Decoding follows the replaced service: word
timestamps, beam 5, best of 5, temperature with fallback steps of 0.2, compression ratio 2.4,
log probability -1.0, no-speech 0.6, conditioned on previous text, VAD on unless turned off.
"""

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from faster_whisper import WhisperModel

from .audio_chunks import AudioChunk, audio_chunks
from .media import probe
from .settings import ConfigError
from .subtitles import Segment, Word
from .usage import gpu_task
from .whisper_models import ResolvedModel, WhisperDevice, whisper_device

MAX_LOADED_ENV = "WHISPER_MAX_LOADED_MODELS"
_DEFAULT_MAX_LOADED = 2
_TEMPERATURE_STEP = 0.2
_STOP_POLL_S = 0.1
# What Whisper detects in silence: the language of a transcript without speech, none being given.
_LANGUAGE_OF_SILENCE = "en"
# The model conditions on its last 223 tokens at most; this much text holds them.
_PROMPT_CHARS = 1000


class TranscriptionStopped(Exception):
    """``should_stop`` turned true between two segments."""


@dataclass(frozen=True)
class Transcript:
    language: str
    duration: float
    segments: tuple[Segment, ...]
    model: str
    device: str
    model_requested: str = ""


@dataclass(frozen=True)
class DecodingOptions:
    language: str | None = None
    vad: bool = True
    beam_size: int = 5
    temperature: float = 0.0
    initial_prompt: str | None = None
    task: str = "transcribe"


class Transcriber:
    """Loads each model once and keeps at most ``max_loaded`` of them, least recently used out.

    Models are loaded and run on one long-lived thread of the transcriber's own: a CTranslate2
    model used after the thread that loaded it has exited runs several times slower, and the
    local worker runs each job on a thread of its own.
    """

    def __init__(self, max_loaded: int, device: WhisperDevice) -> None:
        self.max_loaded = max_loaded
        self.device = device
        self._models: OrderedDict[Path, WhisperModel] = OrderedDict()
        self._names: dict[Path, str] = {}
        self._lock = threading.Lock()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper")
        self._last_work: Future | None = None

    def loaded(self) -> list[Path]:
        with self._lock:
            return list(self._models)

    def loaded_names(self) -> list[str]:
        """The models held loaded, by the name jobs gave them: what the node advertises as warm."""
        with self._lock:
            return sorted({self._names[path] for path in self._models})

    def model(self, resolved: ResolvedModel) -> WhisperModel:
        return self._thread.submit(self._model, resolved).result()

    def transcribe(
        self,
        audio: Path,
        resolved: ResolvedModel,
        options: DecodingOptions,
        *,
        on_progress: Callable[[float], None] = lambda fraction: None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Transcript:
        """Transcribes ``audio``; ``on_progress`` gets the fraction of the audio done so far.

        Once ``should_stop()`` is true this returns at once (TranscriptionStopped); the model's
        thread gives up at the end of the segment it is decoding, which cannot be interrupted.
        """
        work = self._thread.submit(
            self._transcribe, audio, resolved, options, on_progress, should_stop
        )
        self._last_work = work
        while True:
            try:
                return work.result(timeout=_STOP_POLL_S)
            except TimeoutError:
                if should_stop():
                    work.cancel()
                    raise TranscriptionStopped from None

    def wait_idle(self, timeout: float) -> bool:
        """Whether the model's thread is done with its last transcription (waits up to ``timeout``).

        A stopped transcription's thread runs on to the end of its segment; one still running
        after that is decoding something unbounded, and only replacing the process stops it.
        """
        work = self._last_work
        if work is None:
            return True
        try:
            work.result(timeout=timeout)
        except TimeoutError:
            return False
        except BaseException:
            return True
        return True

    def _model(self, resolved: ResolvedModel) -> WhisperModel:
        with self._lock:
            model = self._models.get(resolved.path)
            if model is not None:
                self._models.move_to_end(resolved.path)
                return model
            while len(self._models) >= self.max_loaded:
                evicted, _ = self._models.popitem(last=False)
                del self._names[evicted]
        model = WhisperModel(
            str(resolved.path),
            device=self.device.device,
            compute_type=self.device.compute_type,
            cpu_threads=cpu_threads(),
        )
        with self._lock:
            self._models[resolved.path] = model
            self._names[resolved.path] = resolved.name
        return model

    def _transcribe(
        self,
        audio: Path,
        resolved: ResolvedModel,
        options: DecodingOptions,
        on_progress: Callable[[float], None],
        should_stop: Callable[[], bool],
    ) -> Transcript:
        with gpu_task() if self.device.device == "cuda" else nullcontext():
            return self._transcribe_on_device(audio, resolved, options, on_progress, should_stop)

    def _transcribe_on_device(
        self,
        audio: Path,
        resolved: ResolvedModel,
        options: DecodingOptions,
        on_progress: Callable[[float], None],
        should_stop: Callable[[], bool],
    ) -> Transcript:
        model = self._model(resolved)
        expected = _probed_duration(audio)
        language = options.language
        prompt = options.initial_prompt
        collected: list[Segment] = []
        duration = 0.0
        chunks = audio_chunks(audio)
        try:
            for chunk in chunks:
                if should_stop():
                    raise TranscriptionStopped
                # Without speech faster-whisper's VAD would leave nothing to decode.
                if chunk.speech or not options.vad:
                    decoded, language = self._decode_chunk(
                        model, chunk, language, prompt, options, expected, on_progress, should_stop
                    )
                    collected += decoded
                    prompt = _prompt_after(prompt, decoded)
                duration = chunk.start + chunk.duration
                if expected:
                    on_progress(min(1.0, duration / expected))
        finally:
            chunks.close()
        return Transcript(
            language=language or _LANGUAGE_OF_SILENCE,
            duration=duration,
            segments=tuple(collected),
            model=resolved.name,
            device=self.device.device,
            model_requested=resolved.requested,
        )

    def _decode_chunk(
        self,
        model: WhisperModel,
        chunk: AudioChunk,
        language: str | None,
        prompt: str | None,
        options: DecodingOptions,
        expected: float | None,
        on_progress: Callable[[float], None],
        should_stop: Callable[[], bool],
    ) -> tuple[list[Segment], str | None]:
        """The chunk's segments, timed from the start of the audio, and the language they are in.

        Without a language the model detects it on this chunk; once a chunk has given segments,
        the next chunks keep its language.
        """
        segments, info = model.transcribe(
            chunk.samples,
            language=language,
            task=options.task,
            initial_prompt=prompt,
            beam_size=options.beam_size,
            best_of=5,
            temperature=fallback_temperatures(options.temperature),
            compression_ratio_threshold=2.4,
            log_prob_threshold=-1.0,
            no_speech_threshold=0.6,
            condition_on_previous_text=True,
            word_timestamps=True,
            vad_filter=options.vad,
        )
        decoded: list[Segment] = []
        for segment in segments:
            if should_stop():
                raise TranscriptionStopped
            decoded.append(_segment(segment, chunk.start, chunk.duration))
            if expected:
                on_progress(min(1.0, (chunk.start + segment.end) / expected))
        return decoded, info.language if decoded else language


def fallback_temperatures(first: float) -> tuple[float, ...]:
    steps = math.floor((1.0 - first) / _TEMPERATURE_STEP + 1e-9)
    return tuple(round(first + _TEMPERATURE_STEP * step, 6) for step in range(steps + 1))


def _segment(segment, offset: float, duration: float) -> Segment:
    """A segment of a chunk ``duration`` long, timed from ``offset`` seconds into the audio."""

    def within(seconds: float) -> float:
        return offset + min(max(0.0, float(seconds)), duration)

    words = tuple(
        Word(word.word, within(word.start), within(word.end)) for word in segment.words or ()
    )
    return Segment(within(segment.start), within(segment.end), segment.text, words)


def _prompt_after(prompt: str | None, decoded: list[Segment]) -> str | None:
    """The text the next chunk is conditioned on: what came before it, as the model would see it."""
    if not decoded:
        return prompt
    text = "".join([prompt or "", *(segment.text for segment in decoded)])
    return text[-_PROMPT_CHARS:]


def _probed_duration(audio: Path) -> float | None:
    """The audio's length as ffprobe reads it, for progress only: the samples decide the rest."""
    info = probe(audio)
    try:
        duration = float(info["format"]["duration"]) if info else 0.0
    except (KeyError, ValueError):
        return None
    return duration if duration > 0 else None


@cache
def shared_transcriber() -> Transcriber:
    """The process's one transcriber, so a second job finds its model still loaded."""
    return Transcriber(max_loaded_models(), whisper_device())


def max_loaded_models() -> int:
    raw = os.environ.get(MAX_LOADED_ENV, "").strip()
    if not raw:
        return _DEFAULT_MAX_LOADED
    if not raw.isdigit() or not 1 <= int(raw) <= 16:
        raise ConfigError(MAX_LOADED_ENV, f"must be a whole number from 1 to 16, not {raw!r}")
    return int(raw)


def cpu_threads() -> int:
    # CTranslate2 defaults to 4 threads, which oversubscribes a smaller machine.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
