"""A deterministic photo-like test image: 1/f texture, hard-edged shapes, thin lines, text."""

import sys

import cv2
import numpy as np


def photo(width: int = 1920, height: int = 1080, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    # Natural images have roughly 1/f spectra: octaves of smooth noise, each half as strong.
    for octave in range(1, 9):
        cells = 2**octave
        noise = rng.standard_normal((cells * height // width + 2, cells + 2, 3)).astype(np.float32)
        layer = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
        image += layer * (0.5 ** (octave * 0.8)) * 60
    sky = np.linspace(170, 90, height, dtype=np.float32)[:, None, None]
    image += sky * np.array([1.0, 0.9, 0.75], np.float32)
    for _ in range(40):
        colour = rng.uniform(20, 235, 3).tolist()
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        if rng.random() < 0.5:
            cv2.circle(image, centre, int(rng.uniform(10, 120)), colour, -1, cv2.LINE_AA)
        else:
            points = rng.uniform(-150, 150, (5, 2)) + centre
            cv2.fillPoly(image, [points.astype(np.int32)], colour, cv2.LINE_AA)
    for _ in range(60):
        p1 = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        p2 = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        cv2.line(image, p1, p2, rng.uniform(0, 255, 3).tolist(), 1, cv2.LINE_AA)
    drawn = np.clip(image, 0, 255).astype(np.uint8)
    for row in range(6):
        cv2.putText(
            drawn,
            "Ken Burns 0123456789 AbcXyz",
            (60, 160 + row * 150),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6 + row * 0.35,
            (250, 250, 240),
            2,
            cv2.LINE_AA,
        )
    image = cv2.GaussianBlur(drawn.astype(np.float32), (0, 0), 0.6)
    image += rng.normal(0, 2.0, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


if __name__ == "__main__":
    cv2.imwrite(sys.argv[1], photo())
