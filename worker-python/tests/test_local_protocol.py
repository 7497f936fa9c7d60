"""The local protocol of ``python -m api_gpu_worker.local``, driven as the GPU node drives it."""

import json
import os
import sys
import time
from pathlib import Path


def test_ready_line_then_errors_for_bad_lines_then_exit_on_eof(local_worker):
    worker = local_worker()
    ready = worker.next_message()
    assert ready["type"] == "ready"
    assert ready["encoder"] == "libx264"
    assert ready["nvenc"] is False
    assert ready["whisper_device"] == "cpu"
    assert {"tiny.en", "base"} <= set(ready["models"])
    assert ready["pid"] == worker.pid

    worker.send_line("not json")
    assert worker.next_message() == {
        "type": "error",
        "id": None,
        "error": {"code": "invalid_message", "message": "the line is not JSON", "retryable": False},
    }
    worker.send({"type": "launch", "id": "x"})
    assert worker.next_message()["error"]["code"] == "invalid_message"
    worker.send({"type": "cancel", "id": "nobody-runs-this"})

    error, before = worker.run("job-1", {"operation": "addaudio", "url_video": "ftp://x/v.mp4"})
    assert before == []
    assert error == {
        "type": "error",
        "id": "job-1",
        "error": {
            "code": "invalid_input",
            "message": error["error"]["message"],
            "field": "url_video",
            "retryable": False,
        },
    }
    assert "url_video" in error["error"]["message"]
    assert worker.close() == 0
    assert all(json.loads(line) for line in worker.raw_lines)


def test_a_bad_configuration_stops_the_worker_naming_the_variable(local_worker):
    worker = local_worker(MAX_DOWNLOAD_MB="plenty")
    assert worker.close() == 2
    assert worker.raw_lines == []
    assert "MAX_DOWNLOAD_MB" in "".join(worker.stderr_lines)
    assert os.environ.get("S3_SECRET_KEY", "unset") not in "".join(worker.stderr_lines)


def test_a_job_runs_with_progress_and_a_busy_worker_refuses_a_second(
    local_worker, media_server, make_video, make_audio, job_path, s3_keys, work_root
):
    worker = local_worker()
    assert worker.next_message()["type"] == "ready"
    video = make_video(duration=20, size="320x240", codec="mpeg4", container="mkv")
    audio = make_audio(duration=20, container="wav")
    job = {
        "operation": "addaudio",
        "url_video": media_server.url(video.name),
        "url_audio": media_server.url(audio.name),
        "path": job_path,
        "output_filename": "protocol ção.mp4",
    }
    worker.send({"type": "job", "id": "first", "input": job})
    worker.send({"type": "job", "id": "second", "input": job})
    busy, _ = worker.until("error")
    assert busy == {
        "type": "error",
        "id": "second",
        "error": {"code": "busy", "message": "this worker is running job first", "retryable": True},
    }
    result, before = worker.until("result", "error")
    assert result["type"] == "result", result
    assert result["id"] == "first"
    assert result["output"]["video_stream"] == "re-encoded"
    assert result["output"]["encoder"] == "libx264"
    percents = [message["percent"] for message in before if message["type"] == "progress"]
    assert all(message["id"] == "first" for message in before)
    assert len(percents) >= 3
    assert percents == sorted(percents)
    assert percents[-1] == 100.0
    assert s3_keys(job_path) == [f"{job_path}protocol ção.mp4"]
    assert list(work_root.iterdir()) == []
    assert worker.close() == 0


def test_cancel_kills_ffmpeg_removes_temp_files_and_the_next_job_runs(
    local_worker, media_server, make_video, make_audio, job_path, s3_keys, work_root
):
    worker = local_worker()
    assert worker.next_message()["type"] == "ready"
    long_video = make_video(duration=90, size="640x360", codec="mpeg4", container="mkv")
    long_audio = make_audio(duration=90, container="wav")
    worker.send(
        {
            "type": "job",
            "id": "long",
            "input": {
                "operation": "addaudio",
                "url_video": media_server.url(long_video.name),
                "url_audio": media_server.url(long_audio.name),
                "path": job_path,
                "output_filename": "never.mp4",
            },
        }
    )
    while True:
        message = worker.next_message()
        assert message["type"] == "progress", message
        if message["percent"] > 30:
            break
    encoders = worker.children()
    assert encoders, "FFmpeg should be running"
    assert any(b"ffmpeg" in Path(f"/proc/{pid}/cmdline").read_bytes() for pid in encoders)
    assert list(work_root.iterdir()) != []

    worker.send({"type": "cancel", "id": "long"})
    deadline = time.monotonic() + 2.0
    while any(worker.alive(pid) for pid in encoders) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(worker.alive(pid) for pid in encoders), "FFmpeg still runs 2 s after cancel"
    cancelled, _ = worker.until("cancelled", "result", "error", timeout=2.0)
    assert cancelled == {"type": "cancelled", "id": "long"}
    assert list(work_root.iterdir()) == []
    assert s3_keys(job_path) == []

    short_video = make_video(duration=1, size="160x120")
    short_audio = make_audio(duration=1)
    result, _ = worker.run(
        "after",
        {
            "operation": "addaudio",
            "url_video": media_server.url(short_video.name),
            "url_audio": media_server.url(short_audio.name),
            "path": job_path,
            "output_filename": "after.mp4",
        },
    )
    assert result["type"] == "result", result
    assert s3_keys(job_path) == [f"{job_path}after.mp4"]
    assert worker.close() == 0


def test_end_of_input_lets_the_running_job_finish_and_report(
    local_worker, media_server, make_video, make_audio, job_path, s3_keys
):
    worker = local_worker()
    assert worker.next_message()["type"] == "ready"
    video = make_video(duration=1, size="160x120")
    audio = make_audio(duration=1)
    worker.send(
        {
            "type": "job",
            "id": "last",
            "input": {
                "operation": "addaudio",
                "url_video": media_server.url(video.name),
                "url_audio": media_server.url(audio.name),
                "path": job_path,
                "output_filename": "last.mp4",
            },
        }
    )
    assert worker.close() == 0
    result, _ = worker.until("result", "error", timeout=5)
    assert result["type"] == "result", result
    assert result["id"] == "last"
    assert s3_keys(job_path) == [f"{job_path}last.mp4"]


def test_a_worker_whose_node_is_killed_cancels_its_job_and_exits(
    local_worker, media_server, make_video, make_audio, job_path, s3_keys, work_root
):
    # The stand-in node only launches the worker: once it is SIGKILLed, the worker's stdin stays
    # open (the test holds it), so only the parent's death can tell the worker to stop.
    node = (sys.executable, "-c", "import subprocess, sys; subprocess.run(sys.argv[1:])")
    worker = local_worker(launcher=node)
    ready = worker.next_message()
    assert ready["type"] == "ready"
    worker.pid = ready["pid"]
    video = make_video(duration=90, size="640x360", codec="mpeg4", container="mkv")
    audio = make_audio(duration=90, container="wav")
    worker.send(
        {
            "type": "job",
            "id": "orphan",
            "input": {
                "operation": "addaudio",
                "url_video": media_server.url(video.name),
                "url_audio": media_server.url(audio.name),
                "path": job_path,
                "output_filename": "orphan.mp4",
            },
        }
    )
    # Progress also covers the download and probe: wait for the encode itself.
    encoders: list[int] = []
    while not encoders:
        assert worker.next_message()["type"] == "progress"
        encoders = [
            pid
            for pid in worker.children()
            if b"ffmpeg" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]

    worker.process.kill()
    # A bound for a hung worker, not a speed: under a loaded machine the cleanup takes seconds.
    deadline = time.monotonic() + 30
    while (worker.alive(worker.pid) or any(map(worker.alive, encoders))) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not worker.alive(worker.pid), "the worker outlived its node"
    assert not any(map(worker.alive, encoders)), "FFmpeg outlived the worker's node"
    assert list(work_root.iterdir()) == []
    assert s3_keys(job_path) == []


def test_after_each_job_a_state_line_lists_the_models_held_loaded(
    local_worker, media_server, make_speech, job_path
):
    worker = local_worker()
    ready = worker.next_message()
    assert ready["type"] == "ready"
    assert ready["warm_models"] == []

    failed, _ = worker.run("bad", {"operation": "transcribe", "audio_url": "ftp://x/a.wav"})
    assert failed["type"] == "error"
    assert worker.next_message() == {"type": "state", "warm_models": []}

    speech = make_speech("Good morning.", "bom dia.wav")
    job = {
        "operation": "transcribe",
        "audio_url": media_server.url(speech.name),
        "path": job_path,
        "model": "tiny.en",
    }
    result, _ = worker.run("speech", job)
    assert result["type"] == "result", result
    assert result["output"]["model"] == "tiny.en"
    assert worker.next_message() == {"type": "state", "warm_models": ["tiny.en"]}
    assert worker.close() == 0
