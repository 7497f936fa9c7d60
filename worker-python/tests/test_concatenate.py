"""concatenate on real FFmpeg and MinIO: stream copy when the clips match, one re-encode when not,
exact durations, and sound kept on its picture across every join."""

import itertools
import subprocess
import urllib.request
from fractions import Fraction

import numpy as np
import pytest
from test_addaudio import packet_hashes

from api_gpu_worker.errors import InputError
from api_gpu_worker.job import JobContext, run_job

FPS = 24
FRAME = 1 / FPS


def download(url, dest):
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the test MinIO)
        dest.write_bytes(response.read())
    return dest


def stream(info, kind):
    return next((s for s in info["streams"] if s["codec_type"] == kind), None)


def concatenate(settings, media_server, clips, path, filename, seen=None, **extra):
    job = {
        "operation": "concatenate",
        "video_urls": [{"video_url": media_server.url(clip.name)} for clip in clips],
        "path": path,
        "output_filename": filename,
        **extra,
    }
    on_progress = seen.append if seen is not None else None
    context = JobContext("concat-test", settings, on_progress=on_progress)
    return run_job(job, context)


@pytest.fixture(scope="module")
def flash_clip(media_server):
    """A clip whose picture flashes white for one frame exactly when its audio beeps."""

    def make(name: str, *, size: str, duration: float, flash_frame: int) -> object:
        path = media_server.root / name
        if path.exists():
            return path
        start = flash_frame / FPS
        picture = (
            f"color=black:s={size}:r={FPS}:d={duration},"
            f"drawbox=color=white:t=fill:enable='eq(n,{flash_frame})'"
        )
        beep = (
            f"aevalsrc='0.8*sin(2*PI*1000*t)*between(t,{start},{start + FRAME})'"
            f":s=48000:d={duration}"
        )
        subprocess.run(
            [
                "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", picture, "-f", "lavfi",
                "-i", beep, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "96k", str(path),
            ],
            check=True,
        )  # fmt: skip
        return path

    return make


def flash_times(path) -> list[float]:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-vf",
         "scale=8:8,format=gray", "-f", "rawvideo", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    frames = np.frombuffer(raw, np.uint8).reshape(-1, 64).mean(axis=1)
    return [index / FPS for index in np.flatnonzero(frames > 128)]


def beep_onsets(path) -> list[float]:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", "48000",
         "-f", "f32le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    loud = np.flatnonzero(np.abs(np.frombuffer(raw, np.float32)) > 0.3)
    starts = [loud[0]] + [b for a, b in itertools.pairwise(loud) if b - a > 4800]
    return [sample / 48000 for sample in starts]


def test_matching_clips_are_joined_by_stream_copy_bit_for_bit(
    settings, media_server, make_video, job_path, ffprobe, tmp_path, work_root
):
    # Like clips with B-frames (their decode times start below zero): the first two have audio,
    # the second's outlasting its video (it must not open a gap), the last none. Without -copyts
    # the joined video would start a fraction of a frame late.
    bframes = ("-preset", "medium")
    clips = [
        make_video("clipe 1.mp4", duration=1, size="160x90", extra=bframes),
        make_video("clipe 2.mp4", duration=0.5, size="160x90", audio_duration=0.9, extra=bframes),
        make_video("clipe 3.mp4", duration=0.75, size="160x90", audio=False, extra=bframes),
    ]
    seen = []
    result = concatenate(
        settings, media_server, clips, job_path, "vídeo concatenado.mp4", seen, id_roteiro=7
    )
    assert result["video_stream"] == "copied"
    assert result["encoder"] == "copy"
    assert "normalized_reason" not in result
    assert result["id_roteiro"] == 7
    assert result["filename"] == "vídeo concatenado.mp4"
    assert result["duration"] == pytest.approx(2.25, abs=1e-6)

    output = download(result["video_url"], tmp_path / "out.mp4")
    joined = packet_hashes(output)
    expected = [row for clip in clips for row in packet_hashes(clip)]
    assert [(size, md5) for _, size, md5 in joined] == [(size, md5) for _, size, md5 in expected]
    info = ffprobe(output)
    video, audio = stream(info, "video"), stream(info, "audio")
    assert int(video["nb_read_packets"]) == 54
    assert abs(float(video["duration"]) - 2.25) <= FRAME / 2
    assert float(video["start_time"]) == 0
    assert abs(float(info["format"]["duration"]) - 2.25) <= FRAME
    assert abs(float(audio["duration"]) - 2.25) <= FRAME
    assert seen == sorted(seen) and seen[-1] == 100.0
    assert list(work_root.iterdir()) == []


def test_unlike_clips_are_normalised_once_and_keep_sound_on_picture(
    settings, media_server, flash_clip, make_video, job_path, ffprobe, tmp_path
):
    clips = [
        flash_clip("flash a.mp4", size="160x90", duration=1.0, flash_frame=5),
        flash_clip("flash b.mp4", size="192x108", duration=1.5, flash_frame=20),
        make_video("mudo.mp4", duration=0.5, size="160x90", audio=False),
        flash_clip("flash c.mp4", size="160x90", duration=1.0, flash_frame=12),
    ]
    result = concatenate(settings, media_server, clips, job_path, "junção.mp4")
    assert result["video_stream"] == "re-encoded"
    assert "frame size" in result["normalized_reason"]
    output = download(result["video_url"], tmp_path / "out.mp4")
    info = ffprobe(output)
    video, audio = stream(info, "video"), stream(info, "audio")
    assert (video["width"], video["height"]) == (160, 90)
    assert Fraction(video["avg_frame_rate"]) == FPS
    assert int(video["nb_read_packets"]) == 96
    assert abs(float(audio["duration"]) - 4.0) <= FRAME
    flashes = flash_times(output)
    beeps = beep_onsets(output)
    assert flashes == pytest.approx([5 / FPS, 1 + 20 / FPS, 3 + 12 / FPS], abs=1e-6)
    assert len(beeps) == len(flashes)
    for flash, beep in zip(flashes, beeps, strict=True):
        assert abs(flash - beep) <= FRAME


def test_crossfade_overlaps_each_join_by_the_transition(
    settings, media_server, make_video, job_path, ffprobe, tmp_path
):
    clips = [make_video(duration=1, size="160x90", audio=False) for _ in range(3)]
    result = concatenate(
        settings,
        media_server,
        clips,
        job_path,
        "cruzado.mp4",
        transition="crossfade",
        transition_duration=0.25,
    )
    assert result["video_stream"] == "re-encoded"
    assert "crossfade" in result["normalized_reason"]
    output = download(result["video_url"], tmp_path / "out.mp4")
    info = ffprobe(output)
    assert int(stream(info, "video")["nb_read_packets"]) == 3 * 24 - 2 * 6
    assert stream(info, "audio") is None
    assert result["duration"] == pytest.approx(2.5, abs=1e-6)


def test_fade_dips_to_black_without_changing_the_length(
    settings, media_server, make_video, job_path, ffprobe, tmp_path
):
    clips = [make_video(duration=1, size="160x90") for _ in range(2)]
    result = concatenate(settings, media_server, clips, job_path, "fade.mp4", transition="fade")
    output = download(result["video_url"], tmp_path / "out.mp4")
    info = ffprobe(output)
    assert int(stream(info, "video")["nb_read_packets"]) == 48
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(output), "-vf", "scale=8:8,format=gray",
         "-f", "rawvideo", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    luma = np.frombuffer(raw, np.uint8).reshape(-1, 64).mean(axis=1)
    assert luma[23] < 30 and luma[24] < 30
    assert luma[10] > 60 and luma[40] > 60


def test_a_transition_longer_than_half_a_clip_is_refused_naming_the_field(
    settings, media_server, make_video, job_path
):
    clips = [make_video(duration=0.5, size="160x90", audio=False) for _ in range(2)]
    with pytest.raises(InputError) as refused:
        concatenate(
            settings,
            media_server,
            clips,
            job_path,
            "x.mp4",
            transition="crossfade",
            transition_duration=0.4,
        )
    assert refused.value.field == "transition_duration"
