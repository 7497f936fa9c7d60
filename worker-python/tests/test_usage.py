"""The usage each result reports for the API's ledger: media in and out, images, time by device."""

import threading
import time

import pytest

from api_gpu_worker import usage
from api_gpu_worker.job import JobContext, run_job


def test_gpu_time_counts_overlapping_tasks_once_and_never_exceeds_the_run():
    with usage.metering() as meter:

        def task(seconds: float) -> None:
            with usage.gpu_task():
                time.sleep(seconds)

        side = threading.Thread(target=task, args=(0.2,))
        side.start()
        task(0.2)
        side.join()
        report = meter.report()
    assert 0.2 <= report["gpu_s"] < 0.4
    assert report["gpu_s"] <= report["run_s"]
    assert report["cpu_s"] == pytest.approx(report["run_s"] - report["gpu_s"], abs=0.002)


def test_nothing_is_recorded_outside_a_job():
    usage.record_input(5)
    usage.record_image()
    with usage.metering() as meter:
        report = meter.report()
    assert (report["media_in_s"], report["images"]) == (0, 0)


def test_addaudio_reports_the_media_it_read_and_wrote(
    settings, media_server, make_video, make_audio, job_path
):
    video = make_video("usage-video.mp4", duration=3, size="320x240", fps=24)
    audio = make_audio("usage-audio.m4a", duration=2)
    result = run_job(
        {
            "operation": "addaudio",
            "url_video": media_server.url(video.name),
            "url_audio": media_server.url(audio.name),
            "path": job_path,
            "output_filename": "usage.mp4",
        },
        JobContext("usage-addaudio", settings),
    )
    used = result["usage"]
    assert used["media_in_s"] == pytest.approx(5, abs=0.2)
    assert used["media_out_s"] == pytest.approx(2, abs=0.2)
    assert used["images"] == 0
    # No NVENC on a CPU worker: the whole run is CPU time.
    assert used["gpu_s"] == 0
    assert used["cpu_s"] == used["run_s"] > 0


def test_img2vid_counts_its_images_and_clip_seconds(settings, media_server, make_image, job_path):
    image = make_image("usage-image.png", width=320, height=240)
    result = run_job(
        {
            "operation": "img2vid",
            "images": [
                {"id": "a", "image_url": media_server.url(image.name), "duracao": 1},
                {"id": "b", "image_url": media_server.url(image.name), "duracao": 2},
            ],
            "path": job_path,
        },
        JobContext("usage-img2vid", settings),
    )
    used = result["usage"]
    assert used["images"] == 2
    assert used["media_in_s"] == 0
    assert used["media_out_s"] == pytest.approx(3, abs=0.2)
