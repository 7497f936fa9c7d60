"""Encoder backends and the run-time NVENC fallback, on this machine's real FFmpeg.

This machine has FFmpeg built with NVENC but no NVIDIA driver, so an NVENC encode really fails
here the way it does on a GPU node whose driver or session limit gives out: that is the failure
the fallback must catch, and the one exercised below.
"""

import pytest

from api_gpu_worker.encoders import NvencEncoder, SoftwareEncoder, nvenc_available
from api_gpu_worker.errors import EncoderError, JobError
from api_gpu_worker.job import JobContext, run_encode, run_job


def test_each_backend_builds_its_arguments():
    assert SoftwareEncoder().encode_args() == [
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
    ]  # fmt: skip
    assert SoftwareEncoder().decode_args() == []
    assert NvencEncoder().encode_args() == [
        "-c:v", "h264_nvenc", "-preset", "p4", "-tune", "hq",
        "-rc", "vbr", "-cq", "23", "-b:v", "0", "-pix_fmt", "yuv420p",
    ]  # fmt: skip
    assert NvencEncoder().decode_args() == ["-hwaccel", "cuda"]


def test_the_nvenc_probe_fails_here():
    assert nvenc_available() is False


def test_an_nvenc_failure_at_run_time_is_redone_on_the_cpu_and_said(settings, tmp_path):
    built = []

    def build(encoder):
        built.append(encoder.name)
        return [
            "ffmpeg", *encoder.decode_args(), "-f", "lavfi", "-i", "testsrc2=size=320x240:d=1",
            *encoder.encode_args(), "-y", tmp_path / "out.mp4",
        ]  # fmt: skip

    with JobContext("fallback", settings, encoder=NvencEncoder()) as ctx:
        used = run_encode(ctx, build, duration_s=1)
        assert used.name == "libx264"
        assert built == ["h264_nvenc", "libx264"]
        assert ctx.fallback_reason.startswith("h264_nvenc failed at run time")
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_a_failure_caused_by_the_input_is_not_masked_by_the_retry(settings, tmp_path):
    built = []

    def build(encoder):
        built.append(encoder.name)
        return [
            "ffmpeg",
            "-i",
            tmp_path / "missing.mp4",
            *encoder.encode_args(),
            tmp_path / "o.mp4",
        ]

    with JobContext("input", settings, encoder=NvencEncoder()) as ctx:
        with pytest.raises(EncoderError, match="No such file or directory"):
            run_encode(ctx, build)
        assert built == ["h264_nvenc"]
        assert ctx.fallback_reason is None


def test_the_callers_error_is_kept_on_the_cpu_path(settings, tmp_path):
    def build(encoder):
        return [
            "ffmpeg",
            "-i",
            tmp_path / "missing.mp4",
            *encoder.encode_args(),
            tmp_path / "o.mp4",
        ]

    with (
        JobContext("cpu", settings, encoder=SoftwareEncoder()) as ctx,
        pytest.raises(JobError) as raised,
    ):
        run_encode(
            ctx,
            build,
            on_error=lambda code, tail: EncoderError("url_video: broken", field="url_video"),
        )
    assert raised.value.field == "url_video"


def test_an_addaudio_re_encode_on_a_failing_nvenc_ends_on_libx264(
    settings, media_server, make_video, make_audio, job_path, s3_keys
):
    video = make_video(duration=1, size="160x120", codec="mpeg4", container="mkv")
    audio = make_audio(duration=1, container="wav")
    job = {
        "operation": "addaudio",
        "url_video": media_server.url(video.name),
        "url_audio": media_server.url(audio.name),
        "path": job_path,
        "output_filename": "fallback.mp4",
    }
    ctx = JobContext("addaudio-fallback", settings, encoder=NvencEncoder())
    result = run_job(job, ctx)
    assert result["encoder"] == "libx264"
    assert result["video_stream"] == "re-encoded"
    assert ctx.fallback_reason
    assert s3_keys(job_path) == [f"{job_path}fallback.mp4"]
