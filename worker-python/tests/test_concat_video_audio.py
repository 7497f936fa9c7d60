"""concat_video_audio on real FFmpeg and MinIO: clips cycled under a narration, exact to a frame
over many cycles, the narration whole and the only audio."""

import urllib.request
from fractions import Fraction

import pytest

from api_gpu_worker.job import JobContext, run_job
from api_gpu_worker.operations.concat_video_audio import plan

FPS = 24
FRAME = 1 / FPS


def download(url, dest):
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the test MinIO)
        dest.write_bytes(response.read())
    return dest


def stream(info, kind):
    return [s for s in info["streams"] if s["codec_type"] == kind]


def lay(settings, media_server, clips, narration, path, filename, **extra):
    job = {
        "operation": "concat_video_audio",
        "video_urls": [media_server.url(clip.name) for clip in clips],
        "audio_url": media_server.url(narration.name),
        "path": path,
        "output_filename": filename,
        **extra,
    }
    return run_job(job, JobContext("bed-test", settings))


def test_plan_cycles_the_clips_and_cuts_the_last_one():
    assert plan([3, 2], 12) == [(0, 3), (1, 2), (0, 3), (1, 2), (0, 2)]
    assert plan([5], 5) == [(0, 5)]
    with pytest.raises(ValueError):
        plan([0, 2], 4)


def test_twenty_cycles_last_exactly_as_long_as_the_narration(
    settings, media_server, make_video, make_audio, job_path, ffprobe, tmp_path, work_root
):
    # The second clip's audio outlasts its video: planning from the container would drift.
    clips = [
        make_video("bed 1.mp4", duration=0.5, size="64x36", audio=False),
        make_video("bed 2.mp4", duration=0.25, size="64x36", audio_duration=0.6),
        make_video("bed 3.mp4", duration=0.375, size="96x54", audio=False),
    ]
    cycle = 0.5 + 0.25 + 0.375
    narration = make_audio("narração longa.m4a", duration=20 * cycle + 0.3)
    narration_info = ffprobe(narration)
    narration_s = float(stream(narration_info, "audio")[0]["duration"])
    result = lay(
        settings, media_server, clips, narration, job_path, "vídeo narrado.mp4",
        normalize=False, id_roteiro=3,
    )  # fmt: skip
    assert result["segments"] == 61
    assert result["id_roteiro"] == 3
    output = download(result["video_url"], tmp_path / "out.mp4")
    info = ffprobe(output)
    (video,), (audio,) = stream(info, "video"), stream(info, "audio")
    assert (video["width"], video["height"]) == (64, 36)
    assert Fraction(video["avg_frame_rate"]) == FPS
    assert int(video["nb_read_packets"]) == round(narration_s * FPS)
    assert abs(float(video["duration"]) - narration_s) <= FRAME / 2
    assert abs(float(audio["duration"]) - narration_s) <= 0.001
    assert abs(float(info["format"]["duration"]) - narration_s) <= FRAME / 2
    assert list(work_root.iterdir()) == []


def test_normalised_by_default_to_1920x1080_with_clips_of_other_codecs(
    settings, media_server, make_video, make_audio, job_path, ffprobe, tmp_path
):
    clips = [
        make_video(duration=0.25, size="64x36", audio=False),
        make_video(duration=0.25, size="64x36", codec="mpeg4", audio=False),
    ]
    narration = make_audio(duration=0.7, container="mp3")
    result = lay(settings, media_server, clips, narration, job_path, "normalizado.mp4")
    output = download(result["video_url"], tmp_path / "out.mp4")
    info = ffprobe(output)
    (video,) = stream(info, "video")
    assert (video["width"], video["height"]) == (1920, 1080)
    narration_s = float(stream(ffprobe(narration), "audio")[0]["duration"])
    assert int(video["nb_read_packets"]) == round(narration_s * FPS)
    assert result["duration"] == pytest.approx(narration_s, abs=1e-6)
    assert result["segments"] == 3
