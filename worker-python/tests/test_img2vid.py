"""img2vid jobs end to end: images from a local media server, real FFmpeg, clips in MinIO.

Clips are short (half a second to a second) to spare the shared cores; geometry is measured on
the decoded clips with the dot and disc helpers of test_kenburns.py.
"""

import math
import os
import shutil
import struct
import subprocess
import threading
import urllib.request
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_kenburns import disc_image, disc_shape, dot_centroids, dot_image, expected_position

from api_gpu_worker import kenburns
from api_gpu_worker.encoders import NvencEncoder
from api_gpu_worker.errors import InputError, JobCancelled, MediaError
from api_gpu_worker.job import run_job
from api_gpu_worker.kenburns import WIDTH, ZOOM_END, Motion, camera_path
from api_gpu_worker.settings import Settings


def serve_image(media_server, image: np.ndarray, suffix: str = ".png") -> str:
    name = f"imagem-{uuid.uuid4().hex[:8]}{suffix}"
    cv2.imwrite(str(media_server.root / name), image)
    return media_server.url(name)


def download(url: str, destination: Path) -> Path:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the test MinIO)
        destination.write_bytes(response.read())
    return destination


def luma_frames(video: Path) -> list[np.ndarray]:
    raw = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(video),
            "-f", "rawvideo", "-pix_fmt", "gray", "-",
        ],
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    frame = 1920 * 1080
    return [
        np.frombuffer(raw[i : i + frame], np.uint8).reshape(1080, 1920)
        for i in range(0, len(raw), frame)
    ]


def ffmpeg_children() -> list[int]:
    """FFmpeg processes this test process started that have not been reaped."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        name = fields[0].split("(", 1)[1]
        parent = int(fields[1].split()[1])
        if name == "ffmpeg" and parent == os.getpid():
            found.append(int(stat.parent.name))
    return found


def img2vid_job(job_path: str, *images: dict) -> dict:
    return {"operation": "img2vid", "images": list(images), "path": job_path}


def check_clip(ffprobe, s3, key: str, clip: Path, seconds: float) -> None:
    """An H.264 1920x1080 24 fps MP4 of exactly round(seconds x 24) frames, stored as video/mp4."""
    assert s3.head_object(Bucket=os.environ["S3_BUCKET_NAME"], Key=key)["ContentType"] == (
        "video/mp4"
    )
    info = ffprobe(clip)
    (video,) = [s for s in info["streams"] if s["codec_type"] == "video"]
    assert [s["codec_type"] for s in info["streams"]] == ["video"]
    assert video["codec_name"] == "h264"
    assert (video["width"], video["height"]) == (1920, 1080)
    assert video["r_frame_rate"] == "24/1"
    assert video["pix_fmt"] == "yuv420p"
    frames = math.floor(seconds * 24 + 0.5)
    assert int(video["nb_read_packets"]) == frames
    assert float(info["format"]["duration"]) == pytest.approx(frames / 24, abs=1 / 24)


def grid_dots(width: int, height: int) -> list[tuple[float, float]]:
    """5 x 3 dots at odd sub-pixel positions, all inside even the most zoomed frame."""
    return sorted(
        (width * (0.2 + 0.15 * column) + 0.13 * column, height * (0.3 + 0.2 * row) + 0.29 * row)
        for column in range(5)
        for row in range(3)
    )


def located_dots(luma: np.ndarray, view, dots) -> tuple[np.ndarray, np.ndarray]:
    """(found, expected) positions of the source dots ``view`` shows well inside the frame."""
    found = np.array(dot_centroids(luma))
    expected = np.array([expected_position(view, x, y) for x, y in dots])
    inside = (np.abs(expected - (959.5, 539.5)) < (900, 500)).all(axis=1)
    expected = expected[inside]
    distances = np.linalg.norm(found[None, :, :] - expected[:, None, :], axis=2)
    nearest = distances.argmin(axis=1)
    assert distances.min(axis=1).max() < 2
    return found[nearest], expected


def fit_zoom(found: np.ndarray, dots: list[tuple[float, float]], scale: float):
    """Least-squares zoom and centre of one frame: found = zoom * scale * (dot - c0) + centre."""
    source = np.array(dots) - np.mean(dots, axis=0)
    zoom = (source * (found - found.mean(axis=0))).sum() / (source**2).sum() / scale
    return zoom, found.mean(axis=0)


def test_a_zoom_clip_is_stored_measured_and_zooms_smoothly_from_the_centre(
    media_server, job_context, job_path, s3, s3_keys, ffprobe, work_root, tmp_path
):
    width, height = 1280, 720
    dots = grid_dots(width, height)
    url = serve_image(media_server, dot_image(width, height, dots))
    progress: list[float] = []

    result = run_job(
        img2vid_job(job_path, {"id": "foto-ação", "image_url": url, "duracao": 1.0}),
        job_context(on_progress=progress.append),
    )

    key = f"{job_path}video_1.mp4"
    (video,) = result["videos"]
    assert result["encoder"] == "libx264"
    assert (video["id"], video["filename"]) == ("foto-ação", "video_1.mp4")
    assert video["video_url"].endswith("/Canal%20A%C3%A7%C3%A3o/video_1.mp4")
    assert s3_keys(job_path) == [key]
    clip = download(video["video_url"], tmp_path / "clip.mp4")
    check_clip(ffprobe, s3, key, clip, 1.0)
    assert progress == sorted(progress) and progress[-1] == 100.0 and 0 < progress[0] < 100
    assert list(work_root.iterdir()) == []

    fits = []
    views = camera_path(Motion.ZOOM_IN, width, height, 24)
    for luma, view in zip(luma_frames(clip), views, strict=True):
        found, _ = located_dots(luma, view, dots)
        assert len(found) == len(dots)
        fits.append(fit_zoom(found, dots, WIDTH / width))
    zooms = np.array([zoom for zoom, _ in fits])
    # To the precision an encoded clip allows (x264 moves single dots by up to ~0.25 px);
    # test_kenburns.py measures the frames before encoding to within 2e-4.
    assert np.allclose(zooms, 1 + (ZOOM_END - 1) * np.arange(24) / 24, atol=4e-4)
    steps = np.diff(zooms)
    assert np.all(steps > 0)
    assert np.abs(steps - (ZOOM_END - 1) / 24).max() < 4e-4
    # The dots' centre sits on the image's centre row and column (up to its own small offset,
    # which grows with the zoom): it must not wander.
    offset = (np.mean(dots, axis=0) - (width / 2, height / 2)) * WIDTH / width
    centres = np.array([centre for _, centre in fits])
    expected = (959.5, 539.5) + zooms[:, None] * offset
    assert np.abs(centres - expected).max() < 0.15


def test_a_4_3_jpeg_and_a_9_16_png_keep_their_proportions(
    media_server, job_context, job_path, s3, ffprobe, tmp_path
):
    images = [
        {"id": "4:3", "size": (800, 600), "radius": 150, "suffix": ".jpg"},
        {"id": "9:16", "size": (540, 960), "radius": 100, "suffix": ".png"},
    ]
    job = img2vid_job(
        job_path,
        *(
            {
                "id": image["id"],
                "image_url": serve_image(
                    media_server, disc_image(*image["size"], image["radius"]), image["suffix"]
                ),
                "duracao": 0.5,
            }
            for image in images
        ),
    )

    result = run_job(job, job_context())

    assert [video["id"] for video in result["videos"]] == ["4:3", "9:16"]
    for number, (image, video) in enumerate(zip(images, result["videos"], strict=True), 1):
        clip = download(video["video_url"], tmp_path / f"{number}.mp4")
        check_clip(ffprobe, s3, f"{job_path}video_{number}.mp4", clip, 0.5)
        roundness, radius = disc_shape(luma_frames(clip)[0])
        # Stretched to 16:9 the disc would be 1.33 (4:3) or 3.16 (9:16) times wider than high.
        assert roundness == pytest.approx(1.0, abs=0.02)
        # Cropped to fill: the image's width fills the frame's.
        assert radius == pytest.approx(image["radius"] * WIDTH / image["size"][0], rel=0.02)


def test_pans_move_the_picture_sideways(media_server, job_context, job_path, tmp_path):
    width, height = 1600, 900
    dots = grid_dots(width, height)
    url = serve_image(media_server, dot_image(width, height, dots))
    job = img2vid_job(
        job_path,
        {"id": "direita", "image_url": url, "duracao": 0.5, "zoom_type": "panright"},
        {"id": "esquerda", "image_url": url, "duracao": 0.5, "zoom_type": "panleft"},
    )

    result = run_job(job, job_context())

    for video, motion in zip(result["videos"], (Motion.PAN_RIGHT, Motion.PAN_LEFT), strict=True):
        clip = download(video["video_url"], tmp_path / video["filename"])
        views = camera_path(motion, width, height, 12)
        errors, mean_errors, moves = [], [], []
        for luma, view in zip(luma_frames(clip), views, strict=True):
            found, expected = located_dots(luma, view, dots)
            assert len(found) >= 6
            errors.append(np.abs(found - expected).max())
            mean_errors.append(np.abs((found - expected).mean(axis=0)).max())
            moves.append(expected_position(view, *dots[7])[0])
        # Every dot where the pan puts it on every frame (x264's quarter-pixel motion
        # compensation moves single dots by up to ~0.25 px; their mean stays far closer).
        assert max(errors) < 0.5
        assert max(mean_errors) < 0.15
        # The camera moving right slides the picture left, by the same step every frame.
        steps = np.diff(moves)
        assert np.all(steps < -50) if motion is Motion.PAN_RIGHT else np.all(steps > 50)


def test_a_batch_of_ten_returns_ids_in_input_order(
    media_server, job_context, job_path, s3_keys, work_root
):
    url = serve_image(media_server, dot_image(640, 360, [(320.5, 180.5)]), ".jpg")
    # Two images share an id: both still get their clip, named by position.
    ids = ["z", "ação 1", "b", "b", "10", "9", "img-7", "x", "primeira", "última"]
    job = img2vid_job(
        job_path, *({"id": image_id, "image_url": url, "duracao": 0.5} for image_id in ids)
    )

    result = run_job(job, job_context())

    assert [video["id"] for video in result["videos"]] == ids
    assert [video["filename"] for video in result["videos"]] == [
        f"video_{n}.mp4" for n in range(1, 11)
    ]
    assert s3_keys(job_path) == sorted(f"{job_path}video_{n}.mp4" for n in range(1, 11))
    assert list(work_root.iterdir()) == []


def test_a_duration_under_one_frame_is_refused_before_any_download(
    media_server, job_context, job_path, s3_keys, work_root
):
    url = serve_image(media_server, dot_image(640, 360, [(320.5, 180.5)]))
    job = img2vid_job(
        job_path,
        {"id": "a", "image_url": url, "duracao": 1.0},
        {"id": "b", "image_url": url, "duracao": 0.02},
    )
    requests_before = len(media_server.requests)

    with pytest.raises(InputError) as caught:
        run_job(job, job_context())

    assert caught.value.field == "images[1].duracao"
    assert caught.value.message.startswith("images[1].duracao: ")
    assert len(media_server.requests) == requests_before
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []


def test_a_file_that_is_not_an_image_fails_naming_it_and_rolls_back_the_other_clips(
    media_server, job_context, job_path, s3_keys, work_root
):
    good = serve_image(media_server, dot_image(640, 360, [(320.5, 180.5)]))
    shutil.copyfile(__file__, media_server.root / "não-é-imagem.png")
    job = img2vid_job(
        job_path,
        {"id": "a", "image_url": good, "duracao": 0.5},
        {"id": "b", "image_url": media_server.url("não-é-imagem.png"), "duracao": 0.5},
    )

    with pytest.raises(MediaError) as caught:
        run_job(job, job_context())

    assert caught.value.field == "images[1].image_url"
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []


def test_an_image_opencv_cannot_decode_fails_naming_it_and_leaves_nothing_behind(
    media_server, job_context, job_path, s3_keys, work_root, monkeypatch
):
    # FFmpeg starts before the image is decoded (the two overlap); OpenCV decodes whatever
    # FFmpeg's trial decode accepts, so its refusal is made here.
    url = serve_image(media_server, dot_image(640, 360, [(320.5, 180.5)]))
    job = img2vid_job(job_path, {"id": "a", "image_url": url, "duracao": 0.5})
    monkeypatch.setattr(kenburns, "load_image", lambda _path: None)

    with pytest.raises(MediaError) as caught:
        run_job(job, job_context())

    assert caught.value.field == "images[0].image_url"
    assert "cannot be decoded" in caught.value.message
    assert ffmpeg_children() == []
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []


def test_an_image_over_the_pixel_cap_is_refused_from_its_header(
    media_server, worker_env, job_path, s3_keys, work_root
):
    from api_gpu_worker.job import JobContext

    url = serve_image(media_server, dot_image(640, 360, [(320.5, 180.5)]))
    settings = Settings.from_env({**worker_env, "MAX_IMAGE_PIXELS": "200000"})
    job = img2vid_job(job_path, {"id": "a", "image_url": url, "duracao": 0.5})

    with pytest.raises(MediaError) as caught:
        run_job(job, JobContext("cap", settings))

    assert caught.value.field == "images[0].image_url"
    assert "640x360" in caught.value.message and "MAX_IMAGE_PIXELS" in caught.value.message
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []


def test_cancel_kills_ffmpeg_and_leaves_nothing_behind(
    media_server, job_context, job_path, s3_keys, work_root
):
    url = serve_image(media_server, dot_image(1280, 720, [(640.5, 360.5)]))
    job = img2vid_job(job_path, {"id": "longo", "image_url": url, "duracao": 120})
    started = threading.Event()
    ctx = job_context(on_progress=lambda _percent: started.set())
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            run_job(job, ctx)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    assert started.wait(60)
    assert ffmpeg_children()
    ctx.cancel()
    worker.join(2)

    assert not worker.is_alive()
    assert ffmpeg_children() == []
    assert len(outcome) == 1 and isinstance(outcome[0], JobCancelled)
    assert s3_keys(job_path) == []
    assert list(work_root.iterdir()) == []


def test_colours_come_back_as_they_were_and_the_clip_says_how_to_read_them(
    media_server, job_context, job_path, ffprobe, tmp_path
):
    bands = [(40, 60, 200), (30, 180, 90), (220, 120, 30)]  # BGR
    image = np.zeros((360, 640, 3), np.uint8)
    for number, colour in enumerate(bands):
        image[:, number * 214 : (number + 1) * 214] = colour
    job = img2vid_job(
        job_path, {"id": "cores", "image_url": serve_image(media_server, image), "duracao": 0.5}
    )

    (video,) = run_job(job, job_context())["videos"]

    clip = download(video["video_url"], tmp_path / "cores.mp4")
    (stream,) = ffprobe(clip)["streams"]
    assert (stream["color_space"], stream["color_range"]) == ("smpte170m", "tv")
    decoded = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(clip),
            "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "bgr24", "-",
        ],
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    frame = np.frombuffer(decoded, np.uint8).reshape(1080, 1920, 3).astype(int)
    for x, colour in zip((320, 960, 1600), bands, strict=True):
        assert np.abs(frame[540, x] - colour).max() <= 6, (frame[540, x], colour)


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation(
    media_server, job_context, job_path, tmp_path
):
    upright = dot_image(640, 360, [(160.5, 180.5)])
    # Stored on its side with EXIF orientation 6 ("rotate 90 degrees clockwise to view").
    stored = cv2.imencode(".jpg", cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE))[1]
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHIHHI", 0x0112, 3, 1, 6, 0, 0)
    app1 = b"Exif\x00\x00" + tiff
    jpeg = stored.tobytes()
    jpeg = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]
    (media_server.root / "retrato.jpg").write_bytes(jpeg)
    job = img2vid_job(
        job_path, {"id": "r", "image_url": media_server.url("retrato.jpg"), "duracao": 0.5}
    )

    (video,) = run_job(job, job_context())["videos"]

    first = luma_frames(download(video["video_url"], tmp_path / "r.mp4"))[0]
    ((x, y),) = dot_centroids(first)
    # Upright, the 640x360 image fills the frame 3x: the dot at (160.5, 180.5) lands at (481, 541).
    assert (x, y) == (pytest.approx(481, abs=0.5), pytest.approx(541, abs=0.5))


def test_an_nvenc_failure_at_run_time_is_encoded_again_on_the_cpu(
    media_server, job_context, job_path, ffprobe, tmp_path
):
    # NVENC chosen (as on a GPU node) but failing when the job runs: here, for real, since this
    # machine's FFmpeg has h264_nvenc and no libcuda.
    url = serve_image(media_server, dot_image(640, 360, [(320.5, 180.5)]))
    ctx = job_context(encoder=NvencEncoder())

    result = run_job(img2vid_job(job_path, {"id": "a", "image_url": url, "duracao": 0.5}), ctx)

    assert result["encoder"] == "libx264"
    assert "h264_nvenc failed" in ctx.fallback_reason
    clip = download(result["videos"][0]["video_url"], tmp_path / "a.mp4")
    assert int(ffprobe(clip)["streams"][0]["nb_read_packets"]) == 12
