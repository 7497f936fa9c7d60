"""Fixtures shared by the worker's tests: settings, a local media server, generated media, MinIO.

Everything is real: media is made by FFmpeg's lavfi sources (and espeak-ng for speech), served by
an HTTP server on 127.0.0.1 that PRIVATE_URL_ALLOWLIST lets the worker reach, and results land in
the test MinIO (`source scripts/test-env.sh` provides its S3_* variables).

- ``settings``: Settings from the environment, with a work root of the test's own, so a test can
  check that a job left no temp files (``work_root`` is empty afterwards).
- ``media_server`` (``.url(name)``, ``.route(path, handler)``, ``.root``): files made by the
  generators below are served from ``media_server.root``.
- ``make_video(...)``, ``make_audio(...)``, ``make_image(...)``, ``make_speech(text)``: return the
  Path of a file in ``media_server.root``; identical requests reuse the file made the first time.
- ``s3``: a boto3 client; ``job_path``: a fresh key prefix whose objects are deleted after the
  test; ``s3_keys(prefix)``: the keys under a prefix; ``job_context(...)``: a JobContext.
- ``local_worker(**env)``: a started ``python -m api_gpu_worker.local`` (tests/local_worker.py),
  with this test's environment plus ``env``; killed at teardown if still running.
- ``ffprobe(path)``: ffprobe's JSON of a file.
"""

import hashlib
import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from local_worker import LocalWorkerProcess, kill_if_running
from media_server import MediaServer

from api_gpu_worker.job import JobContext
from api_gpu_worker.settings import Settings

_NEEDS_ENV = "needs the test environment: source scripts/test-env.sh (MinIO on S3_ENDPOINT_URL)"


def _require_test_environment() -> None:
    if not os.environ.get("S3_ACCESS_KEY") or not os.environ.get("S3_ENDPOINT_URL"):
        pytest.skip(_NEEDS_ENV)


@pytest.fixture(scope="session")
def media_server(tmp_path_factory) -> Iterator[MediaServer]:
    server = MediaServer(tmp_path_factory.mktemp("media")).start()
    previous = os.environ.get("PRIVATE_URL_ALLOWLIST")
    os.environ["PRIVATE_URL_ALLOWLIST"] = ",".join(filter(None, [previous, server.host_port]))
    yield server
    server.stop()
    if previous is None:
        os.environ.pop("PRIVATE_URL_ALLOWLIST", None)
    else:
        os.environ["PRIVATE_URL_ALLOWLIST"] = previous


@pytest.fixture
def work_root(tmp_path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    return root


@pytest.fixture
def worker_env(media_server, work_root) -> dict[str, str]:
    """The environment a worker process of this test runs with."""
    _require_test_environment()
    return {
        **os.environ,
        "ENV_FILE": "/dev/null",
        "PRIVATE_URL_ALLOWLIST": os.environ["PRIVATE_URL_ALLOWLIST"],
        "WORKER_TMP_DIR": str(work_root),
        "FFMPEG_ENCODER": os.environ.get("FFMPEG_ENCODER", "auto"),
    }


@pytest.fixture
def settings(worker_env) -> Settings:
    return Settings.from_env(worker_env)


@pytest.fixture
def local_worker(worker_env) -> Iterator[Callable[..., LocalWorkerProcess]]:
    started: list[LocalWorkerProcess] = []

    def start(launcher: tuple[str, ...] = (), **env: str) -> LocalWorkerProcess:
        worker = LocalWorkerProcess({**worker_env, **env}, launcher)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        kill_if_running(worker)


@pytest.fixture(scope="session")
def s3():
    _require_test_environment()
    return boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_SECRET_KEY"],
        region_name=os.environ.get("S3_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture
def s3_keys(s3) -> Callable[[str], list[str]]:
    def keys(prefix: str) -> list[str]:
        listing = s3.list_objects_v2(Bucket=os.environ["S3_BUCKET_NAME"], Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    return keys


@pytest.fixture
def job_path(s3, s3_keys, request) -> Iterator[str]:
    """A key prefix of this test alone, with an accent, as Portuguese users' paths have."""
    root = f"tests/{request.node.originalname}-{uuid.uuid4().hex[:8]}/"
    yield f"{root}Canal Ação/"
    for key in s3_keys(root):
        s3.delete_object(Bucket=os.environ["S3_BUCKET_NAME"], Key=key)


@pytest.fixture
def job_context(settings) -> Callable[..., JobContext]:
    def make(job_id: str | None = None, **kwargs) -> JobContext:
        return JobContext(job_id or uuid.uuid4().hex, settings, **kwargs)

    return make


def ffprobe(path: Path | str) -> dict:
    """Streams (with frame counts) and format of a file or URL, from ffprobe."""
    completed = subprocess.run(
        [
            "ffprobe", "-v", "error", "-count_packets", "-print_format", "json",
            "-show_format", "-show_streams", str(path),
        ],
        capture_output=True,
        check=True,
    )  # fmt: skip
    return json.loads(completed.stdout)


@pytest.fixture(name="ffprobe")
def ffprobe_fixture() -> Callable[[Path | str], dict]:
    return ffprobe


def _generate(
    root: Path, name: str | None, suffix: str, key: str, command: Callable[[Path], list[str]]
) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    path = root / (name or f"gen-{digest}{suffix}")
    stamp = path.with_name(f".{path.name}.{digest}")
    if path.exists() and stamp.exists():
        return path
    partial = path.with_name(f".partial-{digest}{suffix}")
    subprocess.run(command(partial), check=True, capture_output=True)
    partial.replace(path)
    stamp.touch()
    return path


_FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]


@pytest.fixture(scope="session")
def make_video(media_server) -> Callable[..., Path]:
    def make(
        name: str | None = None,
        *,
        duration: float = 2.0,
        size: str = "320x240",
        fps: str | int = 24,
        codec: str = "libx264",
        audio: bool = True,
        audio_duration: float | None = None,
        container: str = "mp4",
        extra: tuple[str, ...] = (),
    ) -> Path:
        """A testsrc2 video (moving, so encoders cannot skip frames), sine audio if ``audio``."""
        video_source = f"testsrc2=size={size}:rate={fps}:duration={duration}"
        audio_args: list[str] = []
        if audio:
            audio_seconds = audio_duration if audio_duration is not None else duration
            tone = f"sine=frequency=440:sample_rate=48000:duration={audio_seconds}"
            audio_args = ["-f", "lavfi", "-i", tone]
        codec_args = ["-c:v", codec]
        if codec == "libx264":
            codec_args += ["-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        key = repr((video_source, audio_args, codec_args, container, extra))
        return _generate(
            media_server.root,
            name,
            f".{container}",
            key,
            lambda out: [
                *_FFMPEG, "-f", "lavfi", "-i", video_source, *audio_args,
                *codec_args, *(["-c:a", "aac", "-b:a", "96k"] if audio else []),
                *extra, "-f", _muxer(container), str(out),
            ],
        )  # fmt: skip

    return make


@pytest.fixture(scope="session")
def make_audio(media_server) -> Callable[..., Path]:
    def make(
        name: str | None = None,
        *,
        duration: float = 2.0,
        container: str = "m4a",
        frequency: int = 660,
    ) -> Path:
        """A sine tone; ``container`` m4a (AAC), mp3 or wav."""
        codec = {"m4a": ["-c:a", "aac", "-b:a", "96k"], "mp3": ["-c:a", "libmp3lame"], "wav": []}[
            container
        ]
        source = f"sine=frequency={frequency}:sample_rate=44100:duration={duration}"
        return _generate(
            media_server.root,
            name,
            f".{container}",
            repr((source, codec)),
            lambda out: [
                *_FFMPEG,
                "-f",
                "lavfi",
                "-i",
                source,
                *codec,
                "-f",
                _muxer(container),
                str(out),
            ],
        )

    return make


@pytest.fixture(scope="session")
def make_image(media_server) -> Callable[..., Path]:
    def make(
        name: str | None = None,
        *,
        width: int = 640,
        height: int = 480,
        source: str = "testsrc2",
        fmt: str = "png",
    ) -> Path:
        """One frame of a lavfi source (options allowed after ``=``), as PNG or JPEG."""
        spec = (
            f"{source}=size={width}x{height}"
            if "=" not in source
            else f"{source}:size={width}x{height}"
        )
        return _generate(
            media_server.root,
            name,
            f".{fmt}",
            repr((spec, fmt)),
            lambda out: [
                *_FFMPEG,
                "-f",
                "lavfi",
                "-i",
                spec,
                "-frames:v",
                "1",
                "-f",
                "image2",
                str(out),
            ],
        )

    return make


@pytest.fixture(scope="session")
def make_speech(media_server) -> Callable[..., Path]:
    def make(text: str, name: str | None = None, *, voice: str = "en-us") -> Path:
        """``text`` spoken by espeak-ng, as a WAV file."""
        return _generate(
            media_server.root,
            name,
            ".wav",
            repr((text, voice)),
            lambda out: ["espeak-ng", "-v", voice, "-w", str(out), text],
        )

    return make


def _muxer(container: str) -> str:
    return {"mp4": "mp4", "m4v": "mp4", "m4a": "mp4", "mov": "mov", "mkv": "matroska",
            "mp3": "mp3", "wav": "wav", "webm": "webm", "ts": "mpegts"}[container]  # fmt: skip
