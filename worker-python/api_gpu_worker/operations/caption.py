"""caption: burn SRT or ASS subtitles into a video with libass; the audio is copied as it is.

The one exception: audio the output container cannot carry (PCM from a MOV into an MP4, say) is
encoded to AAC rather than failing the job.

The subtitles are checked and rewritten to ``subs.srt`` or ``subs.ass`` in the job's work
directory, which is FFmpeg's working directory, so the filtergraph only ever names that fixed file
and no URL or file name reaches it. ASS files keep their styles and ``{\\k}`` karaoke timing; a
``style`` restyles every cue (of an ASS file too) through libass's style overrides, and without
one SRT cues get libass's default look, as the replaced service's ``subtitles=file.srt`` gave.
"""

from pathlib import PurePosixPath
from typing import Any

from ..caption_style import (
    caption_style,
    filter_value,
    force_style,
    require_installed_font,
)
from ..encoders import EncoderConfig, run_encode
from ..errors import MediaError
from ..fetch import fetch
from ..job import JobContext
from ..media import require_video
from ..output_check import require_playable_video
from ..storage import content_type_for, object_key
from ..subtitles import SubtitleError, parse_subtitles

MAX_SUBTITLE_BYTES = 20 * 1024 * 1024
_FASTSTART_SUFFIXES = {".mp4", ".m4v", ".mov"}
_CARRIED_AUDIO = {
    ".mp4": {"aac", "mp3", "alac", "ac3", "eac3"},
    ".m4v": {"aac", "mp3", "alac", "ac3", "eac3"},
    ".mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le"},
}
_AAC = ["-c:a", "aac", "-b:a", "192k"]
_FETCH_SPAN = 5.0
_ENCODE_SPAN = (5.0, 97.0)


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    overrides = None
    if "style" in fields:
        style = caption_style(fields["style"])
        require_installed_font(style.font_name)
        overrides = force_style(style)

    video = fetch(fields["url_video"], ctx.workdir / "input-video", ctx, field="url_video")
    info = require_video(video, "url_video", ctx.settings)
    ctx.progress(_FETCH_SPAN / 2)
    subtitles_download = fetch(
        fields["url_srt"], ctx.workdir / "input-subtitles", ctx, field="url_srt"
    )
    if subtitles_download.stat().st_size > MAX_SUBTITLE_BYTES:
        raise MediaError(
            f"url_srt: the subtitle file is larger than {MAX_SUBTITLE_BYTES // (1024 * 1024)} MB",
            field="url_srt",
        )
    try:
        subtitles = parse_subtitles(subtitles_download.read_bytes(), "url_srt")
    except SubtitleError as error:
        raise MediaError(error.message, field=error.field) from None
    subtitles_file = ctx.workdir / f"subs{subtitles.suffix}"
    subtitles_file.write_bytes(subtitles.content)
    ctx.progress(_FETCH_SPAN)

    output_filename = fields["output_filename"]
    suffix = PurePosixPath(output_filename).suffix.lower()
    output = ctx.workdir / f"output{suffix}"
    video_filter = subtitles_filter(subtitles_file.name, overrides)
    carried = _CARRIED_AUDIO.get(suffix)
    audio_args = (
        _AAC if carried is not None and info.audio_codec not in carried else ["-c:a", "copy"]
    )

    def command(encoder: EncoderConfig) -> list[str]:
        return [
            "ffmpeg", "-nostdin", "-y", *encoder.decode_args(), "-i", video.name,
            "-map", "0:v:0", "-map", "0:a?", "-vf", video_filter,
            *encoder.encode_args(), *audio_args,
            *(["-movflags", "+faststart"] if suffix in _FASTSTART_SUFFIXES else []),
            output.name,
        ]  # fmt: skip

    encoder = run_encode(ctx, command, duration_s=info.duration, span=_ENCODE_SPAN)
    ctx.check_cancelled()
    require_playable_video(output, "video_url")
    key = object_key(fields["path"], output_filename)
    url = ctx.storage.upload(output, key, content_type_for(output_filename))
    return {"video_url": url, "filename": output_filename, "encoder": encoder.name}


def subtitles_filter(subtitles_name: str, overrides: str | None) -> str:
    """The ``subtitles`` filter for a file in FFmpeg's working directory, every value escaped."""
    options = [f"filename={filter_value(subtitles_name)}"]
    if overrides is not None:
        options.append(f"force_style={filter_value(overrides)}")
    return "subtitles=" + ":".join(options)
