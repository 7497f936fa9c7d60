"""Music under a narration on real FFmpeg and MinIO: the narration's loudness untouched, the
music ducked while it speaks, no click at the loop seams, the video stream copied."""

import subprocess
import urllib.request

import numpy as np
import pytest
from test_addaudio import packet_hashes

from api_gpu_worker.errors import MediaError
from api_gpu_worker.job import JobContext, run_job

RATE = 48000
MUSIC_HZ = 220
# Speech stands in as 1 kHz tone bursts, so the music (220 Hz) can be measured apart from it.
SPEECH = [(0.5, 2.5), (4.5, 6.5)]
LENGTH = 8.0


def download(url, dest):
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the test MinIO)
        dest.write_bytes(response.read())
    return dest


def make(path, source, *extra):
    if not path.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", *source, *extra, str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def narration(media_server):
    on = "+".join(f"between(t,{start},{end})" for start, end in SPEECH)
    tone = f"aevalsrc='0.3*sin(2*PI*1000*t)*({on})':s={RATE}:d={LENGTH}"
    return make(media_server.root / "narração.wav", ["-f", "lavfi", "-i", tone])


@pytest.fixture(scope="module")
def music(media_server):
    # 2.31 s is not a whole number of periods: a plain loop would jump in phase at each seam.
    tone = f"sine=frequency={MUSIC_HZ}:sample_rate={RATE}:duration=2.31"
    return make(media_server.root / "trilha.wav", ["-f", "lavfi", "-i", tone], "-af", "volume=0.5")


def pcm(path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(RATE),
         "-f", "f32le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.float32)


def integrated_lufs(path, start: float = 0, end: float = 1e6) -> float:
    completed = subprocess.run(
        ["ffmpeg", "-nostats", "-ss", str(start), "-to", str(end), "-i", str(path),
         "-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, check=True, text=True,
    )  # fmt: skip
    summary = completed.stderr[completed.stderr.rindex("Summary:") :]
    line = next(line for line in summary.splitlines() if line.strip().startswith("I:"))
    return float(line.split()[1])


def music_level_db(samples: np.ndarray, start: float, end: float) -> float:
    """Level of the 220 Hz music in [start, end), from its FFT bin."""
    window = samples[int(start * RATE) : int(end * RATE)]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    freqs = np.fft.rfftfreq(len(window), 1 / RATE)
    band = spectrum[(freqs > MUSIC_HZ - 20) & (freqs < MUSIC_HZ + 20)]
    return 20 * np.log10(band.max() + 1e-12)


def lay_music(settings, media_server, voice, music_file, path, **fields):
    job = {
        "operation": "audio_trilhasonora",
        "audio_url": media_server.url(voice.name),
        "trilha_sonora": media_server.url(music_file.name),
        "path": path,
        **fields,
    }
    return run_job(job, JobContext("trilha-test", settings))


def test_narration_level_untouched_music_ducked_and_no_click_at_seams(
    settings, media_server, narration, music, job_path, tmp_path
):
    result = lay_music(
        settings, media_server, narration, music, job_path,
        output_filename="narração com trilha.wav", db_offset=12, ducking_db=10, id_roteiro=8,
    )  # fmt: skip
    assert result["filename"] == "narração com trilha.wav"
    assert result["id_roteiro"] == 8
    output = download(result["audio_url"], tmp_path / "out.wav")
    samples = pcm(output)
    assert len(samples) == pytest.approx(LENGTH * RATE, abs=RATE / 100)

    # The narration where it speaks (in the pauses the mix holds music where it had silence).
    for start, end in SPEECH:
        before = integrated_lufs(narration, start + 0.1, end - 0.1)
        assert abs(integrated_lufs(output, start + 0.1, end - 0.1) - before) <= 0.5
    assert result["mix"]["narration_lufs"] == pytest.approx(integrated_lufs(narration), abs=0.2)
    assert result["mix"]["music_lufs"] == pytest.approx(
        result["mix"]["narration_lufs"] - 12, abs=0.01
    )

    speaking = music_level_db(samples, 1.0, 2.0)
    pause = music_level_db(samples, 3.05, 4.25)
    assert pause - speaking >= 10 - 0.5

    assert np.abs(samples[: int(0.02 * RATE)]).max() < 0.01


def test_no_click_where_the_music_loop_closes(settings, media_server, music, job_path, tmp_path):
    # One word at the start, then the music alone across every seam until the fade-out; its
    # largest sample step must be that of a smooth 220 Hz sine of its amplitude, where a loop
    # joined without a crossfade jumps by a good part of the amplitude.
    voice = make(
        media_server.root / "uma palavra.wav",
        ["-f", "lavfi", "-i",
         f"aevalsrc='0.3*sin(2*PI*1000*t)*between(t,0.5,1.5)':s={RATE}:d={LENGTH}"],
    )  # fmt: skip
    result = lay_music(
        settings, media_server, voice, music, job_path, output_filename="sem clique.wav"
    )
    samples = pcm(download(result["audio_url"], tmp_path / "out.wav"))
    window = samples[int(2.1 * RATE) : int(5.9 * RATE)]
    smooth_step = 2 * np.pi * MUSIC_HZ / RATE * np.abs(window).max()
    assert np.abs(np.diff(window)).max() <= 1.5 * smooth_step


def test_video_narration_gets_music_with_its_video_stream_copied(
    settings, media_server, make_video, music, job_path, tmp_path, ffprobe
):
    video = make_video("vídeo narrado.mp4", duration=3, size="160x90")
    job = {
        "operation": "trilhasonora",
        "url_video": media_server.url(video.name),
        "trilha_sonora": media_server.url(music.name),
        "path": job_path,
        "output_filename": "vídeo com trilha.mp4",
        "volume_reduction_db": 18,
    }
    result = run_job(job, JobContext("trilha-video-test", settings))
    assert result["video_stream"] == "copied"
    output = download(result["video_url"], tmp_path / "out.mp4")
    assert packet_hashes(output) == packet_hashes(video)
    info = ffprobe(output)
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert float(audio["duration"]) == pytest.approx(3, abs=0.03)
    assert abs(integrated_lufs(output) - integrated_lufs(video)) <= 0.5
    assert result["mix"]["music_lufs"] == pytest.approx(
        result["mix"]["narration_lufs"] - 18, abs=0.01
    )


def test_a_video_without_audio_is_refused_naming_url_video(
    settings, media_server, make_video, music, job_path
):
    video = make_video(duration=1, size="160x90", audio=False)
    job = {
        "operation": "trilhasonora",
        "url_video": media_server.url(video.name),
        "trilha_sonora": media_server.url(music.name),
        "path": job_path,
        "output_filename": "x.mp4",
    }
    with pytest.raises(MediaError) as refused:
        run_job(job, JobContext("trilha-mute-test", settings))
    assert refused.value.field == "url_video"
