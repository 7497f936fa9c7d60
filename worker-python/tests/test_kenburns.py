"""The Ken Burns frame generator, measured on the frames it renders (no encoding).

Test images hold Gaussian dots at exact sub-pixel positions; a dot's intensity-weighted centroid
in a frame locates it to about a hundredth of a pixel, so zoom factors, the centre and the pan's
speed are measured, not eyeballed. The helpers are shared with test_img2vid.py, which measures
the encoded clips the same way.
"""

import math

import cv2
import numpy as np
import pytest

from api_gpu_worker import kenburns
from api_gpu_worker.kenburns import FRAME_BYTES, HEIGHT, WIDTH, ZOOM_END, KenBurns, Motion

DOT_SIGMA = 4.0


def dot_image(width: int, height: int, dots: list[tuple[float, float]]) -> np.ndarray:
    """A white BGR image with dark Gaussian dots centred at continuous coordinates ``dots``."""
    xs = np.arange(width) + 0.5
    ys = np.arange(height) + 0.5
    darkness = np.zeros((height, width))
    for x, y in dots:
        darkness += np.exp(-((xs[None, :] - x) ** 2 + (ys[:, None] - y) ** 2) / (2 * DOT_SIGMA**2))
    grey = np.clip(255 - 230 * darkness, 0, 255).round().astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def disc_image(width: int, height: int, radius: float) -> np.ndarray:
    """A white BGR image with a black disc of ``radius`` at its centre, antialiased."""
    scale = 8
    big = np.full((height * scale, width * scale), 255, np.uint8)
    centre = (width * scale // 2, height * scale // 2)
    cv2.circle(big, centre, round(radius * scale), 0, -1)
    grey = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def dot_centroids(luma: np.ndarray) -> list[tuple[float, float]]:
    """Centroids (x, y in output pixel coordinates, centre of pixel 0 at 0) of the dark blobs,
    sorted left to right; weighted by darkness against the frame's background level."""
    background = float(np.median(luma[::8, ::8]))
    darkness = np.clip(background - luma.astype(np.float64), 0, None)
    mask = (darkness > 0.3 * darkness.max()).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    found = []
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        if area < 4:
            continue
        margin = max(w, h)
        x0, y0 = max(0, x - margin), max(0, y - margin)
        window = darkness[y0 : y + h + margin, x0 : x + w + margin]
        window = np.where(window > 0.02 * window.max(), window, 0)
        total = window.sum()
        gy, gx = np.mgrid[0 : window.shape[0], 0 : window.shape[1]]
        found.append((x0 + (gx * window).sum() / total, y0 + (gy * window).sum() / total))
    return sorted(found)


def disc_shape(luma: np.ndarray) -> tuple[float, float]:
    """(width / height, radius in pixels) of the dark disc, from its second moments."""
    background = float(np.median(luma))
    ink = np.clip(background - luma.astype(np.float64), 0, None)
    ink /= ink.max()
    total = ink.sum()
    gy, gx = np.mgrid[0 : luma.shape[0], 0 : luma.shape[1]]
    mx, my = (gx * ink).sum() / total, (gy * ink).sum() / total
    var_x = ((gx - mx) ** 2 * ink).sum() / total
    var_y = ((gy - my) ** 2 * ink).sum() / total
    # A uniform disc of radius r has a variance of r^2 / 4 along every axis, and area pi r^2.
    return math.sqrt(var_x / var_y), math.sqrt(total / math.pi)


def render_luma(image: np.ndarray, motion: Motion, frames: int) -> list[np.ndarray]:
    clip = KenBurns(image, motion, frames)
    buffer = np.empty(FRAME_BYTES, np.uint8)
    lumas = []
    for index in range(frames):
        clip.render(index, buffer)
        lumas.append(buffer[: WIDTH * HEIGHT].reshape(HEIGHT, WIDTH).copy())
    return lumas


def expected_position(view: kenburns.View, x: float, y: float) -> tuple[float, float]:
    """Where source point (x, y) lands in a frame showing ``view``, in output pixel coordinates."""
    scale = WIDTH / view.width
    return (
        (x - view.cx + view.width / 2) * scale - 0.5,
        (y - view.cy + view.height / 2) * scale - 0.5,
    )


@pytest.mark.parametrize(
    ("seconds", "frames"),
    [(6.48, 156), (1.0, 24), (0.5, 12), (1 / 48, 1), (0.02, 0), (1.5 / 24, 2), (2.5 / 24, 3)],
)
def test_frame_count_rounds_half_up(seconds, frames):
    assert kenburns.frame_count(seconds) == frames


@pytest.mark.parametrize(
    ("width", "height"),
    [(1280, 720), (4800, 2700)],
    ids=["upscaled", "downscaled"],
)
def test_zoom_in_is_centred_and_grows_linearly_to_1_324(width, height):
    dots = [(width * 0.2 + 0.37, height * 0.5 + 0.21), (width * 0.8 - 0.13, height * 0.5 - 0.4)]
    frames = 24
    lumas = render_luma(dot_image(width, height, dots), Motion.ZOOM_IN, frames)
    source_distance = math.dist(*dots)
    zooms, errors = [], []
    for k, luma in enumerate(lumas):
        # The exact move, worked out here rather than taken from the code under test.
        view = kenburns.View(width / 2, height / 2, width / (1 + (ZOOM_END - 1) * k / frames))
        found = dot_centroids(luma)
        assert len(found) == 2
        zooms.append(math.dist(*found) * width / (source_distance * WIDTH))
        for (fx, fy), (x, y) in zip(found, dots, strict=True):
            ex, ey = expected_position(view, x, y)
            errors.append(math.hypot(fx - ex, fy - ey))
    expected = [1 + (ZOOM_END - 1) * k / frames for k in range(frames)]
    assert np.allclose(zooms, expected, atol=1e-4), zooms
    steps = np.diff(zooms)
    # Every step the same size: no frame-to-frame wobble of the kind whole-pixel crops cause
    # (the replaced service's crop on a 6x upscale misplaces points by up to 1/6 px).
    assert np.all(steps > 0)
    assert np.abs(steps - (ZOOM_END - 1) / frames).max() < 1e-4
    assert max(errors) < 0.05, max(errors)


def test_zoom_out_runs_the_zoom_in_backwards():
    dots = [(400.5, 360.5), (1520.5, 720.5)]
    frames = 12
    zoom_in = render_luma(dot_image(1920, 1080, dots), Motion.ZOOM_IN, frames)
    zoom_out = render_luma(dot_image(1920, 1080, dots), Motion.ZOOM_OUT, frames)
    spans = [math.dist(*dot_centroids(luma)) for luma in zoom_out]
    assert np.all(np.diff(spans) < 0)
    # Frame k of the zoom-out is frame (frames - k) of the zoom-in; frame 0 of it is at 1.324.
    assert spans[0] / math.dist(*dots) == pytest.approx(ZOOM_END, abs=2e-4)
    for k in range(1, frames):
        assert spans[k] == pytest.approx(math.dist(*dot_centroids(zoom_in[frames - k])), abs=0.05)


@pytest.mark.parametrize("motion", [Motion.PAN_RIGHT, Motion.PAN_LEFT])
def test_pans_move_sideways_at_a_steady_speed(motion):
    width, height = 1600, 900
    dots = [(width / 2 - 150.3, height / 2 + 0.25), (width / 2 + 149.6, height / 2 - 0.3)]
    frames = 24
    lumas = render_luma(dot_image(width, height, dots), motion, frames)
    positions = np.array([dot_centroids(luma) for luma in lumas])  # frame, dot, (x, y)
    view_width = width / ZOOM_END
    step = (width - view_width) / frames * WIDTH / view_width
    # The camera moving right makes the picture slide left, and the other way round.
    expected_dx = -step if motion is Motion.PAN_RIGHT else step
    dx = np.diff(positions[:, :, 0], axis=0)
    assert np.abs(dx - expected_dx).max() < 0.03, dx
    assert np.ptp(positions[:, :, 1], axis=0).max() < 0.03
    spans = positions[:, 1, 0] - positions[:, 0, 0]
    assert np.allclose(spans, (dots[1][0] - dots[0][0]) * WIDTH / view_width, atol=0.05)
    # Edge to edge: the first frame shows the image's one side, the last (nearly) the other.
    views = kenburns.camera_path(motion, width, height, frames)
    last_step = (width - view_width) / frames
    if motion is Motion.PAN_RIGHT:
        assert views[0].cx - view_width / 2 == pytest.approx(0)
        assert views[-1].cx + view_width / 2 == pytest.approx(width - last_step)
    else:
        assert views[0].cx + view_width / 2 == pytest.approx(width)
        assert views[-1].cx - view_width / 2 == pytest.approx(last_step)


@pytest.mark.parametrize(
    ("width", "height", "radius"),
    [(800, 600, 150), (540, 960, 100), (2400, 1000, 300)],
    ids=["4:3", "9:16", "12:5"],
)
@pytest.mark.parametrize("motion", [Motion.ZOOM_IN, Motion.PAN_LEFT])
def test_other_shapes_are_cropped_to_fill_never_stretched(width, height, radius, motion):
    # Frame 1 of 2: a zoom-in's first half step, a pan halfway, so the disc is in the picture.
    frame = render_luma(disc_image(width, height, radius), motion, 2)[1]
    roundness, measured_radius = disc_shape(frame)
    assert roundness == pytest.approx(1.0, abs=0.01)
    view = kenburns.camera_path(motion, width, height, 2)[1]
    # The view is the 16:9 cover of the image (or a zoomed part of it), scaled to fill the frame.
    assert view.width <= width + 1e-9 and view.height <= height + 1e-9
    zoom = ZOOM_END if motion is Motion.PAN_LEFT else 1 + (ZOOM_END - 1) / 2
    assert max(view.width / width, view.height / height) * zoom == pytest.approx(1.0)
    assert measured_radius == pytest.approx(radius * WIDTH / view.width, rel=0.01)


def luma_edge(row: np.ndarray) -> float:
    """Where a row's brightness steps from its left value to its right one, in pixels."""
    values = row.astype(np.float64)
    crossing = np.flatnonzero(np.diff(np.sign(values - (values[0] + values[-1]) / 2)))[0]
    return float(crossing + 1)


# 640x360 is worked at 2x, 3200x1800 (more detail than the most zoomed frame shows) at 1.5x.
@pytest.mark.parametrize(("width", "height"), [(640, 360), (3200, 1800)])
def test_frames_are_i420_with_colour_where_the_image_has_it(width, height):
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (0, 0, 255)  # red (BGR) left half
    image[:, width // 2 :] = (255, 0, 0)  # blue right half
    clip = KenBurns(image, Motion.ZOOM_IN, 1)
    buffer = np.empty(FRAME_BYTES, np.uint8)
    clip.render(0, buffer)
    quarter = WIDTH * HEIGHT // 4
    u = buffer[WIDTH * HEIGHT : WIDTH * HEIGHT + quarter].reshape(HEIGHT // 2, WIDTH // 2)
    v = buffer[WIDTH * HEIGHT + quarter :].reshape(HEIGHT // 2, WIDTH // 2)
    # BT.601 limited range: red has V high and U low; blue the reverse.
    assert v[270, 100] > 220 and u[270, 100] < 110
    assert u[270, 860] > 220 and v[270, 860] < 130
    # The two meet in the middle of the frame, in chroma as in luma.
    assert v[270, 470] > 220 and u[270, 490] > 220
    assert luma_edge(buffer[: WIDTH * HEIGHT].reshape(HEIGHT, WIDTH)[540]) == pytest.approx(
        960, abs=1
    )


def test_write_frames_streams_every_frame_and_stops_when_asked():
    import io
    import threading

    clip = KenBurns(dot_image(640, 360, [(320.5, 180.5)]), Motion.ZOOM_IN, 5)
    sink = io.BytesIO()
    seen = []
    assert kenburns.write_frames(clip, sink, on_frame=seen.append) == 5
    assert seen == [1, 2, 3, 4, 5]
    assert len(sink.getvalue()) == 5 * FRAME_BYTES
    stop = threading.Event()
    stop.set()
    assert kenburns.write_frames(clip, io.BytesIO(), stop=stop) == 0


def test_a_failing_sink_raises_in_the_caller():
    class Broken:
        def write(self, _data):
            raise BrokenPipeError("ffmpeg is gone")

    clip = KenBurns(dot_image(640, 360, [(320.5, 180.5)]), Motion.ZOOM_IN, 4)
    with pytest.raises(BrokenPipeError):
        kenburns.write_frames(clip, Broken())


@pytest.mark.parametrize("oversampling", [2, 1.5])
@pytest.mark.parametrize("origin", [(0, 0), (3, 5)])
def test_a_blur_canvas_sharp_part_is_the_lanczos_upscale_of_the_image_exactly(oversampling, origin):
    rng = np.random.default_rng(3)
    region = rng.integers(0, 256, (120, 200), np.uint8)
    sharp = (origin[0] + 41, origin[1] + 27, 87, 63)  # odd edges, so seams must be widened

    working = kenburns._oversample_around(region, oversampling, sharp, origin)

    whole = cv2.resize(
        region,
        (round(200 * oversampling), round(120 * oversampling)),
        interpolation=cv2.INTER_LANCZOS4,
    )
    assert working.shape == whole.shape
    # Inside the sharp part, away from its edges (Lanczos reads 4 pixels around each one), the
    # two agree to the pixel; any misplaced seam would shift every pixel of it.
    inner = (slice(round(34 * oversampling), round(84 * oversampling)),
             slice(round(48 * oversampling), round(120 * oversampling)))  # fmt: skip
    assert np.array_equal(working[inner], whole[inner])


@pytest.mark.parametrize(("start", "end", "limit", "span"), [(0, 10, 12, (0, 10)),
    (3, 10, 12, (3, 11)), (3, 12, 12, (2, 12))])  # fmt: skip
def test_spans_are_made_even_inside_the_image(start, end, limit, span):
    assert kenburns._even_span(start, end, limit) == span


def test_a_large_image_is_worked_at_1_5x_and_a_small_one_at_2x():
    large = KenBurns(disc_image(3000, 1688, 300), Motion.ZOOM_IN, 4)
    small = KenBurns(disc_image(640, 360, 100), Motion.ZOOM_IN, 4)

    most_zoomed = min(view.width for view in large.views)
    assert large.scale_x == pytest.approx(WIDTH / most_zoomed * 1.5, rel=0.001)
    assert small.scale_x == 2
    # Chroma: what the most zoomed frame's half-resolution chroma shows, or all the image has.
    large_chroma = large._source_planes[1].shape[1] / large._source_planes[0].shape[1]
    assert large_chroma * large.scale_x == pytest.approx(WIDTH / 2 / most_zoomed, rel=0.002)
    assert small._source_planes[1].shape == (360, 640)
