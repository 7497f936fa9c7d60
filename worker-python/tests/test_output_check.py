"""The output check with real ffprobe on files on the worker's disk, as a job leaves them."""

import subprocess

import pytest

from api_gpu_worker.errors import ProcessingError
from api_gpu_worker.output_check import require_playable_video


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("São Paulo")
    video = folder / "vídeo.mp4"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x36:rate=5",
        "-t",
        "1",
        "-pix_fmt",
        "yuv420p",
        str(video),
    )
    audio_only = folder / "audio-only.mp4"
    _ffmpeg("-f", "lavfi", "-i", "sine=duration=1", str(audio_only))
    text = folder / "text.mp4"
    text.write_bytes(b"not a video")
    return {
        "video": video,
        "audio-only": audio_only,
        "text": text,
        "missing": folder / "missing.mp4",
    }


def test_accepts_a_video_with_a_duration_under_a_portuguese_name(outputs):
    require_playable_video(outputs["video"], "video_url")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("text", "video_url: the output cannot be probed"),
        ("audio-only", "video_url: the output has no video stream"),
        ("missing", "video_url: the output cannot be probed"),
    ],
)
def test_refuses_what_is_not_a_playable_video_as_retryable(outputs, name, message):
    with pytest.raises(ProcessingError) as raised:
        require_playable_video(outputs[name], "video_url")
    assert raised.value.message == message
    assert raised.value.retryable is True
    assert raised.value.to_dict()["code"] == "processing_failed"
