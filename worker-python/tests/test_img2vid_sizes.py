"""img2vid in every size, and fit "blur": frames measured before and after encoding."""

import math
import subprocess

import numpy as np
import pytest
from test_img2vid import download, img2vid_job, serve_image
from test_kenburns import disc_image, disc_shape

from api_gpu_worker import kenburns
from api_gpu_worker.job import run_job
from api_gpu_worker.kenburns import KenBurns, Motion


def first_luma(image: np.ndarray, size: tuple[int, int], fit: str, motion=Motion.ZOOM_IN):
    clip = KenBurns(image, motion, 4, size, fit)
    buffer = np.empty(kenburns.frame_bytes(size), np.uint8)
    clip.render(0, buffer)
    width, height = size
    return buffer[: width * height].reshape(height, width).astype(np.float64)


def span(mask: np.ndarray, axis: int) -> tuple[int, int]:
    found = np.nonzero(mask.any(axis=axis))[0]
    return int(found.min()), int(found.max())


@pytest.mark.parametrize(
    ("image_size", "frame_size"),
    [
        ((540, 960), (1920, 1080)),
        ((960, 540), (1080, 1920)),
        ((800, 600), (1080, 1080)),
        ((1500, 2000), (1280, 720)),
    ],
)
def test_blur_shows_the_whole_image_round_over_a_dark_backdrop(image_size, frame_size) -> None:
    width, height = image_size
    radius = min(width, height) / 5
    luma = first_luma(disc_image(width, height, radius), frame_size, "blur")
    scale = min(frame_size[0] / width, frame_size[1] / height)
    # The white of the image, edge to edge, is in the frame, centred; around it only the backdrop.
    bright = luma > 200
    left, right = span(bright, 0)
    top, bottom = span(bright, 1)
    assert right - left + 1 == pytest.approx(width * scale, abs=4)
    assert bottom - top + 1 == pytest.approx(height * scale, abs=4)
    assert (left + right) / 2 == pytest.approx(frame_size[0] / 2, abs=3)
    assert (top + bottom) / 2 == pytest.approx(frame_size[1] / 2, abs=3)
    backdrop = np.ones_like(bright)
    backdrop[top : bottom + 1, left : right + 1] = False
    if backdrop.any():
        assert 60 < np.median(luma[backdrop]) < 160, "the backdrop is not the darkened image"
    roundness, found_radius = disc_shape(luma[top : bottom + 1, left : right + 1])
    assert roundness == pytest.approx(1.0, abs=0.02)
    assert found_radius == pytest.approx(radius * scale, rel=0.03)


@pytest.mark.parametrize("frame_size", [(1080, 1920), (1080, 1080), (1280, 720)])
def test_cover_fills_every_size_and_zooms_to_1_324(frame_size) -> None:
    image = disc_image(1600, 900, 120)
    views = kenburns.camera_path(Motion.ZOOM_IN, 1600, 900, 24, frame_size)
    assert views[0].width / views[0].height == pytest.approx(frame_size[0] / frame_size[1])
    assert views[0].width / views[-1].width == pytest.approx(1 + 0.324 * 23 / 24)
    roundness, radius = disc_shape(first_luma(image, frame_size, "cover"))
    assert roundness == pytest.approx(1.0, abs=0.02)
    assert radius == pytest.approx(120 * frame_size[0] / views[0].width, rel=0.03)


def test_a_vertical_blur_job_is_frame_exact(media_server, job_context, job_path, ffprobe, tmp_path):
    url = serve_image(media_server, disc_image(640, 360, 60))
    job = {
        **img2vid_job(job_path, {"id": "a", "image_url": url, "duracao": 0.6}),
        "resolution": "1080x1920",
        "fit": "blur",
    }

    result = run_job(job, job_context())

    clip = download(result["videos"][0]["video_url"], tmp_path / "v.mp4")
    (video,) = [s for s in ffprobe(clip)["streams"] if s["codec_type"] == "video"]
    assert (video["width"], video["height"], video["r_frame_rate"]) == (1080, 1920, "24/1")
    assert int(video["nb_read_packets"]) == math.floor(0.6 * 24 + 0.5)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(clip), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "gray", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    luma = np.frombuffer(raw, np.uint8).reshape(1920, 1080).astype(np.float64)
    top, bottom = span(luma > 200, 1)
    # The landscape image across the whole width, 1080 x 360/640 high, between blurred bands.
    assert bottom - top + 1 == pytest.approx(1080 * 360 / 640, abs=6)
    assert np.median(luma[:300]) < 160
