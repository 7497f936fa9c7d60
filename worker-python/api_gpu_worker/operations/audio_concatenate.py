"""audio_concatenate: audio files joined in order into one, in the format the output's extension
names (MP3, M4A or WAV). Whatever each input is (codec, rate, channels), it is decoded and
resampled to 48 kHz stereo, so mixed inputs join cleanly; ``gap_s`` of silence goes between two
files. The output is encoded once."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from ..fetch import fetch
from ..job import JobContext
from ..media import require_audio
from ..storage import object_key
from .audio_trilhasonora import AUDIO_FORMATS

DEFAULT_FILENAME = "audio_concatenated.mp3"
SAMPLE_RATE = 48000
_DOWNLOADS = 4


def run(fields: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    urls = [item["audio_url"] for item in fields["audio_urls"]]

    def one(index: int):
        field = f"audio_urls[{index}].audio_url"
        path = fetch(urls[index], ctx.workdir / f"part_{index + 1}", ctx, field=field)
        return path, require_audio(path, field, ctx.settings)

    with ThreadPoolExecutor(max_workers=min(_DOWNLOADS, len(urls))) as pool:
        parts = list(pool.map(one, range(len(urls))))
    ctx.progress(30)
    gap = fields.get("gap_s", 0)
    fmt = f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo"
    chains = []
    for i in range(len(parts)):
        pad = f",apad=pad_dur={gap}" if gap and i < len(parts) - 1 else ""
        chains.append(f"[{i}:a:0]asetpts=PTS-STARTPTS,aresample={SAMPLE_RATE},{fmt}{pad}[a{i}]")
    labels = "".join(f"[a{i}]" for i in range(len(parts)))
    graph = ";".join([*chains, f"{labels}concat=n={len(parts)}:v=0:a=1[out]"])
    duration = sum(info.duration for _, info in parts) + gap * (len(parts) - 1)
    filename = fields.get("output_filename", DEFAULT_FILENAME)
    suffix = PurePosixPath(filename).suffix.lower()
    output = ctx.workdir / f"output{suffix}"
    inputs = [arg for path, _ in parts for arg in ("-i", path.name)]
    ctx.run(
        ["ffmpeg", *inputs, "-filter_complex", graph, "-map", "[out]",
         *AUDIO_FORMATS[suffix], output.name],
        duration_s=duration,
        span=(30.0, 92.0),
    )  # fmt: skip
    # What the file holds, not the sum of the inputs' durations (an MP3's is an estimate).
    duration = require_audio(output, "output_filename", ctx.settings, job_output=True).duration
    url = ctx.storage.upload(output, object_key(fields["path"], filename))
    result: dict[str, Any] = {
        "audio_url": url,
        "filename": filename,
        "duration": round(duration, 6),
    }
    if "id_roteiro" in fields:
        result["id_roteiro"] = fields["id_roteiro"]
    return result
