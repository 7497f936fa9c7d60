"""Music under a narration: the one mix both trilhasonora operations make.

* The narration passes through untouched in level: ``amix`` runs with ``normalize=0`` (by default
  it divides every input by the input count, which lowered the replaced service's narration by
  about 6 dB).
* The music is looped with a crossfade at each seam (equal-power, ``SEAM_S`` long, so no click
  where the loop closes), cut to the narration's length, faded in and out.
* Its level is set from loudness, not mean volume: both are measured with FFmpeg's EBU R128
  meter, and the music is given the gain that puts it ``gap_lu`` below the narration.
* While the narration speaks the music goes ``ducking_db`` further down. Speech is found with
  ``silencedetect`` on the narration; spans closer than ``BRIDGE_S`` are merged so the music does
  not pump between words; the gain ramps down over ``ATTACK_S`` before speech and back over
  ``RELEASE_S`` after it.
"""

from dataclasses import dataclass
from pathlib import Path

from .job import JobContext

SAMPLE_RATE = 48000
SEAM_S = 0.5
FADE_IN_S = 1.0
FADE_OUT_S = 2.0
ATTACK_S = 0.15
RELEASE_S = 0.5
BRIDGE_S = 0.8
SILENCE_THRESHOLD_DB = -40
SILENCE_MIN_S = 0.3
# The ducking gain is evaluated once per audio frame; frames as they come (acrossfade passes on
# whole seconds) would move it in audible steps.
_GAIN_STEP_SAMPLES = 256
_FORMAT = f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo"


@dataclass(frozen=True)
class MixLevels:
    narration_lufs: float
    music_lufs: float
    music_gain_db: float
    ducking_db: float

    def to_dict(self) -> dict[str, float]:
        return {
            "narration_lufs": round(self.narration_lufs, 2),
            "music_lufs": round(self.music_lufs, 2),
            "music_gain_db": round(self.music_gain_db, 2),
            "ducking_db": round(self.ducking_db, 2),
        }


def loudness(ctx: JobContext, path: Path, stream: str = "a:0") -> float:
    """Integrated loudness (LUFS, EBU R128) of one audio stream of ``path``."""
    log = ctx.workdir / f"loudness-{path.name}.txt"
    ctx.run(
        [
            "ffmpeg", "-i", path, "-map", f"0:{stream}", "-af",
            f"ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file={log.name}",
            "-f", "null", "-",
        ]
    )  # fmt: skip
    values = [
        float(line.split("=", 1)[1])
        for line in log.read_text().splitlines()
        if line.startswith("lavfi.r128.I=")
    ]
    log.unlink()
    # Silence measures -70 LUFS (the absolute gate); nothing quieter means anything.
    return max(values[-1], -70.0) if values else -70.0


def speech_spans(ctx: JobContext, path: Path, duration: float) -> list[tuple[float, float]]:
    """Where the narration speaks, from silencedetect; near spans merged."""
    log = ctx.workdir / "silences.txt"
    ctx.run(
        [
            "ffmpeg", "-i", path, "-map", "0:a:0", "-af",
            f"silencedetect=noise={SILENCE_THRESHOLD_DB}dB:d={SILENCE_MIN_S},"
            f"ametadata=mode=print:file={log.name}",
            "-f", "null", "-",
        ]
    )  # fmt: skip
    silences: list[list[float]] = []
    for line in log.read_text().splitlines():
        if line.startswith("lavfi.silence_start="):
            silences.append([max(0.0, float(line.split("=", 1)[1])), duration])
        elif line.startswith("lavfi.silence_end=") and silences:
            silences[-1][1] = float(line.split("=", 1)[1])
    log.unlink()
    spans, cursor = [], 0.0
    for start, end in silences:
        if start > cursor:
            spans.append((cursor, start))
        cursor = end
    if cursor < duration:
        spans.append((cursor, duration))
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start - merged[-1][1] < BRIDGE_S:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def ducking_expression(spans: list[tuple[float, float]], depth_db: float) -> str:
    """A ``volume`` expression of t: 0 dB in pauses, -depth during speech, ramped at each edge."""
    if not spans or depth_db <= 0:
        return "1"
    ramps = [
        f"clip(min((t-{start - ATTACK_S:.3f})/{ATTACK_S},1-(t-{end:.3f})/{RELEASE_S}),0,1)"
        for start, end in spans
    ]
    depth = ramps[0]
    for ramp in ramps[1:]:
        depth = f"max({depth},{ramp})"
    return f"pow(10,-{depth_db:.3f}*{depth}/20)"


def loop_copies(music_duration: float, length: float) -> int:
    """How many copies of the music, overlapped by their seams, cover ``length`` seconds."""
    seam = _seam(music_duration)
    copies = 1
    while copies * music_duration - (copies - 1) * seam < length:
        copies += 1
    return copies


def music_graph(
    inputs: list[int], music_duration: float, length: float, gain_db: float, duck: str
) -> str:
    """The music looped over ``length`` s with crossfaded seams, faded, levelled and ducked.

    ``inputs`` are FFmpeg inputs that each open the music file, ``loop_copies`` of them: one
    input read twice through ``asplit`` starves ``acrossfade`` of its second half.
    """
    seam = _seam(music_duration)
    steps = [
        f"[{index}:a:0]asetpts=PTS-STARTPTS,aresample={SAMPLE_RATE},{_FORMAT}[m{i}]"
        for i, index in enumerate(inputs)
    ]
    previous = "m0"
    for i in range(1, len(inputs)):
        out = f"l{i}"
        samples = round(seam * SAMPLE_RATE)
        steps.append(f"[{previous}][m{i}]acrossfade=ns={samples}:c1=qsin:c2=qsin[{out}]")
        previous = out
    fade_in = min(FADE_IN_S, length / 4)
    fade_out = min(FADE_OUT_S, length / 4)
    steps.append(
        f"[{previous}]atrim=duration={length:.6f},volume={gain_db:.3f}dB,"
        f"afade=t=in:d={fade_in:.3f},afade=t=out:st={length - fade_out:.6f}:d={fade_out:.3f},"
        f"asetnsamples=n={_GAIN_STEP_SAMPLES}:p=0,volume='{duck}':eval=frame[music]"
    )
    return ";".join(steps)


def _seam(music_duration: float) -> float:
    return min(SEAM_S, music_duration / 4)


def mix_graph(narration_input: str, music: str) -> str:
    return (
        f"{music};[{narration_input}]aresample={SAMPLE_RATE},{_FORMAT}[voice];"
        "[voice][music]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[mix]"
    )


def plan_levels(
    ctx: JobContext, narration: Path, music: Path, gap_lu: float, ducking_db: float
) -> MixLevels:
    narration_lufs = loudness(ctx, narration)
    music_lufs = loudness(ctx, music)
    gain = (narration_lufs - gap_lu) - music_lufs
    return MixLevels(narration_lufs, music_lufs + gain, gain, ducking_db)
