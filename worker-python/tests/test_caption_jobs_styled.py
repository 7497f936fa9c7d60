"""Styled caption jobs end to end: words.json, SRT, auto_captions; real FFmpeg, libass, MinIO."""

import json
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from api_gpu_worker.errors import InputError
from api_gpu_worker.job import run_job

RED = np.array([255, 0, 0])


def black_video(
    root: Path, name: str, size: str, seconds: float, audio: Path | None = None
) -> Path:
    video = root / name
    if not video.exists():
        sound = (
            ["-i", str(audio)] if audio else ["-f", "lavfi", "-i", f"anullsrc=r=48000:d={seconds}"]
        )
        subprocess.run(
            [
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                "-f", "lavfi", "-i", f"color=black:s={size}:r=24:d={seconds}", *sound,
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-shortest", str(video),
            ],
            check=True,
        )  # fmt: skip
    return video


def frame_at(video: Path, seconds: float, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-ss", str(seconds),
            "-i", str(video), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ],
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(np.int16)


def download(url: str, destination: Path) -> Path:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the test MinIO)
        destination.write_bytes(response.read())
    return destination


def red_columns(frame: np.ndarray) -> np.ndarray:
    return np.nonzero((np.abs(frame - RED).max(axis=2) < 70).any(axis=0))[0]


@pytest.fixture
def styled_job(job_path):
    def job(url_video: str, **fields) -> dict:
        return {
            "operation": "caption",
            "url_video": url_video,
            "path": job_path,
            "output_filename": "legendado.mp4",
            **fields,
        }

    return job


@pytest.mark.parametrize("source", ["url_words", "url_srt"])
def test_words_json_times_decide_which_word_is_lit(
    media_server, styled_job, job_context, tmp_path, source
) -> None:
    video = black_video(media_server.root, "black-480x270.mp4", "480x270", 3.0)
    words = [
        {"word": "um", "start": 0.2, "end": 0.9},
        {"word": "dois", "start": 1.6, "end": 2.4},
    ]
    (media_server.root / "words.json").write_text(json.dumps({"words": words}), encoding="utf-8")
    style = {"kind": "highlight", "colors": {"highlight": "#FF0000"}}
    job = styled_job(
        media_server.url(video.name), style=style, **{source: media_server.url("words.json")}
    )

    result = run_job(job, job_context())

    assert result["word_timing"] == "measured"
    output = download(result["video_url"], tmp_path / "out.mp4")
    # Just inside each word's measured time, and in the pause between them.
    first = red_columns(frame_at(output, 0.3, 480, 270))
    second = red_columns(frame_at(output, 1.7, 480, 270))
    assert first.size and second.size
    assert first.max() < second.min(), "the lit word did not move from the first to the second"
    assert red_columns(frame_at(output, 1.2, 480, 270)).size == 0, "a word is lit in the pause"


def test_srt_with_a_style_is_interpolated_and_without_one_burnt_as_it_is(
    media_server, styled_job, job_context
) -> None:
    video = black_video(media_server.root, "black-480x270.mp4", "480x270", 3.0)
    (media_server.root / "cue.srt").write_text(
        "1\n00:00:00,000 --> 00:00:02,000\nação não você\n", encoding="utf-8"
    )
    url_srt = media_server.url("cue.srt")
    styled = run_job(
        styled_job(media_server.url(video.name), url_srt=url_srt, style={"kind": "pop"}),
        job_context(),
    )
    assert styled["word_timing"] == "interpolated"
    plain = run_job(styled_job(media_server.url(video.name), url_srt=url_srt), job_context())
    assert "word_timing" not in plain


def test_vertical_video_keeps_the_preset_inside_the_safe_zone(
    media_server, styled_job, job_context, tmp_path
) -> None:
    video = black_video(media_server.root, "black-270x480.mp4", "270x480", 2.0)
    (media_server.root / "cue.srt").write_text(
        "1\n00:00:00,000 --> 00:00:02,000\nação não você sabe\n", encoding="utf-8"
    )
    job = styled_job(
        media_server.url(video.name),
        url_srt=media_server.url("cue.srt"),
        style={"preset": "pop", "position": {"marginVertical": 0}},
    )
    output = download(run_job(job, job_context())["video_url"], tmp_path / "out.mp4")
    rows = np.nonzero((frame_at(output, 1.0, 270, 480).max(axis=2) > 100).any(axis=1))[0]
    assert rows.size and rows.min() >= 48 and rows.max() <= 384


def test_auto_captions_transcribe_the_video_burn_and_upload_the_transcript(
    make_speech, media_server, styled_job, job_context, job_path, s3_keys, tmp_path
) -> None:
    speech = make_speech("Hello world. This is a test of captions.", "captions-speech.wav")
    seconds = float(
        subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "csv=p=0",
                str(speech),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    video = black_video(media_server.root, "talking-480x270.mp4", "480x270", seconds, speech)
    job = styled_job(
        media_server.url(video.name),
        auto_captions={"model": "tiny.en", "language": "en"},
        style={"kind": "highlight", "colors": {"highlight": "#FF0000"}},
    )

    result = run_job(job, job_context())

    assert result["word_timing"] == "measured"
    transcript = result["transcript"]
    assert (transcript["language"], transcript["model"]) == ("en", "tiny.en")
    assert {"segments.srt", "words.json", "karaoke.ass", "legendado.mp4"} <= {
        key.rsplit("/", 1)[-1] for key in s3_keys(job_path)
    }
    words = json.loads(urllib.request.urlopen(transcript["files"]["words"]["json"]).read())  # noqa: S310
    assert "captions" in " ".join(w["word"].lower() for w in words["words"])
    output = download(result["video_url"], tmp_path / "out.mp4")
    first = words["words"][0]
    lit = frame_at(output, (first["start"] + first["end"]) / 2, 480, 270)
    assert red_columns(lit).size > 0, "the first spoken word is not lit"


def test_without_srt_words_or_auto_captions_url_srt_is_required(
    media_server, styled_job, job_context
) -> None:
    with pytest.raises(InputError) as caught:
        run_job(styled_job("http://127.0.0.1:1/v.mp4"), job_context())
    assert caught.value.field == "url_srt"
    assert "url_srt is required" in str(caught.value)


def test_auto_captions_with_an_unknown_model_fails_before_any_download(
    media_server, styled_job, job_context
) -> None:
    with pytest.raises(InputError) as caught:
        run_job(
            styled_job("http://127.0.0.1:1/v.mp4", auto_captions={"model": "nope"}), job_context()
        )
    assert caught.value.field == "auto_captions.model"


def test_a_phone_video_stored_landscape_with_a_rotation_is_laid_out_as_vertical(
    media_server, styled_job, job_context, tmp_path
) -> None:
    stored = black_video(media_server.root, "black-480x270.mp4", "480x270", 2.0)
    rotated = media_server.root / "phone-rotated.mp4"
    if not rotated.exists():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(stored), "-c", "copy",
             "-metadata:s:v:0", "rotate=90", str(rotated)],
            check=True,
        )  # fmt: skip
    (media_server.root / "cue.srt").write_text(
        "1\n00:00:00,000 --> 00:00:02,000\nação não você sabe\n", encoding="utf-8"
    )
    job = styled_job(
        media_server.url(rotated.name),
        url_srt=media_server.url("cue.srt"),
        style={"position": {"alignment": 2, "marginVertical": 0}},
    )
    output = download(run_job(job, job_context())["video_url"], tmp_path / "out.mp4")
    frame = frame_at(output, 1.0, 270, 480)
    rows = np.nonzero((frame.max(axis=2) > 100).any(axis=1))[0]
    # Laid out for 270x480: above the bottom fifth, and no wider than the frame.
    assert rows.size and rows.max() <= 384
