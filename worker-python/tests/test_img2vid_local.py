"""A long img2vid cancelled through the local protocol, as the GPU node cancels it."""

import time
from pathlib import Path

from test_img2vid import serve_image
from test_kenburns import dot_image


def test_a_long_img2vid_cancelled_stops_ffmpeg_within_2_s_and_the_next_job_runs(
    local_worker, media_server, job_path, s3_keys, work_root
):
    worker = local_worker()
    assert worker.next_message()["type"] == "ready"
    url = serve_image(media_server, dot_image(1280, 720, [(640.5, 360.5)]))
    images = [{"id": "longa", "image_url": url, "duracao": 300}]
    worker.send(
        {"type": "job", "id": "long", "input": {"operation": "img2vid", "images": images,
                                                "path": job_path}}
    )  # fmt: skip
    while True:
        message = worker.next_message()
        assert message["type"] == "progress", message
        if message["percent"] > 1:
            break
    encoders = worker.children()
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

    images = [{"id": "curta", "image_url": url, "duracao": 0.5}]
    result, _ = worker.run("after", {"operation": "img2vid", "images": images, "path": job_path})
    assert result["type"] == "result", result
    assert [video["id"] for video in result["output"]["videos"]] == ["curta"]
    assert s3_keys(job_path) == [f"{job_path}video_1.mp4"]
    assert worker.close() == 0
