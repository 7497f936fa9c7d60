"""rp_handler.py under the runpod SDK's own local test mode (``--test_input``), as a subprocess."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

WORKER_DIR = Path(__file__).resolve().parents[1]


def run_handler(env, job_input):
    completed = subprocess.run(
        [sys.executable, "rp_handler.py", "--test_input", json.dumps({"input": job_input})],
        cwd=WORKER_DIR,
        env={**env, "PYTHONPATH": str(WORKER_DIR)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return completed, completed.stdout + completed.stderr


def test_an_addaudio_job_runs_and_its_result_is_returned(
    worker_env, media_server, make_video, make_audio, job_path, s3_keys, work_root
):
    video = make_video(duration=2, size="160x120")
    audio = make_audio(duration=1.5)
    job_input = {
        "operation": "addaudio",
        "url_video": media_server.url(video.name) + "?X-Amz-Signature=top-secret",
        "url_audio": media_server.url(audio.name),
        "path": job_path,
        "output_filename": "runpod.mp4",
    }
    completed, output = run_handler(worker_env, job_input)
    assert completed.returncode == 0, output
    match = re.search(r"Job result: (\{.*\})", output)
    assert match, output
    result = ast.literal_eval(match.group(1))["output"]
    assert result["video_stream"] == "copied"
    assert result["filename"] == "runpod.mp4"
    assert s3_keys(job_path) == [f"{job_path}runpod.mp4"]
    assert "top-secret" not in output
    assert worker_env["S3_SECRET_KEY"] not in output
    assert list(work_root.iterdir()) == []


def test_a_bad_job_fails_with_the_error_dict_naming_the_field(
    worker_env, media_server, job_path, s3_keys
):
    job_input = {
        "operation": "addaudio",
        "url_video": media_server.url("missing.mp4"),
        "url_audio": media_server.url("missing.mp3"),
        "path": job_path,
        "output_filename": "never.mp4",
    }
    completed, output = run_handler(worker_env, job_input)
    assert completed.returncode == 1, output
    match = re.search(r"failed with error: (\{.*\})", output)
    assert match, output
    error = json.loads(match.group(1))
    assert error["code"] == "fetch_failed"
    assert error["field"] in ("url_video", "url_audio")
    assert "404" in error["message"]
    assert error["retryable"] is False
    assert s3_keys(job_path) == []


def test_a_bad_configuration_stops_the_worker_naming_the_variable(worker_env):
    env = {**worker_env, "DOWNLOAD_TIMEOUT_S": "soon"}
    completed, output = run_handler(env, {"operation": "addaudio"})
    assert completed.returncode == 2
    assert "DOWNLOAD_TIMEOUT_S" in output
    assert os.environ["S3_SECRET_KEY"] not in output


def test_deadline_s_beside_the_fields_stops_the_job_as_timed_out(
    worker_env, media_server, job_path, s3_keys, work_root, tmp_path
):
    segment = tmp_path / "black.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
         "-i", "color=black:size=1280x720:rate=30:duration=2",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(segment)],
        check=True,
    )  # fmt: skip
    (tmp_path / "list.txt").write_text("file 'black.mp4'\n" * 900, encoding="utf-8")
    long_video = media_server.root / "rp-half-hour.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", "list.txt",
         "-c", "copy", str(long_video)],
        cwd=tmp_path, check=True,
    )  # fmt: skip
    (media_server.root / "rp.srt").write_text(
        "1\n00:00:00,000 --> 00:00:01,000\nOlá\n", encoding="utf-8"
    )
    job_input = {
        "operation": "caption",
        "url_video": media_server.url(long_video.name),
        "url_srt": media_server.url("rp.srt"),
        "path": job_path,
        "output_filename": "never.mp4",
        "deadline_s": 3,
    }
    completed, output = run_handler(worker_env, job_input)
    assert completed.returncode == 1, output
    match = re.search(r"failed with error: (\{.*\})", output)
    assert match, output
    error = json.loads(match.group(1))
    assert error["code"] == "timed_out", error
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []
