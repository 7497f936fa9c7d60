"""The in-process header read against ffprobe's: every field it gives is ffprobe's, as printed."""

import pytest

from api_gpu_worker.media import probe, probe_in_process, require_video

FILES = {
    # img2vid's kind of clip: H.264 in MP4 with a frame count in the header, here with AAC.
    "clipe_ação.mp4": {},
    # B-frames: decode times start below zero, so the start times matter.
    "clipe_b_quadros.mp4": {"extra": ("-bf", "2", "-preset:v", "medium"), "fps": 25},
    # Matroska keeps no frame count and gives times in milliseconds.
    "clipe_sem_contagem.mkv": {"container": "mkv", "fps": 30},
    # A MOV with a timecode track: a data stream no decoder reads.
    "clipe_com_timecode.mov": {"container": "mov", "extra": ("-timecode", "00:00:01:00")},
    "clipe_hevc.mp4": {"codec": "libx265", "audio": False, "extra": ("-pix_fmt", "yuv420p10le")},
}


@pytest.mark.parametrize("name", FILES)
def test_every_field_read_in_process_is_ffprobes(make_video, settings, name):
    options = FILES[name]
    path = make_video(name, **{"duration": 1.0, **options})
    ours = probe_in_process(path)
    theirs = probe(path, ("-show_data_hash", "MD5"))
    assert ours is not None
    assert [s["codec_type"] for s in ours["streams"]] == [
        s["codec_type"] for s in theirs["streams"]
    ]
    for key, value in ours["format"].items():
        assert value == theirs["format"][key], key
    for mine, probed in zip(ours["streams"], theirs["streams"], strict=True):
        for key, value in mine.items():
            assert value == probed.get(key), (mine["codec_type"], key)
    if "mkv" not in name:
        assert "nb_frames" in ours["streams"][0]
    assert require_video(path, "video_url", settings, ours) == require_video(
        path, "video_url", settings, theirs
    )


def test_what_is_not_media_is_left_to_ffprobe(tmp_path):
    text = tmp_path / "não_é_vídeo.mp4"
    text.write_bytes(b"not a video")
    assert probe_in_process(text) is None
    assert probe_in_process(tmp_path / "ausente.mp4") is None
