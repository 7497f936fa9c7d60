"""Bad input through run_job: a clear error naming the field, no temp files, no object in MinIO."""

import os
import struct
import uuid
import zlib

import pytest

from api_gpu_worker.errors import FetchError, InputError, JobCancelled, JobError, MediaError
from api_gpu_worker.job import JobContext, run_job
from api_gpu_worker.media import require_image
from api_gpu_worker.settings import Settings


def settings_with(settings: Settings, **overrides: str) -> Settings:
    return Settings.from_env(
        {
            **os.environ,
            "ENV_FILE": "/dev/null",
            "WORKER_TMP_DIR": str(settings.work_root),
            "PRIVATE_URL_ALLOWLIST": ",".join(settings.private_url_allowlist),
            **overrides,
        }
    )


@pytest.fixture
def addaudio_job(media_server, make_video, make_audio, job_path):
    video = make_video(duration=2, size="160x120")
    audio = make_audio(duration=1)
    return {
        "operation": "addaudio",
        "url_video": media_server.url(video.name),
        "url_audio": media_server.url(audio.name),
        "path": job_path,
        "output_filename": "out.mp4",
    }


@pytest.fixture
def refused(settings, s3_keys, job_path, work_root):
    """Runs a job that must fail; returns its JobError after checking nothing was left behind."""

    def run(job, run_settings: Settings | None = None) -> JobError:
        with pytest.raises(JobError) as raised:
            run_job(job, JobContext(uuid.uuid4().hex, run_settings or settings))
        assert list(work_root.iterdir()) == []
        assert s3_keys(job_path) == []
        error = raised.value
        assert error.field, error.message
        assert error.message.startswith(error.field)
        return error

    return run


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("path", "../outside/"),
        ("path", "a/../../b/"),
        ("path", "/absolute/"),
        ("path", "back\\slash/"),
        ("path", "line\nbreak/"),
        ("path", "tab\there/"),
        ("path", "nul\x00/"),
        ("output_filename", "../escape.mp4"),
        ("output_filename", "sub/dir.mp4"),
        ("output_filename", "back\\slash.mp4"),
        ("output_filename", "bell\x07.mp4"),
        ("output_filename", "video.avi"),
        ("output_filename", "video"),
        ("output_filename", "video.mp4.srt"),
        ("url_video", "ftp://example.com/v.mp4"),
        ("url_video", "file:///etc/passwd"),
        ("url_audio", "javascript:alert(1)"),
        ("url_audio", "https://user:secret@example.com/a.mp3"),
        ("url_audio", "not a url"),
    ],
)
def test_a_field_the_contract_refuses(refused, addaudio_job, media_server, field, value):
    error = refused({**addaudio_job, field: value})
    assert isinstance(error, InputError)
    assert error.field == field
    assert "secret" not in error.message
    assert media_server.requests[-1:] != ["/" + value]


@pytest.mark.parametrize("host", ["10.0.0.1", "169.254.169.254", "192.168.0.1", "172.16.0.1"])
def test_a_private_address_is_refused_before_anything_is_fetched(refused, addaudio_job, host):
    error = refused({**addaudio_job, "url_audio": f"http://{host}/audio.mp3"})
    assert isinstance(error, InputError)
    assert error.field == "url_audio"


def test_a_text_file_is_not_a_video(refused, addaudio_job, media_server):
    (media_server.root / "not-a-video.mp4").write_text("<html>nope</html>")
    error = refused({**addaudio_job, "url_video": media_server.url("not-a-video.mp4")})
    assert isinstance(error, MediaError)
    assert error.to_dict()["code"] == "invalid_media"
    assert error.message == "url_video: the file is not a video FFmpeg can read"


def test_an_image_is_not_a_video(refused, addaudio_job, media_server, make_image):
    image = make_image(width=64, height=48)
    error = refused({**addaudio_job, "url_video": media_server.url(image.name)})
    assert error.message == "url_video: the file is not a video (no video stream)"


def test_a_silent_video_is_not_audio(refused, addaudio_job, media_server, make_video):
    silent = make_video(duration=1, size="64x48", audio=False)
    error = refused({**addaudio_job, "url_audio": media_server.url(silent.name)})
    assert isinstance(error, MediaError)
    assert error.message == "url_audio: the file is not audio FFmpeg can read"


def test_a_video_over_max_video_seconds(refused, addaudio_job, settings):
    error = refused(addaudio_job, settings_with(settings, MAX_VIDEO_SECONDS="1.5"))
    assert error.field == "url_video"
    assert "more than MAX_VIDEO_SECONDS (1.5 s)" in error.message


def test_audio_over_max_audio_seconds(refused, addaudio_job, settings):
    error = refused(addaudio_job, settings_with(settings, MAX_AUDIO_SECONDS="0.5"))
    assert error.field == "url_audio"
    assert "more than MAX_AUDIO_SECONDS (0.5 s)" in error.message


def test_a_download_over_max_download_mb(refused, addaudio_job, media_server, settings):
    big = media_server.root / "big.mp4"
    big.write_bytes(os.urandom(1024 * 1024 + 10))
    job = {**addaudio_job, "url_video": media_server.url(big.name)}
    error = refused(job, settings_with(settings, MAX_DOWNLOAD_MB="1"))
    assert isinstance(error, MediaError)
    assert "MAX_DOWNLOAD_MB (1 MB)" in error.message


def test_a_missing_file_is_a_fetch_error(refused, addaudio_job, media_server):
    error = refused({**addaudio_job, "url_audio": media_server.url("gone.mp3")})
    assert isinstance(error, FetchError)
    assert "HTTP 404" in error.message


def test_a_job_that_fails_after_uploading_deletes_its_object(
    settings, addaudio_job, s3_keys, job_path, work_root
):
    ctx = JobContext("rollback", settings)
    upload = ctx.storage.upload

    def upload_then_cancel(*args, **kwargs):
        url = upload(*args, **kwargs)
        assert s3_keys(job_path) == [f"{job_path}out.mp4"]
        ctx.cancel()
        return url

    ctx.storage.upload = upload_then_cancel
    with pytest.raises(JobCancelled):
        run_job(addaudio_job, ctx)
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []


def png_header(width: int, height: int) -> bytes:
    """The signature, IHDR, and the start of an IDAT chunk whose data is cut short."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", 4096)
        + b"IDAT"
        + b"\x00" * 64
    )


def jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\x00" * 64


@pytest.mark.parametrize("header", [png_header(30000, 30000), jpeg_header(12000, 9000)])
def test_an_image_over_the_pixel_cap_is_refused_from_its_header(settings, tmp_path, header):
    bomb = tmp_path / "bomb"
    bomb.write_bytes(header)
    with pytest.raises(
        MediaError, match=r"images\[3\].image_url: the image is \d+x\d+, more than MAX_IMAGE_PIXELS"
    ):
        require_image(bomb, "images[3].image_url", settings)


@pytest.mark.parametrize(
    ("fmt", "width", "height"),
    [("png", 640, 360), ("jpg", 300, 400), ("webp", 320, 200), ("gif", 64, 48), ("bmp", 50, 30)],
)
def test_real_images_are_measured(settings, make_image, fmt, width, height):
    info = require_image(make_image(width=width, height=height, fmt=fmt), "image_url", settings)
    assert (info.width, info.height) == (width, height)


def test_a_text_file_is_not_an_image(settings, tmp_path):
    text = tmp_path / "page.jpg"
    text.write_text("<html></html>")
    with pytest.raises(MediaError, match="image_url: the file is not an image"):
        require_image(text, "image_url", settings)


def test_a_truncated_image_with_a_valid_header_is_refused(settings, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(png_header(64, 64))
    with pytest.raises(MediaError, match="image_url: the png image cannot be decoded"):
        require_image(broken, "image_url", settings)
