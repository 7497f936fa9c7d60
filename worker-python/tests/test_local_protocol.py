"""The local protocol of ``python -m api_gpu_worker.local``, driven as the GPU node drives it."""

import json
import os


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
