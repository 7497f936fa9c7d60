"""audio_concatenate on real FFmpeg and MinIO: mixed codecs, rates and channels joined, the
format from the extension, silence between parts on request."""

import subprocess
import urllib.request

import numpy as np
import pytest

from api_gpu_worker.job import JobContext, run_job


def download(url, dest):
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the test MinIO)
        dest.write_bytes(response.read())
    return dest


def join(settings, media_server, parts, path, **fields):
    job = {
        "operation": "audio_concatenate",
        "audio_urls": [{"audio_url": media_server.url(part.name)} for part in parts],
        "path": path,
        **fields,
    }
    return run_job(job, JobContext("audio-concat-test", settings))


@pytest.mark.parametrize(("filename", "codec"), [
    ("narração completa.wav", "pcm_s16le"),
    ("narração completa.m4a", "aac"),
    (None, "mp3"),
])  # fmt: skip
def test_mixed_inputs_join_in_the_format_of_the_extension(
    settings, media_server, make_audio, job_path, tmp_path, ffprobe, filename, codec
):
    parts = [
        make_audio("parte 1.mp3", duration=1.0, container="mp3", frequency=440),
        make_audio("parte 2.m4a", duration=0.5, container="m4a", frequency=880),
        make_audio("parte 3.wav", duration=0.75, container="wav", frequency=660),
    ]
    fields = {"gap_s": 0.25, "id_roteiro": 2}
    if filename:
        fields["output_filename"] = filename
    result = join(settings, media_server, parts, job_path, **fields)
    assert result["filename"] == (filename or "audio_concatenated.mp3")
    assert result["id_roteiro"] == 2
    output = download(result["audio_url"], tmp_path / result["filename"])
    info = ffprobe(output)
    (audio,) = info["streams"]
    assert audio["codec_name"] == codec
    assert (int(audio["sample_rate"]), audio["channels"]) == (48000, 2)
    expected = sum(float(ffprobe(p)["format"]["duration"]) for p in parts) + 2 * 0.25
    assert float(info["format"]["duration"]) == pytest.approx(expected, abs=0.06)
    if codec == "pcm_s16le":
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(output), "-ac", "1", "-f", "f32le", "-"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        samples = np.frombuffer(raw, np.float32)
        first_end = float(ffprobe(parts[0])["format"]["duration"])
        gap = samples[int((first_end + 0.05) * 48000) : int((first_end + 0.2) * 48000)]
        assert np.abs(gap).max() < 1e-3
