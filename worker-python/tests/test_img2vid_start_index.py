"""img2vid as one part of a batch the API split: clips numbered from ``start_index + 1``."""

from test_img2vid import img2vid_job, serve_image
from test_kenburns import dot_image

from api_gpu_worker.job import run_job


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
