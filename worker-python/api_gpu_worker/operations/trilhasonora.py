"""trilhasonora: music under a video's narration (see `music_bed`); the video stream is copied.

A video without an audio stream has no narration to lay music under: that is the request's
fault, a 400 naming ``url_video``, not a crash.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from .. import music_bed
from ..errors import MediaError
from ..fetch import fetch
from ..job import JobContext
from ..media import require_audio, require_video
from ..output_check import require_playable_video
from ..storage import object_key

DEFAULT_GAP_LU = 20.0
DEFAULT_DUCKING_DB = 6.0
_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        video_job = pool.submit(
            fetch, fields["url_video"], ctx.workdir / "video", ctx, field="url_video"
        )
        music_job = pool.submit(
            fetch, fields["trilha_sonora"], ctx.workdir / "music", ctx, field="trilha_sonora"
        )
        video_path, music_path = video_job.result(), music_job.result()
    video = require_video(video_path, "url_video", ctx.settings)
    if not video.has_audio:
        raise MediaError(
            "url_video: the video has no audio stream, so no narration to lay the music under",
            field="url_video",
        )
    music = require_audio(music_path, "trilha_sonora", ctx.settings)
    ctx.progress(20)
    length = video.audio_duration or video.duration
    ducking = fields.get("ducking_db", DEFAULT_DUCKING_DB)
    levels = music_bed.plan_levels(
        ctx, video_path, music_path, fields.get("volume_reduction_db", DEFAULT_GAP_LU), ducking
    )
    spans = music_bed.speech_spans(ctx, video_path, length)
    ctx.progress(40)
    copies = music_bed.loop_copies(music.duration, length)
    music_inputs = [arg for _ in range(copies) for arg in ("-i", music_path.name)]
    music_graph = music_bed.music_graph(
        list(range(1, copies + 1)),
        music.duration,
        length,
        levels.music_gain_db,
        music_bed.ducking_expression(spans, ducking),
    )
    filename = fields["output_filename"]
    suffix = PurePosixPath(filename).suffix.lower()
    output = ctx.workdir / f"output{suffix}"
    ctx.run(
        [
            "ffmpeg", "-i", video_path.name, *music_inputs, "-filter_complex",
            music_bed.mix_graph("0:a:0", music_graph), "-map", "0:v:0", "-c:v", "copy",
            "-map", "[mix]", "-c:a", "aac", "-b:a", "192k",
            *([] if suffix == ".mkv" else ["-movflags", "+faststart"]),
            "-f", _MUXERS[suffix], output.name,
        ],
        duration_s=length,
        span=(40.0, 92.0),
    )  # fmt: skip
    require_playable_video(output, "video_url")
    url = ctx.storage.upload(output, object_key(fields["path"], filename))
    result: dict[str, Any] = {
        "video_url": url,
        "filename": filename,
        "video_stream": "copied",
        "mix": levels.to_dict(),
    }
    if "id_roteiro" in fields:
        result["id_roteiro"] = fields["id_roteiro"]
    return result
