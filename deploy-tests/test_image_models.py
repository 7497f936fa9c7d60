"""The gpu-node image's extra whisper models: WHISPER_EXTRA_MODELS is fetched by the build into
WHISPER_MODELS_DIR with the worker's own command, and the image runs offline after it. Checked
without Docker or network: the Dockerfile's build step is read and its command parsed by the
worker's own argument parser, with the download that would reach the model hub stubbed."""

import re
import shlex
from pathlib import Path

import pytest
from deployment import ROOT, worker_variables

from api_gpu_worker import whisper_models

DOCKERFILE = (ROOT / "docker" / "gpu-node.Dockerfile").read_text()


def _instructions() -> list[str]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = (" ".join(line.split()) for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _fetch_step() -> str:
    steps = [line for line in _instructions() if "whisper_models fetch" in line]
    assert len(steps) == 1, steps
    return steps[0]


def test_the_extra_models_are_a_build_argument_defaulting_to_none():
    assert 'ARG WHISPER_EXTRA_MODELS=""' in _instructions()


def test_the_models_go_where_the_worker_looks_for_them():
    env = [line for line in _instructions() if line.startswith("ENV WHISPER_MODELS_DIR=")]
    assert env == ["ENV WHISPER_MODELS_DIR=/app/whisper-models"]
    assert "WHISPER_MODELS_DIR" in worker_variables()
    assert '--into "$WHISPER_MODELS_DIR" $WHISPER_EXTRA_MODELS' in _fetch_step()


def test_only_the_build_step_reaches_the_model_hub():
    offline = [line for line in _instructions() if "HF_HUB_OFFLINE=1" in line]
    assert offline, "the image must stay offline at run time"
    assert "HF_HUB_OFFLINE=0" in _fetch_step()
    assert sum("HF_HUB_OFFLINE=0" in line for line in _instructions()) == 1


def test_the_build_command_is_one_the_worker_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    command = _fetch_step().split("python -m api_gpu_worker.whisper_models", 1)[1]
    command = command.split(";", 1)[0]
    models_dir = tmp_path / "whisper-models"
    argv = shlex.split(
        command.replace('"$WHISPER_MODELS_DIR"', str(models_dir)).replace(
            "$WHISPER_EXTRA_MODELS", "large-v3 turbo"
        )
    )
    downloads: list[tuple[str, str]] = []

    def download(name: str, output_dir: str) -> str:
        downloads.append((name, output_dir))
        target = Path(output_dir)
        target.mkdir(parents=True)
        for file in ("model.bin", "tokenizer.json", "vocabulary.txt"):
            (target / file).write_text("x")
        return output_dir

    monkeypatch.setattr("faster_whisper.download_model", download)
    whisper_models.main(argv)
    assert downloads == [(n, str(models_dir / n)) for n in ("large-v3", "turbo")]
