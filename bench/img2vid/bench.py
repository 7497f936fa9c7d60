"""img2vid: the replaced service's FFmpeg chain against our Ken Burns renderer, side by side.

Same photo-like 1920x1080 image, same 6 s zoom (1.0 -> 1.324, ``z = 1 + 0.324 * n / frames``),
same encoder arguments (the worker's chosen encoder) for both. Prints:

(a) frame generation: both rendered to ``-f null`` (ours: rendered and piped raw into an FFmpeg
    that discards them), the part that counts on a GPU box where NVENC makes encoding cheap;
(b) end to end: image file to encoded MP4;
(c) ours end to end against the encoder-only floor: the encoder fed the same moving frames,
    pre-rendered to a raw file (a still image is no floor: x264 skips unchanged frames), in every
    size a job may ask for and with ``fit: blur`` (a portrait photo in a landscape clip, the
    landscape photo in a vertical one), each also as CPU seconds (ours: this process and its
    FFmpeg; the floor: its FFmpeg), which a loaded machine disturbs far less than wall time;
(d) mean luma SSIM of each encoded clip against a float-precision reference render (Lanczos-3
    at the exact position of every frame, in float32), and the geometric error of the frames
    before encoding: per frame, a least-squares sub-pixel registration against the reference
    (translation plus scale over the whole frame) gives a displacement field; its RMS, averaged
    over frames, is that chain's error, and ``jitter_ratio`` is ours over the seed's; then the
    same on a 2560x1440 photo, which has more detail than the most zoomed frame shows and which
    the renderer therefore works at 1.5x instead of 2x.

Timings of ours and of the floor are the median of three runs (the two alternate, so load from
elsewhere hits both alike); the seed's, slow and steady, is run once. Ends with one JSON line:
the figures of 1920x1080 ``cover`` under their first names, then ``e2e_vs_floor_<case>`` and
``cpu_vs_floor_<case>`` for every case of (c), and (d)'s figures for the 2560x1440 photo as
``ssim_ours_rich_photo``, ``ssim_seed_rich_photo`` and ``jitter_ratio_rich_photo``.
"""

import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from api_gpu_worker import kenburns
from api_gpu_worker.encoders import EncoderConfig, select_encoder
from api_gpu_worker.frame_encode import one_render_thread, widen_pipe
from api_gpu_worker.kenburns import FRAME_BYTES, HEIGHT, WIDTH, KenBurns, Motion

sys.path.insert(0, str(Path(__file__).parent))
from photo import photo

SECONDS = 6
FRAMES = SECONDS * kenburns.FPS
LUMA_BYTES = WIDTH * HEIGHT
RUNS = 3
# (c)'s cases: (resolution, fit, the photo's width and height). 1920x1080 cover comes first.
CASES = (
    ("1920x1080", "cover", (1920, 1080)),
    ("1080x1920", "cover", (1920, 1080)),
    ("1080x1080", "cover", (1920, 1080)),
    ("1280x720", "cover", (1920, 1080)),
    ("1920x1080", "blur", (1080, 1920)),
    ("1080x1920", "blur", (1920, 1080)),
)
# (d) again on a photo with more detail than the most zoomed 1080p frame shows (1920 x 1.324 px
# across): the renderer works such an image at 1.5x instead of 2x.
RICH_PHOTO = (2560, 1440)
FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]


def seed_chain(image: Path) -> list[str]:
    """The replaced worker's command, as it ran it, up to its output options."""
    chain = (
        "scale=11520:6480:flags=lanczos,"
        f"zoompan=z='min(1.0+0.324*on/{FRAMES},1.324)':d={FRAMES}"
        ":x='trunc(iw/2-(iw/zoom/2))':y='trunc(ih/2-(ih/zoom/2))':s=1920x1080:fps=24,format=nv12"
    )
    return ["-loop", "1", "-i", str(image), "-vf", chain, "-frames:v", str(FRAMES)]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run_ffmpeg(args: list[str]) -> None:
    subprocess.run([*FFMPEG, *args], check=True)


def ours(
    image: Path,
    output: list[str],
    size: tuple[int, int] = (WIDTH, HEIGHT),
    fit: str = "cover",
    one_thread: bool = False,
) -> None:
    """The worker's path for one clip: start FFmpeg, decode and prepare while it starts, render
    every frame into its stdin; on one OpenCV thread with ``one_thread``, as the worker renders
    while x264 encodes on the CPU."""
    process = subprocess.Popen(
        [*FFMPEG, *kenburns.raw_input_args(size), "-i", "pipe:0", *output], stdin=subprocess.PIPE
    )
    widen_pipe(process.stdin)
    with one_render_thread() if one_thread else contextlib.nullcontext():
        clip = KenBurns(kenburns.load_image(image), Motion.ZOOM_IN, FRAMES, size, fit)
        kenburns.write_frames(clip, process.stdin)
    process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError("ffmpeg failed")


def median_time(action: Callable[[], object]) -> float:
    return statistics.median(timed(action) for _ in range(RUNS))


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended, user and system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_with_cpu(action: Callable[[], object]) -> tuple[float, float]:
    start, cpu = time.perf_counter(), cpu_seconds()
    action()
    return time.perf_counter() - start, cpu_seconds() - cpu


class VersusFloor:
    """(c) for one case: medians of ours and of the floor, wall and CPU seconds."""

    def __init__(
        self, image: Path, size: tuple[int, int], fit: str, encoder: EncoderConfig, name: str
    ) -> None:
        work = image.parent
        encode = [*encoder.encode_args()]
        self.raw = work / f"ours-frames-{name}.yuv"
        self.ours_mp4, floor_mp4 = work / f"ours-{name}.mp4", work / f"floor-{name}.mp4"
        ours(image, ["-f", "rawvideo", str(self.raw)], size, fit)
        floor_args = [*kenburns.raw_input_args(size), "-i", str(self.raw), *encode, str(floor_mp4)]
        ours_runs, floor_runs = [], []
        for _ in range(RUNS):
            ours_runs.append(
                timed_with_cpu(
                    lambda: ours(
                        image, [*encode, str(self.ours_mp4)], size, fit, not encoder.hardware
                    )
                )
            )
            floor_runs.append(timed_with_cpu(lambda: run_ffmpeg(floor_args)))
        self.ours = statistics.median(wall for wall, _ in ours_runs)
        self.floor = statistics.median(wall for wall, _ in floor_runs)
        self.ours_cpu = statistics.median(cpu for _, cpu in ours_runs)
        self.floor_cpu = statistics.median(cpu for _, cpu in floor_runs)


def raw_frames(args: list[str], frame_bytes: int = FRAME_BYTES) -> Iterator[np.ndarray]:
    """The luma planes of FFmpeg's raw yuv420p output for ``args``."""
    process = subprocess.Popen(
        [*FFMPEG, *args, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"], stdout=subprocess.PIPE
    )
    while len(frame := process.stdout.read(frame_bytes)) == frame_bytes:
        yield np.frombuffer(frame[:LUMA_BYTES], np.uint8).reshape(HEIGHT, WIDTH)
    process.stdout.close()
    process.wait()


def lanczos_weights(positions: np.ndarray, size: int, taps: int = 3):
    """Indices and weights of a Lanczos-``taps`` interpolation at ``positions`` (pixel-index
    coordinates), with edge pixels repeated."""
    base = np.floor(positions).astype(np.int64) - taps + 1
    offsets = np.arange(2 * taps)
    indices = base[:, None] + offsets[None, :]
    distance = positions[:, None] - indices
    weights = np.sinc(distance) * np.sinc(distance / taps)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.clip(indices, 0, size - 1), weights.astype(np.float32)


def reference_frames(image_bgr: np.ndarray) -> Iterator[np.ndarray]:
    """Float luma (BT.601, limited range, as both chains produce) of every frame at its exact
    position. Each output pixel centre maps to the source through the frame's view, then the
    source is interpolated there separably."""
    rgb = image_bgr[:, :, ::-1].astype(np.float64)
    luma = 16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255
    luma = luma.astype(np.float32)
    src_h, src_w = luma.shape
    for view in kenburns.camera_path(Motion.ZOOM_IN, src_w, src_h, FRAMES):
        xs = view.cx - view.width / 2 + (np.arange(WIDTH) + 0.5) * view.width / WIDTH - 0.5
        ys = view.cy - view.height / 2 + (np.arange(HEIGHT) + 0.5) * view.height / HEIGHT - 0.5
        x_idx, x_w = lanczos_weights(xs, src_w)
        y_idx, y_w = lanczos_weights(ys, src_h)
        rows = np.einsum("hwt,wt->hw", luma[:, x_idx], x_w)
        yield np.einsum("htw,ht->hw", rows[y_idx], y_w)


def ssim(frame: np.ndarray, reference: np.ndarray) -> float:
    """Mean SSIM (Wang et al., 11x11 Gaussian window, sigma 1.5) of two 8-bit-scale images."""
    a = frame.astype(np.float32)
    b = reference.astype(np.float32)

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(index[5:-5, 5:-5].mean())


class Registration:
    """Sub-pixel displacement of a frame against the reference: translation (tx, ty) and a scale
    error s about the centre, d(x, y) = (tx + s (x - cx), ty + s (y - cy)), by least squares on
    the linearised brightness constancy, frame - reference = -grad(reference) . d, over the whole
    frame. Both are smoothed first (Gaussian, sigma 1 px) so content near the Nyquist limit does
    not bias the gradients. Checked by resampling the reference by known amounts (Lanczos-4,
    rounded to 8 bits): shifts of 0.1 and 0.25 px measure 0.104 and 0.270, 0.02 px measures
    0.035 (the rounding and the kernels' own differences)."""

    MARGIN = 24
    SMOOTHING = 1.0

    def __init__(self) -> None:
        m = self.MARGIN
        gy, gx = np.mgrid[m : HEIGHT - m, m : WIDTH - m].astype(np.float32)
        self.dx = gx - (WIDTH - 1) / 2
        self.dy = gy - (HEIGHT - 1) / 2

    def _smooth(self, image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(image.astype(np.float32), (0, 0), self.SMOOTHING)

    def use_reference(self, reference: np.ndarray) -> None:
        m = self.MARGIN
        self.reference = self._smooth(reference)
        gx = cv2.Sobel(self.reference, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)[m:-m, m:-m]
        gy = cv2.Sobel(self.reference, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)[m:-m, m:-m]
        self.columns = np.stack(
            [gx.ravel(), gy.ravel(), (gx * self.dx + gy * self.dy).ravel()]
        )  # 3 x pixels
        self.normal = (self.columns @ self.columns.T).astype(np.float64)

    def rms_error(self, frame: np.ndarray) -> float:
        """RMS length (px) of the displacement field of ``frame`` against the reference."""
        m = self.MARGIN
        residual = (self.reference - self._smooth(frame))[m:-m, m:-m].ravel()
        tx, ty, s = np.linalg.solve(self.normal, (self.columns @ residual).astype(np.float64))
        field_x = tx + s * self.dx
        field_y = ty + s * self.dy
        return float(np.sqrt((field_x**2 + field_y**2).mean()))


class Quality:
    """(d) for one photo: SSIM of both encoded clips against the reference render, and the
    geometric error of both chains' frames before encoding."""

    def __init__(self, image: Path, ours_mp4: Path, ours_raw: Path, seed_mp4: Path) -> None:
        registration = Registration()
        self.ssim_ours, self.ssim_seed, self.error_ours, self.error_seed = [], [], [], []
        streams = zip(
            reference_frames(kenburns.load_image(image)),
            raw_frames(["-i", str(ours_mp4)]),
            raw_frames(["-i", str(seed_mp4)]),
            raw_frames([*kenburns.raw_input_args(), "-i", str(ours_raw)]),
            raw_frames(seed_chain(image)),
            strict=True,
        )
        for reference, ours_clip, seed_clip, ours_frame, seed_frame in streams:
            self.ssim_ours.append(ssim(ours_clip, reference))
            self.ssim_seed.append(ssim(seed_clip, reference))
            registration.use_reference(reference)
            self.error_ours.append(registration.rms_error(ours_frame))
            self.error_seed.append(registration.rms_error(seed_frame))

    def figures(self, suffix: str) -> dict[str, float]:
        return {
            f"ssim_ours{suffix}": round(float(np.mean(self.ssim_ours)), 4),
            f"ssim_seed{suffix}": round(float(np.mean(self.ssim_seed)), 4),
            f"jitter_ratio{suffix}": round(
                float(np.mean(self.error_ours) / np.mean(self.error_seed)), 3
            ),
        }

    def summary(self) -> str:
        wander = {
            name: float(np.sqrt(np.mean(np.diff(errors) ** 2)))
            for name, errors in (("ours", self.error_ours), ("seed", self.error_seed))
        }
        return (
            f"    SSIM vs reference: ours {np.mean(self.ssim_ours):.4f}, "
            f"seed {np.mean(self.ssim_seed):.4f}\n"
            f"    geometric error vs reference (RMS px, mean over frames): "
            f"ours {np.mean(self.error_ours):.4f} (max {np.max(self.error_ours):.4f}), "
            f"seed {np.mean(self.error_seed):.4f} (max {np.max(self.error_seed):.4f})\n"
            f"    frame-to-frame change of that error (RMS px): "
            f"ours {wander['ours']:.4f}, seed {wander['seed']:.4f}"
        )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    work = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="bench-img2vid-"))
    work.mkdir(parents=True, exist_ok=True)
    image = work / "photo.png"
    cv2.imwrite(str(image), photo())
    encoder = select_encoder(os.environ.get("FFMPEG_ENCODER", "auto"))
    encode = [*encoder.encode_args()]
    say(f"{SECONDS} s clip ({FRAMES} frames) of a 1920x1080 photo-like PNG; encoder {encoder.name}")
    say(f"machine: {os.cpu_count()} cores, {os.uname().machine}")

    seed_null = timed(lambda: run_ffmpeg([*seed_chain(image), "-f", "null", "-"]))
    ours_null = median_time(lambda: ours(image, ["-f", "null", "-"]))
    say(f"(a) frame generation: seed {seed_null:.2f} s, ours {ours_null:.2f} s")

    seed_mp4 = work / "seed.mp4"
    seed_e2e = timed(lambda: run_ffmpeg([*seed_chain(image), *encode, str(seed_mp4)]))
    main_case = VersusFloor(image, (WIDTH, HEIGHT), "cover", encoder, f"{WIDTH}x{HEIGHT}")
    ours_mp4, ours_raw = main_case.ours_mp4, main_case.raw
    ours_e2e, floor = main_case.ours, main_case.floor
    say(f"(b) end to end: seed {seed_e2e:.2f} s, ours {ours_e2e:.2f} s")
    say(f"(c) encoder-only floor (same frames, pre-rendered): {floor:.2f} s")
    versus_floor = {}
    for resolution, fit, photo_size in CASES:
        name = resolution if fit == "cover" else f"blur_{resolution}"
        if (resolution, fit) == ("1920x1080", "cover"):
            case = main_case
        else:
            case_image = work / f"photo-{photo_size[0]}x{photo_size[1]}.png"
            cv2.imwrite(str(case_image), photo(*photo_size))
            case = VersusFloor(case_image, kenburns.SIZES[resolution], fit, encoder, name)
            case.raw.unlink()
        versus_floor[name] = case
        say(
            f"    {resolution} {fit} ({photo_size[0]}x{photo_size[1]} photo): ours "
            f"{case.ours:.2f} s, floor {case.floor:.2f} s ({case.ours / case.floor:.3f}); CPU ours "
            f"{case.ours_cpu:.2f} s, floor {case.floor_cpu:.2f} s "
            f"({case.ours_cpu / case.floor_cpu:.3f}); load {os.getloadavg()[0]:.1f}"
        )

    say("(d) comparing with the float reference render ...")
    main_quality = Quality(image, ours_mp4, ours_raw, seed_mp4)
    ours_raw.unlink()
    say(main_quality.summary())
    # A photo with more detail than the most zoomed frame shows is worked at 1.5x, not 2x.
    rich_image = work / f"photo-{RICH_PHOTO[0]}x{RICH_PHOTO[1]}.png"
    cv2.imwrite(str(rich_image), photo(*RICH_PHOTO))
    rich_mp4, rich_raw, rich_seed_mp4 = (
        work / "ours-rich.mp4",
        work / "ours-rich.yuv",
        work / "seed-rich.mp4",
    )
    ours(rich_image, [*encode, str(rich_mp4)], one_thread=not encoder.hardware)
    ours(rich_image, ["-f", "rawvideo", str(rich_raw)])
    run_ffmpeg([*seed_chain(rich_image), *encode, str(rich_seed_mp4)])
    say(f"(d) again, on a {RICH_PHOTO[0]}x{RICH_PHOTO[1]} photo ...")
    rich_quality = Quality(rich_image, rich_mp4, rich_raw, rich_seed_mp4)
    rich_raw.unlink()
    say(rich_quality.summary())
    figures = {
        "framegen_speedup": round(seed_null / ours_null, 2),
        "e2e_speedup": round(seed_e2e / ours_e2e, 2),
        "e2e_vs_floor": round(ours_e2e / floor, 3),
        **main_quality.figures(""),
        **rich_quality.figures("_rich_photo"),
    }
    for name, case in versus_floor.items():
        figures[f"e2e_vs_floor_{name}"] = round(case.ours / case.floor, 3)
    for name, case in versus_floor.items():
        figures[f"cpu_vs_floor_{name}"] = round(case.ours_cpu / case.floor_cpu, 3)
    say(
        f"framegen {figures['framegen_speedup']}x (target >= 15), e2e {figures['e2e_speedup']}x, "
        f"ours e2e / floor {figures['e2e_vs_floor']} (target <= 1.2, every case), "
        f"jitter ratio {figures['jitter_ratio']} (target <= 0.1)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
