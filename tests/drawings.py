"""Drawings made in the tests: what the drawing page's canvas holds (dark ink on white).

`strokes_drawing` draws pen strokes as a person draws these digits; `digit_drawing`
enlarges a real MNIST digit into a drawing. Both give 2-D gray levels, 0..255.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SIDE = 280  # the page's canvas

# Strokes in 0..1 of the drawing area (the same digits tests/test_page.py draws).
STROKES = {
    "7": [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]],
    "1": [[(0.5, 0.15), (0.5, 0.85)]],
    "4": [[(0.6, 0.15), (0.25, 0.6), (0.75, 0.6)], [(0.6, 0.35), (0.6, 0.85)]],
    "0": [[(0.5, 0.15), (0.25, 0.35), (0.25, 0.65), (0.5, 0.85), (0.75, 0.65), (0.75, 0.35),
           (0.5, 0.15)]],
}  # fmt: skip


def strokes_drawing(strokes: list[list[tuple[float, float]]], width: int) -> np.ndarray:
    """Round-capped strokes `width` pixels wide on a white SIDE x SIDE canvas."""
    image = Image.new("L", (SIDE, SIDE), 255)
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(x * SIDE, y * SIDE) for x, y in stroke]
        pen.line(points, fill=0, width=width, joint="curve")
        for x, y in points:  # round ends and corners, as the canvas's lineCap "round"
            pen.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=0)
    return np.asarray(image, dtype=np.float64)


def digit_drawing(digit: np.ndarray) -> np.ndarray:
    """A 28x28 MNIST digit (bright on black) as a SIDE x SIDE drawing, dark on white."""
    big = Image.fromarray(255 - digit.reshape(28, 28)).resize(
        (SIDE, SIDE), Image.Resampling.BILINEAR
    )
    return np.asarray(big, dtype=np.float64)


def sample_drawings(sample) -> list[tuple[str, np.ndarray]]:
    """(label, drawing): each stroke digit with a thin, a usual and a thick pen, and ten
    real digits of the bundled sample."""
    drawings = [(label, strokes_drawing(strokes, width))
                for label, strokes in STROKES.items() for width in (10, 22, 40)]  # fmt: skip
    for index in range(0, 100, 10):
        drawings.append((str(sample.labels[index]), digit_drawing(sample.images[index])))
    return drawings
