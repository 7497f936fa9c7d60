"""audio_trilhasonora: music under a narration given as audio (see `music_bed`); the output's
extension chooses its format: MP3, M4A (AAC) or WAV."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from .. import music_bed
from ..fetch import fetch
from ..job import JobContext
from ..media import require_audio
from ..storage import object_key
from ..usage import record_output

DEFAULT_GAP_LU = 30.0
DEFAULT_DUCKING_DB = 6.0
DEFAULT_FILENAME = "audio_with_trilha.mp3"
AUDIO_FORMATS = {
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "192k", "-f", "mp3"],
    ".m4a": ["-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", "-f", "mp4"],
    ".wav": ["-c:a", "pcm_s16le", "-f", "wav"],
}


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        voice_job = pool.submit(
            fetch, fields["audio_url"], ctx.workdir / "narration", ctx, field="audio_url"
        )
        music_job = pool.submit(
            fetch, fields["trilha_sonora"], ctx.workdir / "music", ctx, field="trilha_sonora"
        )
        voice_path, music_path = voice_job.result(), music_job.result()
    voice = require_audio(voice_path, "audio_url", ctx.settings)
    music = require_audio(music_path, "trilha_sonora", ctx.settings)
    ctx.progress(20)
    ducking = fields.get("ducking_db", DEFAULT_DUCKING_DB)
    levels = music_bed.plan_levels(
        ctx, voice_path, music_path, fields.get("db_offset", DEFAULT_GAP_LU), ducking
    )
    spans = music_bed.speech_spans(ctx, voice_path, voice.duration)
    ctx.progress(40)
    copies = music_bed.loop_copies(music.duration, voice.duration)
    music_inputs = [arg for _ in range(copies) for arg in ("-i", music_path.name)]
    music_graph = music_bed.music_graph(
        list(range(1, copies + 1)),
        music.duration,
        voice.duration,
        levels.music_gain_db,
        music_bed.ducking_expression(spans, ducking),
    )
    filename = fields.get("output_filename", DEFAULT_FILENAME)
    suffix = PurePosixPath(filename).suffix.lower()
    output = ctx.workdir / f"output{suffix}"
    ctx.run(
        [
            "ffmpeg", "-i", voice_path.name, *music_inputs, "-filter_complex",
            music_bed.mix_graph("0:a:0", music_graph), "-map", "[mix]",
            *AUDIO_FORMATS[suffix], output.name,
        ],
        duration_s=voice.duration,
        span=(40.0, 92.0),
    )  # fmt: skip
    # The mix lasts as long as the narration.
    record_output(voice.duration)
    url = ctx.storage.upload(output, object_key(fields["path"], filename))
    result: dict[str, Any] = {"audio_url": url, "filename": filename, "mix": levels.to_dict()}
    if "id_roteiro" in fields:
        result["id_roteiro"] = fields["id_roteiro"]
    return result
