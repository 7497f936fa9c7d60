"""compose on real FFmpeg, libass, faster-whisper and MinIO: one job from images, a narration,
music and captions to a finished video, as long as the narration to a frame."""

import ast
import json
import re
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from test_caption_jobs_styled import frame_at, red_columns
from test_rp_handler import run_handler
from test_trilhasonora import RATE, SPEECH, integrated_lufs, music_level_db, pcm

from api_gpu_worker import kenburns
from api_gpu_worker.compose_timeline import plan_shots
from api_gpu_worker.errors import InputError, MediaError
from api_gpu_worker.job import run_job

FPS = 24
WIDTH, HEIGHT = 1280, 720


def download(url: str, destination: Path) -> Path:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the test MinIO)
        destination.write_bytes(response.read())
    return destination


def make(path: Path, *args: str) -> Path:
    if not path.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(path)], check=True)
    return path


def streams(ffprobe, path: Path, kind: str) -> list[dict]:
    return [s for s in ffprobe(path)["streams"] if s["codec_type"] == kind]


def audio_seconds(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return float(out)


@pytest.fixture(scope="module")
def tone_narration(media_server) -> Path:
    """Tone bursts where test_trilhasonora's SPEECH says, 8 s: music can be told apart from it."""
    on = "+".join(f"between(t,{start},{end})" for start, end in SPEECH)
    tone = f"aevalsrc='0.3*sin(2*PI*1000*t)*({on})':s={RATE}:d=8"
    return make(media_server.root / "narração em tons.wav", "-f", "lavfi", "-i", tone)


@pytest.fixture(scope="module")
def short_narration(media_server) -> Path:
    return make(
        media_server.root / "narração curta.m4a",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=3.3",
        "-c:a", "aac", "-b:a", "128k",
    )  # fmt: skip


@pytest.fixture(scope="module")
def music(media_server) -> Path:
    tone = "sine=frequency=220:sample_rate=48000:duration=2.31"
    return make(media_server.root / "trilha sonora.wav", "-f", "lavfi", "-i", tone, "-af",
                "volume=0.5")  # fmt: skip


@pytest.fixture
def compose_job(media_server, make_image, job_path):
    def job(narration: Path, durations: list[float], **fields) -> dict:
        images = [
            {
                "id": f"foto-{i + 1}",
                "image_url": media_server.url(
                    make_image(f"foto ação {i + 1}.png", source=source).name
                ),
                "duracao": seconds,
            }
            for i, (seconds, source) in enumerate(
                zip(durations, ["testsrc2", "smptebars", "rgbtestsrc"] * 10, strict=False)
            )
        ]
        return {
            "operation": "compose",
            "images": images,
            "narration_url": media_server.url(narration.name),
            "path": job_path,
            "output_filename": "vídeo final.mp4",
            "resolution": f"{WIDTH}x{HEIGHT}",
            **fields,
        }

    return job


def test_plan_fits_the_images_to_the_narration():
    sources = [Path(f"{i}") for i in range(3)]
    moves = [kenburns.Motion.ZOOM_IN] * 3
    exact = plan_shots([24, 24, 24], sources, moves, 72, "none", 0)
    assert exact.duration_fit == "exact"
    assert [(s.start, s.shown) for s in exact.shots] == [(0, 24), (24, 24), (48, 24)]

    held = plan_shots([24, 24, 24], sources, moves, 100, "none", 0)
    assert held.duration_fit == "last_image_extended"
    assert (held.shots[-1].start, held.shots[-1].shown, held.shots[-1].move_frames) == (48, 52, 52)

    cut = plan_shots([24, 24, 24], sources, moves, 30, "none", 0)
    assert cut.duration_fit == "images_cut"
    assert [(s.start, s.shown, s.move_frames) for s in cut.shots] == [(0, 24, 24), (24, 6, 24)]

    crossfaded = plan_shots([24, 24, 24], sources, moves, 56, "crossfade", 8)
    assert crossfaded.images_frames == 56
    assert [s.start for s in crossfaded.shots] == [0, 16, 32]


def test_narration_alone_sets_the_length_to_a_frame_and_keeps_its_loudness(
    compose_job, short_narration, job_context, job_path, s3_keys, ffprobe, tmp_path
):
    job = compose_job(
        short_narration, [1.0, 1.5], id_roteiro=12, return_intermediates=True,
        zoom_types=["zoompanright"],
    )  # fmt: skip
    result = run_job(job, job_context())

    narration_s = audio_seconds(short_narration)
    assert result["filename"] == "vídeo final.mp4"
    assert result["id_roteiro"] == 12
    assert result["duration_fit"] == "last_image_extended"
    assert result["images_duration"] == pytest.approx(2.5)
    assert result["narration_duration"] == pytest.approx(narration_s, abs=1e-3)
    output = download(result["video_url"], tmp_path / "vídeo.mp4")
    video = streams(ffprobe, output, "video")[0]
    assert (video["width"], video["height"]) == (WIDTH, HEIGHT)
    assert int(video["nb_read_packets"]) == round(narration_s * FPS)
    assert result["duration"] == pytest.approx(round(narration_s * FPS) / FPS)
    assert audio_seconds(output) == pytest.approx(narration_s, abs=1 / FPS)
    assert abs(integrated_lufs(output) - integrated_lufs(short_narration)) <= 0.5

    silent = download(result["intermediates"]["video_url"], tmp_path / "mudo.mp4")
    assert streams(ffprobe, silent, "audio") == []
    assert "audio_url" not in result["intermediates"]
    assert {"vídeo final.mp4", "video_sem_audio.mp4"} <= {
        key.rsplit("/", 1)[-1] for key in s3_keys(job_path)
    }


def test_images_longer_than_the_narration_are_cut_at_its_end(
    compose_job, short_narration, job_context, ffprobe, tmp_path
):
    job = compose_job(short_narration, [2.0, 2.0, 2.0, 2.0], transition="crossfade")
    result = run_job(job, job_context())

    # Crossfaded, the images start at 0, 1.5, 3 and 4.5 s: the fourth is after the narration.
    assert result["duration_fit"] == "images_cut"
    assert result["images_duration"] == pytest.approx(8.0 - 3 * 0.5)
    assert result["images_shown"] == 3
    output = download(result["video_url"], tmp_path / "cortado.mp4")
    frames = int(streams(ffprobe, output, "video")[0]["nb_read_packets"])
    assert frames == round(audio_seconds(short_narration) * FPS)


def test_a_fade_dips_to_black_at_each_join(compose_job, short_narration, job_context, tmp_path):
    job = compose_job(short_narration, [1.0, 1.0], transition="fade", transition_duration=0.5)
    result = run_job(job, job_context())

    assert result["images_duration"] == pytest.approx(2.0)
    output = download(result["video_url"], tmp_path / "fade.mp4")
    assert frame_at(output, 0.25, WIDTH, HEIGHT).mean() > 60
    assert frame_at(output, 1.0, WIDTH, HEIGHT).mean() < 30


def test_music_is_ducked_under_the_narration_whose_level_is_untouched(
    compose_job, tone_narration, music, media_server, job_context, tmp_path
):
    job = compose_job(
        tone_narration, [4.0, 4.0],
        music={"url": media_server.url(music.name), "volume_reduction_db": 12, "ducking_db": 10},
        return_intermediates=True,
    )  # fmt: skip
    result = run_job(job, job_context())

    assert result["duration_fit"] == "exact"
    assert result["mix"]["ducking_db"] == 10
    output = download(result["video_url"], tmp_path / "com trilha.mp4")
    samples = pcm(output)
    for start, end in SPEECH:
        before = integrated_lufs(tone_narration, start + 0.1, end - 0.1)
        assert abs(integrated_lufs(output, start + 0.1, end - 0.1) - before) <= 0.5
    assert music_level_db(samples, 3.05, 4.25) - music_level_db(samples, 1.0, 2.0) >= 10 - 0.5
    mixed = download(result["intermediates"]["audio_url"], tmp_path / "mix.m4a")
    assert audio_seconds(mixed) == pytest.approx(8.0, abs=0.05)


def test_auto_captions_are_burnt_at_the_spoken_words(
    compose_job, make_speech, make_image, media_server, job_context, tmp_path
):
    speech = make_speech("Hello world. This is a test of captions.", "narração falada.wav")
    grey = make_image("cinza.png", source="color=c=gray")
    job = compose_job(
        speech, [4.0],
        captions={
            "auto": {"model": "tiny.en", "language": "en"},
            "style": {"kind": "highlight", "colors": {"highlight": "#FF0000"}},
        },
        return_intermediates=True,
    )  # fmt: skip
    job["images"][0]["image_url"] = media_server.url(grey.name)
    result = run_job(job, job_context())

    assert result["word_timing"] == "measured"
    assert (result["transcript"]["language"], result["transcript"]["model"]) == ("en", "tiny.en")
    files = result["intermediates"]["transcript_files"]
    words = json.loads(urllib.request.urlopen(files["words"]["json"]).read())["words"]  # noqa: S310
    output = download(result["video_url"], tmp_path / "legendado.mp4")
    first = words[0]
    lit = frame_at(output, (first["start"] + first["end"]) / 2, WIDTH, HEIGHT)
    assert red_columns(lit).size > 0, "the first spoken word is not lit"
    # The silent intermediate has no captions: the same frame shows no red.
    silent = download(result["intermediates"]["video_url"], tmp_path / "mudo.mp4")
    plain = frame_at(silent, (first["start"] + first["end"]) / 2, WIDTH, HEIGHT)
    assert red_columns(plain).size == 0


def test_captions_from_an_srt_with_a_preset(
    compose_job, short_narration, media_server, job_context, tmp_path
):
    srt = media_server.root / "legendas ação.srt"
    srt.write_text("1\n00:00:00,200 --> 00:00:03,000\nOlá mundo\n", encoding="utf-8")
    job = compose_job(
        short_narration, [3.3],
        captions={"url_srt": media_server.url(srt.name), "style": {"preset": "shorts"}},
        return_intermediates=True,
    )  # fmt: skip
    result = run_job(job, job_context())
    assert result["word_timing"] == "interpolated"
    assert result["font"]
    # The captions are on the result's frames and not on the silent video's, encoded alongside.
    captioned = download(result["video_url"], tmp_path / "legendado.mp4")
    silent = download(result["intermediates"]["video_url"], tmp_path / "mudo.mp4")
    changed = np.abs(frame_at(captioned, 1.5, WIDTH, HEIGHT) - frame_at(silent, 1.5, WIDTH, HEIGHT))
    assert (changed.max(axis=2) > 80).sum() > 500


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda job: job.pop("narration_url"), "narration_url"),
        (lambda job: job.update(transition="fade", transition_duration=2.0), "transition_duration"),
        (lambda job: job.update(captions={"auto": {"model": "nope"}}), "captions.auto.model"),
        (lambda job: job.update(captions={"style": {"kind": "classic"}}), "captions.auto"),
        (lambda job: job["images"][0].update(duracao=0.01), "images[0].duracao"),
    ],
)
def test_bad_inputs_are_refused_naming_the_field(
    compose_job, short_narration, job_context, change, field
):
    job = compose_job(short_narration, [1.0, 1.0])
    change(job)
    with pytest.raises(InputError) as caught:
        run_job(job, job_context())
    assert caught.value.field == field
    assert field in str(caught.value)


def test_a_narration_far_longer_than_the_images_is_refused_naming_it(
    compose_job, make_audio, job_context
):
    narration = make_audio("narração longa.m4a", duration=13.0)
    with pytest.raises(MediaError) as caught:
        run_job(compose_job(narration, [0.5, 0.5]), job_context())
    assert caught.value.field == "narration_url"


def test_an_image_that_is_not_an_image_is_refused_naming_it(
    compose_job, short_narration, media_server, job_context
):
    job = compose_job(short_narration, [1.0, 2.3])
    job["images"][1]["image_url"] = media_server.url(short_narration.name)
    with pytest.raises(MediaError) as caught:
        run_job(job, job_context())
    assert caught.value.field == "images[1].image_url"


def test_the_runpod_handler_runs_a_compose_job(
    worker_env, compose_job, short_narration, job_path, s3_keys, work_root
):
    job_input = compose_job(short_narration, [3.3])
    completed, output = run_handler(worker_env, job_input)
    assert completed.returncode == 0, output
    match = re.search(r"Job result: (\{.*\})", output)
    assert match, output
    result = ast.literal_eval(match.group(1))["output"]
    assert (result["duration_fit"], result["filename"]) == ("exact", "vídeo final.mp4")
    assert s3_keys(job_path) == [f"{job_path}vídeo final.mp4"]
    assert list(work_root.iterdir()) == []
