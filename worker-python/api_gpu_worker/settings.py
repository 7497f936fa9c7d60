"""The worker's configuration: environment variables, validated once at start.

Like the TypeScript processes, the worker reads the environment first, then the file ``ENV_FILE``
for whatever the environment leaves unset (default: ``.env`` in the working directory, else the
repository's ``.env``); ``ENV_FILE=/dev/null`` reads no file.
A bad value raises ConfigError naming the variable; values are never echoed, since some are secrets.
"""

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

ENCODER_MODES = ("auto", "nvenc", "cpu")
_HOST_PORT = re.compile(r"(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}")
_REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class ConfigError(ValueError):
    """A missing or invalid environment variable; ``variable`` names it."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable} {message}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    s3_endpoint_url: str
    s3_access_key: str = field(repr=False)
    s3_secret_key: str = field(repr=False)
    s3_bucket: str
    s3_region: str
    s3_public_url: str
    s3_input_buckets: tuple[str, ...]
    private_url_allowlist: frozenset[str]
    max_download_mb: int
    download_timeout_s: float
    max_video_seconds: float
    max_audio_seconds: float
    max_image_pixels: int
    batch_size: int
    ffmpeg_encoder: str
    work_root: Path
    output_root: Path
    max_video_pixels: int = 3840 * 2160
    max_video_pixel_rate: int = 3840 * 2160 * 60
    max_cpu_transcribe_seconds: float = 7200
    worker_max_rss_mb: int = 6144

    @property
    def max_download_bytes(self) -> int:
        return self.max_download_mb * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Reads ``environ`` as given, or ``os.environ`` completed by ``ENV_FILE`` when None."""
        env = _process_environment() if environ is None else environ

        def text(name: str, default: str | None = None) -> str:
            value = env.get(name, "").strip()
            if value:
                return value
            if default is None:
                raise ConfigError(name, "is required")
            return default

        endpoint = text("S3_ENDPOINT_URL", "http://127.0.0.1:9000").rstrip("/")
        if not re.match(r"https?://[^/\s]+", endpoint):
            raise ConfigError("S3_ENDPOINT_URL", "must be an http:// or https:// URL")
        bucket = text("S3_BUCKET_NAME", "canais")
        if not _BUCKET.fullmatch(bucket):
            raise ConfigError("S3_BUCKET_NAME", "is not a valid bucket name")
        public_url = text("S3_PUBLIC_URL", f"{endpoint}/{bucket}").rstrip("/")
        if not re.match(r"https?://[^/\s]+", public_url):
            raise ConfigError("S3_PUBLIC_URL", "must be an http:// or https:// URL")
        input_buckets = _comma_list(env.get("S3_INPUT_BUCKETS", ""))
        for name in input_buckets:
            if not _BUCKET.fullmatch(name):
                raise ConfigError("S3_INPUT_BUCKETS", "holds an invalid bucket name")
        allowlist = _comma_list(env.get("PRIVATE_URL_ALLOWLIST", ""))
        for entry in allowlist:
            if not _HOST_PORT.fullmatch(entry) or not 0 < int(entry.rsplit(":", 1)[1]) < 65536:
                raise ConfigError(
                    "PRIVATE_URL_ALLOWLIST", "must be a comma-separated list of host:port"
                )
        encoder = text("FFMPEG_ENCODER", "auto").lower()
        if encoder not in ENCODER_MODES:
            raise ConfigError("FFMPEG_ENCODER", f"must be one of {', '.join(ENCODER_MODES)}")
        # WORK_DIR and OUTPUT_DIR are the replaced service's names for the same scratch directories.
        work_variable = "WORKER_TMP_DIR" if env.get("WORKER_TMP_DIR", "").strip() else "WORK_DIR"
        work_root = Path(text(work_variable, str(Path(tempfile.gettempdir()) / "api-gpu-worker")))
        if not work_root.is_absolute():
            raise ConfigError(work_variable, "must be an absolute path")
        output_root = Path(text("OUTPUT_DIR", str(work_root)))
        if not output_root.is_absolute():
            raise ConfigError("OUTPUT_DIR", "must be an absolute path")
        return cls(
            s3_endpoint_url=endpoint,
            s3_access_key=text("S3_ACCESS_KEY"),
            s3_secret_key=text("S3_SECRET_KEY"),
            s3_bucket=bucket,
            s3_region=text("S3_REGION", "us-east-1"),
            s3_public_url=public_url,
            s3_input_buckets=tuple(input_buckets),
            private_url_allowlist=frozenset(entry.lower() for entry in allowlist),
            max_download_mb=_number(env, "MAX_DOWNLOAD_MB", 500, int),
            download_timeout_s=_number(env, "DOWNLOAD_TIMEOUT_S", 120, float),
            max_video_seconds=_number(env, "MAX_VIDEO_SECONDS", 7200, float),
            max_audio_seconds=_number(env, "MAX_AUDIO_SECONDS", 14400, float),
            max_image_pixels=_number(env, "MAX_IMAGE_PIXELS", 100_000_000, int),
            batch_size=_number(env, "BATCH_SIZE", default_batch_size(), int),
            ffmpeg_encoder=encoder,
            work_root=work_root,
            output_root=output_root,
            max_video_pixels=_number(env, "MAX_VIDEO_PIXELS", 3840 * 2160, int),
            max_video_pixel_rate=_number(env, "MAX_VIDEO_PIXEL_RATE", 3840 * 2160 * 60, int),
            max_cpu_transcribe_seconds=_number(env, "MAX_CPU_TRANSCRIBE_SECONDS", 7200, float),
            worker_max_rss_mb=_number(env, "WORKER_MAX_RSS_MB", 6144, int),
        )


def default_batch_size() -> int:
    """Images encoded at once: one per two cores, since each FFmpeg encode is itself threaded."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // 2)


def _number(env: Mapping[str, str], name: str, default: float, kind: type) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(
            name, f"must be a positive {'integer' if kind is int else 'number'}"
        ) from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(name, "must be a positive finite number")
    return value


def _comma_list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _process_environment() -> dict[str, str]:
    configured = os.environ.get("ENV_FILE")
    if configured:
        merged = _read_env_file(Path(configured))
    else:
        # The worker runs from worker-python/; `make up` writes .env at the repository's root.
        candidates = (Path(".env"), _REPOSITORY_ROOT / ".env")
        merged = next((values for path in candidates if (values := _read_env_file(path))), {})
    merged.update(os.environ)
    return merged


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    # python-dotenv reads the file as the TypeScript processes' dotenv does: quotes, `export`,
    # comments, escapes; no interpolation, since values such as secrets may hold a `$`.
    values = dotenv_values(path, interpolate=False, encoding="utf-8")
    return {name: value for name, value in values.items() if value is not None}
