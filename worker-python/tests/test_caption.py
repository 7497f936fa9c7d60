"""caption jobs end to end: real FFmpeg/libass, a local media server, results in the test MinIO."""

import hashlib
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from api_gpu_worker.errors import InputError, MediaError
from api_gpu_worker.job import run_job
from api_gpu_worker.subtitles import Segment, Word, karaoke_ass

SRT = "1\n00:00:00,000 --> 00:00:02,000\nação, não, você\n"


def frame_at(video: Path | str, seconds: float, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-ss", str(seconds),
            "-i", str(video), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ],
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(np.int16)


def audio_packets(video: Path | str) -> list[tuple[str, str]]:
    """(size, md5) of every audio packet, as stream copy would keep them."""
    listing = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(video),
            "-map", "0:a:0", "-c", "copy", "-f", "framemd5", "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout  # fmt: skip
    rows = [line.split(",") for line in listing.splitlines() if not line.startswith("#")]
    return [(row[4].strip(), row[5].strip()) for row in rows]


def download(url: str, destination: Path) -> Path:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the test MinIO)
        destination.write_bytes(response.read())
    return destination


@pytest.fixture
def caption_job(media_server, job_path):
    def job(url_video: str, url_srt: str, **extra) -> dict:
        return {
            "operation": "caption",
            "url_video": url_video,
            "url_srt": url_srt,
            "path": job_path,
            "output_filename": "vídeo legendado.mp4",
            **extra,
        }

    return job


def test_srt_is_burnt_in_size_rate_kept_audio_copied(
    make_video,
    media_server,
    caption_job,
    job_context,
    job_path,
    s3,
    s3_keys,
    ffprobe,
    tmp_path,
    work_root,
) -> None:
    source = make_video("caption-source.mp4", duration=2.0, size="320x240", fps=25)
    (media_server.root / "legenda.srt").write_text(SRT, encoding="utf-8")
    job = caption_job(media_server.url(source.name), media_server.url("legenda.srt"))

    result = run_job(job, job_context())

    key = f"{job_path}vídeo legendado.mp4"
    assert result["filename"] == "vídeo legendado.mp4"
    assert result["encoder"] == "libx264"
    assert s3_keys(job_path) == [key]
    head = s3.head_object(Bucket=os.environ["S3_BUCKET_NAME"], Key=key)
    assert head["ContentType"] == "video/mp4"
    output = download(result["video_url"], tmp_path / "out.mp4")
    assert list(work_root.iterdir()) == []

    video_in = next(s for s in ffprobe(source)["streams"] if s["codec_type"] == "video")
    streams = {s["codec_type"]: s for s in ffprobe(output)["streams"]}
    assert streams["video"]["codec_name"] == "h264"
    assert (streams["video"]["width"], streams["video"]["height"]) == (320, 240)
    assert streams["video"]["r_frame_rate"] == "25/1"
    assert int(streams["video"]["nb_read_packets"]) == int(video_in["nb_read_packets"]) == 50
    assert streams["audio"]["codec_name"] == "aac"
    assert audio_packets(output) == audio_packets(source)

    before, after = frame_at(source, 1.0, 320, 240), frame_at(output, 1.0, 320, 240)
    difference = np.abs(after - before).max(axis=2)
    bottom_third, top_third = difference[160:], difference[:80]
    assert (bottom_third > 80).sum() > 300, "no subtitles drawn in the bottom third"
    assert (top_third > 80).sum() < 20, "the picture changed away from the subtitles"


def test_srt_served_under_a_name_with_quote_colon_comma_semicolon(
    make_video, media_server, caption_job, job_context, tmp_path
) -> None:
    source = make_video("caption-source.mp4", duration=2.0, size="320x240", fps=25)
    name = "legenda d'ação: parte 1, final; [ok].srt"
    (media_server.root / name).write_text(SRT, encoding="utf-8")

    result = run_job(
        caption_job(media_server.url(source.name), media_server.url(name)), job_context()
    )

    output = download(result["video_url"], tmp_path / "out.mp4")
    difference = np.abs(frame_at(output, 1.0, 320, 240) - frame_at(source, 1.0, 320, 240))
    assert (difference.max(axis=2)[160:] > 80).sum() > 300


def orange(frame: np.ndarray) -> np.ndarray:
    red, green, blue = frame[..., 0], frame[..., 1], frame[..., 2]
    return (red > 180) & (green > 80) & (green < 180) & (blue < 80)


def white(frame: np.ndarray) -> np.ndarray:
    return frame.min(axis=2) > 200


def test_karaoke_ass_burns_in_with_its_style_and_k_timing(
    media_server, caption_job, job_context, tmp_path
) -> None:
    # Dark grey, so the karaoke's own colours are the only white and orange in the picture.
    video = media_server.root / "grey-960x540.mp4"
    if not video.exists():
        subprocess.run(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                "-f", "lavfi", "-i", "color=c=0x303030:s=960x540:r=24:d=3",
                "-f", "lavfi", "-i", "sine=frequency=300:duration=3",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-shortest", str(video),
            ],
            check=True,
        )  # fmt: skip
    words = (Word(" Ação", 0.2, 0.8), Word(" agora", 2.0, 2.6))
    karaoke = karaoke_ass([Segment(0.2, 2.6, " Ação agora", words)])
    (media_server.root / "karaoke.ass").write_bytes(karaoke)

    result = run_job(
        caption_job(media_server.url(video.name), media_server.url("karaoke.ass")), job_context()
    )
    assert result["font"] == "DejaVu Sans"

    output = download(result["video_url"], tmp_path / "out.mp4")
    before_pause = frame_at(output, 1.2, 960, 540)
    after_pause = frame_at(output, 2.3, 960, 540)
    # Under \k a word is SecondaryColour (orange) until sung, then PrimaryColour (white).
    assert white(before_pause).sum() > 100 and orange(before_pause).sum() > 100
    assert orange(after_pause).sum() < orange(before_pause).sum() / 10
    assert white(after_pause).sum() > white(before_pause).sum() * 1.5
    rows = np.nonzero(white(after_pause).any(axis=1))[0]
    assert rows.min() > 540 * 2 / 3, "the Karaoke style's bottom-centre alignment was lost"


def test_a_video_without_audio_gets_captions_and_no_audio(
    make_video, media_server, caption_job, job_context, ffprobe, tmp_path
) -> None:
    source = make_video("silent.mp4", duration=1.0, size="320x240", fps=24, audio=False)
    (media_server.root / "legenda.srt").write_text(SRT, encoding="utf-8")

    job = caption_job(media_server.url(source.name), media_server.url("legenda.srt"))
    result = run_job(job, job_context())

    output = download(result["video_url"], tmp_path / "out.mp4")
    assert [s["codec_type"] for s in ffprobe(output)["streams"]] == ["video"]
    difference = np.abs(frame_at(output, 0.5, 320, 240) - frame_at(source, 0.5, 320, 240))
    assert (difference.max(axis=2)[160:] > 80).sum() > 300


def test_audio_an_mp4_cannot_carry_is_encoded_to_aac(
    media_server, caption_job, job_context, ffprobe, tmp_path
) -> None:
    source = media_server.root / "pcm-audio.mov"
    if not source.exists():
        subprocess.run(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=24:duration=1",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "pcm_s16le", str(source),
            ],
            check=True,
        )  # fmt: skip
    (media_server.root / "legenda.srt").write_text(SRT, encoding="utf-8")

    job = caption_job(media_server.url(source.name), media_server.url("legenda.srt"))
    result = run_job(job, job_context())

    output = download(result["video_url"], tmp_path / "out.mp4")
    streams = {s["codec_type"]: s for s in ffprobe(output)["streams"]}
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"]) == ("h264", "aac")
    assert abs(float(streams["audio"]["duration"]) - 1.0) < 0.05


def test_style_restyles_the_cues(make_video, media_server, caption_job, job_context, tmp_path):
    source = make_video("caption-source.mp4", duration=2.0, size="320x240", fps=25)
    (media_server.root / "legenda.srt").write_text(SRT, encoding="utf-8")
    style = {"position": {"alignment": 8}, "colors": {"primary": "#00FF00"}}

    job = caption_job(media_server.url(source.name), media_server.url("legenda.srt"), style=style)
    result = run_job(job, job_context())

    output = download(result["video_url"], tmp_path / "out.mp4")
    difference = np.abs(frame_at(output, 1.0, 320, 240) - frame_at(source, 1.0, 320, 240))
    changed = difference.max(axis=2) > 80
    assert changed[:80].sum() > 300, "no subtitles at the top"
    assert changed[160:].sum() < 20


def test_the_replaced_services_default_font_draws_in_its_metric_alias_and_says_so(
    make_video, media_server, caption_job, job_context
) -> None:
    source = make_video("caption-source.mp4", duration=2.0, size="320x240", fps=25)
    (media_server.root / "legenda.srt").write_text(SRT, encoding="utf-8")

    styled = caption_job(
        media_server.url(source.name),
        media_server.url("legenda.srt"),
        style={"font": {"name": "Arial"}},
    )
    assert run_job(styled, job_context())["font"] == "Liberation Sans"
    plain = caption_job(media_server.url(source.name), media_server.url("legenda.srt"))
    assert run_job(plain, job_context())["font"] == "Liberation Sans"


def test_an_ass_file_naming_a_font_nothing_stands_in_for_fails_naming_url_srt(
    make_video, media_server, caption_job, job_context, job_path, s3_keys
) -> None:
    source = make_video("caption-source.mp4", duration=2.0, size="320x240", fps=25)
    words = (Word(" Ação", 0.2, 0.8),)
    karaoke = karaoke_ass([Segment(0.2, 0.8, " Ação", words)]).decode("utf-8")
    (media_server.root / "karaoke-comic.ass").write_text(
        karaoke.replace("Style: Karaoke,DejaVu Sans,", "Style: Karaoke,Comic Sans MS,"),
        encoding="utf-8",
    )

    with pytest.raises(InputError) as caught:
        run_job(
            caption_job(media_server.url(source.name), media_server.url("karaoke-comic.ass")),
            job_context(),
        )

    assert caught.value.field == "url_srt"
    assert "'Comic Sans MS' is not installed" in caught.value.message
    assert s3_keys(job_path) == []


def test_a_font_that_is_not_installed_fails_before_any_download(
    make_video, media_server, caption_job, job_context, job_path, s3_keys, work_root
) -> None:
    source = make_video("caption-source.mp4", duration=2.0, size="320x240", fps=25)
    requests_before = len(media_server.requests)
    job = caption_job(
        media_server.url(source.name),
        media_server.url("legenda.srt"),
        style={"font": {"name": "Comic Sans MS"}},
    )

    with pytest.raises(InputError) as caught:
        run_job(job, job_context())

    assert caught.value.field == "style.font.name"
    assert len(media_server.requests) == requests_before
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []


@pytest.mark.parametrize(
    ("subtitles", "message"),
    [
        (
            "1\n00:00:03,000 --> 00:00:01,000\nao contrário\n",
            "ends at 00:00:01,000, before it starts at 00:00:03,000",
        ),
        ("isto não é uma legenda\n", "line 1 is neither a cue number nor a time line"),
        ("[Script Info]\nTitle: sem eventos\n", "no [Events] section"),
    ],
)
def test_subtitles_that_do_not_parse_fail_naming_url_srt(
    make_video,
    media_server,
    caption_job,
    job_context,
    job_path,
    s3_keys,
    work_root,
    subtitles,
    message,
) -> None:
    source = make_video("caption-source.mp4", duration=2.0, size="320x240", fps=25)
    name = "bad-" + hashlib.sha256(subtitles.encode()).hexdigest()[:8] + ".srt"
    (media_server.root / name).write_text(subtitles, encoding="utf-8")

    with pytest.raises(MediaError) as caught:
        run_job(caption_job(media_server.url(source.name), media_server.url(name)), job_context())

    assert caught.value.field == "url_srt"
    assert caught.value.message.startswith("url_srt: ")
    assert message in caught.value.message
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []


def test_a_video_that_is_not_a_video_fails_naming_url_video(
    media_server, caption_job, job_context, job_path, s3_keys, work_root
) -> None:
    shutil.copyfile(__file__, media_server.root / "not-a-video.mp4")
    (media_server.root / "legenda.srt").write_text(SRT, encoding="utf-8")

    job = caption_job(media_server.url("not-a-video.mp4"), media_server.url("legenda.srt"))
    with pytest.raises(MediaError) as caught:
        run_job(job, job_context())

    assert caught.value.field == "url_video"
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []
