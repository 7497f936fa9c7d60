"""addaudio on real FFmpeg and MinIO: stream copy with an exact cut, re-encode when it must."""

import os
import subprocess
import urllib.parse
import urllib.request
from fractions import Fraction

import pytest

from api_gpu_worker.job import JobContext, run_job
from api_gpu_worker.media import AudioInfo
from api_gpu_worker.operations.addaudio import audio_codec_args, frames_to_keep


def packet_hashes(path, limit=None) -> list[tuple[str, str, str]]:
    """(pts, size, md5) of each video packet, in decode order, from FFmpeg's framemd5 muxer."""
    listing = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
         "-f", "framemd5", "-"],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    rows = []
    for line in listing.splitlines():
        if line.startswith("#"):
            continue
        _, _dts, pts, _duration, size, md5 = (part.strip() for part in line.split(","))
        rows.append((pts, size, md5))
    return rows[:limit]


def stream(info, kind):
    return next(s for s in info["streams"] if s["codec_type"] == kind)


def download(url, dest):
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the test MinIO)
        dest.write_bytes(response.read())
        return response.headers["Content-Type"]


def run_addaudio(settings, media_server, video, audio, path, filename, seen=None):
    job = {
        "operation": "addaudio",
        "url_video": media_server.url(video.name),
        "url_audio": media_server.url(audio.name),
        "path": path,
        "output_filename": filename,
    }
    return run_job(
        job,
        JobContext(
            "addaudio-test", settings, on_progress=seen.append if seen is not None else None
        ),
    )


def test_copies_the_video_and_cuts_it_exactly_at_the_shorter_audio(
    settings,
    media_server,
    make_video,
    make_audio,
    job_path,
    s3,
    s3_keys,
    ffprobe,
    tmp_path,
    work_root,
):
    video = make_video("clipe ação.mp4", duration=4, size="320x240", fps=24)
    audio = make_audio("narração.m4a", duration=2.5)
    seen = []
    result = run_addaudio(
        settings, media_server, video, audio, job_path, "vídeo com áudio.mp4", seen
    )

    key = f"{job_path}vídeo com áudio.mp4"
    # Read: the 4 s clip and the 2.5 s narration; written: 2.5 s, cut at the shorter.
    used = result.pop("usage")
    assert (used["media_in_s"], used["media_out_s"]) == (
        pytest.approx(6.5, abs=0.1),
        pytest.approx(2.5, abs=0.1),
    )
    assert result == {
        "video_url": f"{settings.s3_public_url}/{urllib.parse.quote(key)}",
        "filename": "vídeo com áudio.mp4",
        "encoder": "copy",
        "video_stream": "copied",
    }
    assert s3_keys(job_path) == [key]
    assert (
        s3.head_object(Bucket=os.environ["S3_BUCKET_NAME"], Key=key)["ContentType"] == "video/mp4"
    )
    output = tmp_path / "out.mp4"
    assert download(result["video_url"], output) == "video/mp4"

    info = ffprobe(output)
    video_stream, audio_stream = stream(info, "video"), stream(info, "audio")
    frame = 1 / 24
    assert (video_stream["codec_name"], video_stream["width"], video_stream["height"]) == (
        "h264",
        320,
        240,
    )
    assert Fraction(video_stream["avg_frame_rate"]) == 24
    assert abs(float(video_stream["duration"]) - 2.5) <= frame
    assert abs(float(audio_stream["duration"]) - 2.5) <= frame
    assert abs(int(video_stream["nb_read_packets"]) - 2.5 * 24) <= 1
    assert audio_stream["codec_name"] == "aac"
    assert float(info["format"]["duration"]) <= 2.5 + frame

    kept = packet_hashes(output)
    assert kept == packet_hashes(video, limit=len(kept))
    assert seen == sorted(seen) and seen[-1] == 100.0
    assert list(work_root.iterdir()) == []


def test_a_shorter_video_is_copied_whole_bit_for_bit(
    settings, media_server, make_video, make_audio, job_path, ffprobe, tmp_path
):
    video = make_video(duration=2, size="256x144", fps=25, audio=False)
    audio = make_audio(duration=3.2, container="mp3")
    result = run_addaudio(settings, media_server, video, audio, job_path, "saida.mov")
    assert result["video_stream"] == "copied"
    output = tmp_path / "out.mov"
    assert download(result["video_url"], output) == "video/quicktime"
    assert packet_hashes(output) == packet_hashes(video)
    info = ffprobe(output)
    assert info["format"]["format_name"].startswith("mov")
    assert stream(info, "audio")["codec_name"] == "mp3"
    assert abs(float(stream(info, "audio")["duration"]) - 2.0) <= 1 / 25
    assert abs(float(stream(info, "video")["duration"]) - 2.0) <= 1 / 25


def test_a_video_that_cannot_be_copied_is_re_encoded_keeping_size_and_rate(
    settings, media_server, make_video, make_audio, job_path, ffprobe, tmp_path, work_root
):
    video = make_video(duration=3, size="320x180", fps=30, codec="mpeg4", container="mkv")
    audio = make_audio(duration=1.7, container="wav")
    result = run_addaudio(settings, media_server, video, audio, job_path, "reencoded.mkv")
    assert result["video_stream"] == "re-encoded"
    assert result["encoder"] == "libx264"
    output = tmp_path / "out.mkv"
    assert download(result["video_url"], output) == "video/x-matroska"
    info = ffprobe(output)
    video_stream = stream(info, "video")
    assert (video_stream["codec_name"], video_stream["width"], video_stream["height"]) == (
        "h264",
        320,
        180,
    )
    assert Fraction(video_stream["avg_frame_rate"]) == 30
    assert stream(info, "audio")["codec_name"] == "aac"
    assert abs(int(video_stream["nb_read_packets"]) - 1.7 * 30) <= 1
    assert abs(float(info["format"]["duration"]) - 1.7) <= 1 / 30 + 0.01
    assert list(work_root.iterdir()) == []


@pytest.mark.parametrize(
    ("decode_order", "duration", "expected"),
    [
        # I0 P4 B2 B1 B3 P8 B6 B5 B7: the first 5 packets are exactly frames 0-4.
        ([0, 4, 2, 1, 3, 8, 6, 5, 7], 5.0, 5),
        # 6 frames wanted; 6 packets would show 0-4 and 8; 5 packets is a closed cut, 1 frame off.
        ([0, 4, 2, 1, 3, 8, 6, 5, 7], 6.0, 5),
        # Frame 6 straddles the cut: more than half of it after 6.4 s, so it is left out.
        ([0, 1, 2, 3, 4, 5, 6, 7], 6.4, 6),
        ([0, 1, 2, 3, 4, 5, 6, 7], 6.6, 7),
        ([0, 1, 2, 3], 10.0, 4),
    ],
)
def test_frames_to_keep(decode_order, duration, expected):
    assert frames_to_keep([float(t) for t in decode_order], 1.0, duration) == expected


def test_frames_to_keep_falls_back_to_the_exact_count_when_no_closed_cut_is_near():
    decode_order = [0, 8, 4, 2, 1, 3, 6, 5, 7, 16, 12, 10, 9, 11, 14, 13, 15]
    assert frames_to_keep([float(t) for t in decode_order], 1.0, 11.0) == 11


@pytest.mark.parametrize(
    ("audio", "suffix", "duration", "fps", "copied"),
    [
        (AudioInfo(10.0, "aac", 48000, 2), ".mp4", 10.0, 24, True),
        (AudioInfo(12.0, "mp3", 44100, 2), ".mov", 10.0, 24, True),
        # 1152 samples at 44.1 kHz is 26 ms, more than a frame at 60 fps: a copied cut could miss.
        (AudioInfo(12.0, "mp3", 44100, 2), ".mp4", 10.0, 60, False),
        (AudioInfo(9.0, "mp3", 44100, 2), ".mp4", 9.0, 60, True),
        (AudioInfo(9.0, "pcm_s16le", 44100, 2), ".mp4", 9.0, 24, False),
        (AudioInfo(9.0, "opus", 48000, 2), ".mp4", 9.0, 24, False),
        (AudioInfo(9.0, "opus", 48000, 2), ".mkv", 9.0, 24, True),
    ],
)
def test_audio_is_copied_only_when_the_container_takes_it_and_the_cut_stays_within_a_frame(
    audio, suffix, duration, fps, copied
):
    args = audio_codec_args(audio, suffix, duration, 1 / fps)
    assert (args == ["-c:a", "copy"]) is copied
    if not copied:
        assert args[:2] == ["-c:a", "aac"]


@pytest.mark.parametrize(
    ("audio_seconds", "packets", "closed"),
    [
        # 2.34 s: 56 frames wanted; 57 packets close the B-frame group and end 0.035 s later.
        (2.34, 57, True),
        # 2.3 s: 55 frames wanted; the nearest closed cuts (53, 57) are more than a frame away.
        (2.3, 55, False),
    ],
)
def test_a_cut_inside_b_frames_stays_within_a_frame(
    settings,
    media_server,
    make_video,
    make_audio,
    job_path,
    ffprobe,
    tmp_path,
    audio_seconds,
    packets,
    closed,
):
    video = make_video(
        duration=3, size="320x240", fps=24, audio=False,
        extra=("-bf", "3", "-x264-params", "b-pyramid=normal"),
    )  # fmt: skip
    audio = make_audio(duration=audio_seconds)
    result = run_addaudio(settings, media_server, video, audio, job_path, "bframes.mp4")
    assert result["video_stream"] == "copied"
    output = tmp_path / "out.mp4"
    download(result["video_url"], output)
    info = ffprobe(output)
    video_stream, audio_stream = stream(info, "video"), stream(info, "audio")
    assert int(video_stream["nb_read_packets"]) == packets
    assert abs(float(video_stream["duration"]) - audio_seconds) <= 1 / 24
    assert abs(float(audio_stream["duration"]) - audio_seconds) <= 1 / 24
    assert packet_hashes(output) == packet_hashes(video, limit=packets)
    shown = sorted(int(pts) for pts, _, _ in packet_hashes(output))
    step = shown[1] - shown[0]
    assert (shown == list(range(shown[0], shown[0] + packets * step, step))) is closed


def test_hevc_in_mp4_is_copied_and_tagged_for_apple_players(
    settings, media_server, make_video, make_audio, job_path, ffprobe, tmp_path
):
    video = make_video(
        duration=1.5, size="192x108", fps=25, codec="libx265", audio=False,
        extra=("-preset", "ultrafast", "-x265-params", "log-level=error"),
    )  # fmt: skip
    audio = make_audio(duration=1)
    result = run_addaudio(settings, media_server, video, audio, job_path, "hevc.mp4")
    assert result["video_stream"] == "copied"
    output = tmp_path / "out.mp4"
    download(result["video_url"], output)
    video_stream = stream(ffprobe(output), "video")
    assert (video_stream["codec_name"], video_stream["codec_tag_string"]) == ("hevc", "hvc1")
    assert abs(float(video_stream["duration"]) - 1.0) <= 1 / 25
    kept = packet_hashes(output)
    assert kept == packet_hashes(video, limit=len(kept))
