"""img2vid as one part of a batch the API split: clips numbered from ``start_index + 1``."""

from test_img2vid import img2vid_job, serve_image
from test_kenburns import dot_image

from api_gpu_worker.job import run_job
from api_gpu_worker.kenburns import Motion
from api_gpu_worker.operations.img2vid import motion_for


def test_a_part_names_its_clips_after_the_images_before_it(
    media_server, job_context, job_path, s3_keys, work_root
):
    url = serve_image(media_server, dot_image(640, 360, [(320.5, 180.5)]), ".jpg")
    ids = ["ação-101", "b", "b"]
    job = {
        **img2vid_job(job_path, *({"id": i, "image_url": url, "duracao": 2 / 24} for i in ids)),
        "start_index": 100,
    }

    result = run_job(job, job_context())

    names = ["video_101.mp4", "video_102.mp4", "video_103.mp4"]
    assert [(video["id"], video["filename"]) for video in result["videos"]] == list(
        zip(ids, names, strict=True)
    )
    assert [video["video_url"].rsplit("/", 1)[1] for video in result["videos"]] == names
    assert s3_keys(job_path) == [f"{job_path}{name}" for name in names]
    assert list(work_root.iterdir()) == []


def test_without_start_index_a_job_starts_at_video_1(media_server, job_context, job_path, s3_keys):
    url = serve_image(media_server, dot_image(640, 360, [(320.5, 180.5)]), ".jpg")
    job = img2vid_job(job_path, {"id": "só", "image_url": url, "duracao": 2 / 24})

    result = run_job(job, job_context())

    assert [video["filename"] for video in result["videos"]] == ["video_1.mp4"]
    assert s3_keys(job_path) == [f"{job_path}video_1.mp4"]


def test_zoom_types_spread_in_turn_the_same_for_a_split_part_as_for_the_whole():
    zoom_types = ["zoomin", "zoompanright", "zoomin", "zoompanleft"]
    images = [{"id": str(i)} for i in range(10)]
    images[5]["zoom_type"] = "zoomout"
    whole = [motion_for(image, i, zoom_types) for i, image in enumerate(images)]
    assert [m.value for m in whole] == [
        "zoomin", "panright", "zoomin", "panleft", "zoomin",
        "zoomout", "zoomin", "panleft", "zoomin", "panright",
    ]  # fmt: skip
    part = [motion_for(image, 6 + i, zoom_types) for i, image in enumerate(images[6:])]
    assert part == whole[6:]
    assert whole == [motion_for(image, i, zoom_types) for i, image in enumerate(images)]
    assert motion_for({}, 3, []) is Motion.ZOOM_IN
