"""Photos of digits made in the tests: one real MNIST digit, photographed badly.

Each function takes a 28x28 MNIST digit (bright ink on black, uint8) and returns
the bytes of an image file, as a camera or a drawing tool would give it.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def _ink(digit: np.ndarray, side: int) -> np.ndarray:
    """The digit enlarged to side x side, ink strength 0..1."""
    big = Image.fromarray(digit.reshape(28, 28)).resize((side, side), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(big, dtype=np.float64) / 255, 0, 1)


def _encode(pixels: np.ndarray, kind: str = "PNG", **options) -> bytes:
    stream = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(stream, kind, **options)
    return stream.getvalue()


def clean_scan(digit: np.ndarray) -> bytes:
    """Black ink on white paper, nothing else: the easy case."""
    return _encode(255 - 255 * _ink(digit, 280))


def grey_paper(digit: np.ndarray, seed: int = 0) -> bytes:
    """Dark ink on grey paper lit from one side (a gradient from 90 to 200) with noise."""
    rng = np.random.default_rng(seed)
    side = 400
    ink = np.pad(_ink(digit, 280), 60)
    light = np.linspace(90, 200, side)[None, :] * np.ones((side, 1))
    photo = light * (1 - 0.75 * ink) + rng.normal(0, 6, (side, side))
    return _encode(photo, "JPEG", quality=85)


def shadow(digit: np.ndarray, seed: int = 0) -> bytes:
    """White paper with a soft shadow over its lower-left part, and noise."""
    rng = np.random.default_rng(seed)
    side = 400
    ink = np.pad(_ink(digit, 280), 60)
    rows, columns = np.indices((side, side))
    shade = 1 - 0.5 / (1 + np.exp(-(rows - columns - 50) / 25))  # darker below a diagonal
    photo = 230 * shade * (1 - 0.8 * ink) + rng.normal(0, 4, (side, side))
    return _encode(photo, "JPEG", quality=85)


def chalk(digit: np.ndarray, seed: int = 0) -> bytes:
    """Light chalk on a dark, smudged board."""
    rng = np.random.default_rng(seed)
    side = 360
    ink = np.pad(_ink(digit, 280), 40)
    board = 45 + 10 * np.sin(np.arange(side) / 40)[None, :] + rng.normal(0, 5, (side, side))
    grain = rng.uniform(0.6, 1.0, (side, side))  # chalk leaves gaps
    return _encode(board + 170 * ink * grain, "JPEG", quality=85)


def small_in_corner(digit: np.ndarray, seed: int = 0) -> bytes:
    """A big photo (1600x1200) of a sheet with the digit small near its top-left corner."""
    rng = np.random.default_rng(seed)
    height, width = 1200, 1600
    photo = np.linspace(210, 170, height)[:, None] * np.ones((1, width))
    ink = _ink(digit, 140)
    top, left = 80, 100
    photo[top : top + 140, left : left + 140] *= 1 - 0.8 * ink
    photo += rng.normal(0, 5, (height, width))
    return _encode(photo, "JPEG", quality=90)


def ruled_paper(digit: np.ndarray, seed: int = 0, squared: bool = False) -> bytes:
    """A notebook page: dark printed lines every 36 pixels (and columns, if `squared`),
    the digit written over them in marker."""
    rng = np.random.default_rng(seed)
    side = 500
    paper = np.full((side, side), 235.0)
    for at in range(15, side, 36):
        paper[at : at + 2, :] -= 100
        if squared:
            paper[:, at : at + 2] -= 100
    ink = np.pad(_ink(digit, 300), 100)
    photo = paper * (1 - 0.85 * ink) + rng.normal(0, 4, (side, side))
    return _encode(photo, "JPEG", quality=85)


def sheet_on_a_desk(digit: np.ndarray, seed: int = 0) -> bytes:
    """A small sheet of paper, turned a little, on a dark wooden desk that shows all
    round it; the digit written in the middle of the sheet."""
    rng = np.random.default_rng(seed)
    height, width = 600, 800
    photo = 70 + 15 * np.sin(np.arange(width) / 7.0)[None, :] + rng.normal(0, 6, (height, width))
    sheet = np.asarray(Image.new("L", (440, 300), 255).rotate(6, expand=True)) > 0
    top, left = (height - sheet.shape[0]) // 2, (width - sheet.shape[1]) // 2
    region = photo[top : top + sheet.shape[0], left : left + sheet.shape[1]]
    region[sheet] = 225 + rng.normal(0, 3, int(sheet.sum()))
    ink = _ink(digit, 120)
    photo[240:360, 340:460] *= 1 - 0.85 * ink
    return _encode(photo, "JPEG", quality=85)


def pen_in_the_picture(digit: np.ndarray, seed: int = 0) -> bytes:
    """White paper with the digit, and a dark pen lying in from the right edge beside it."""
    rng = np.random.default_rng(seed)
    side = 400
    photo = np.full((side, side), 230.0)
    photo[60:340, 60:340] *= 1 - 0.85 * _ink(digit, 280)
    photo[20:44, 300:] = 25  # the pen's body, from the edge to near the digit's corner
    photo += rng.normal(0, 4, (side, side))
    return _encode(photo, "JPEG", quality=85)


def squared_paper(digit: np.ndarray) -> bytes:
    return ruled_paper(digit, squared=True)


def exif_rotated(digit: np.ndarray) -> bytes:
    """A phone's JPEG: the pixels stored sideways, with EXIF saying to turn them upright."""
    upright = 255 - 255 * _ink(digit, 280)
    sideways = np.rot90(upright, k=1)  # stored turned 90 degrees anticlockwise
    image = Image.fromarray(sideways.astype(np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # Orientation: the viewer must turn it 90 degrees clockwise
    stream = io.BytesIO()
    image.save(stream, "JPEG", quality=92, exif=exif)
    return stream.getvalue()


def drawn(strokes: list[list[tuple[float, float]]], width: int, side: int = 500) -> bytes:
    """Black strokes `width` pixels wide on a white canvas, as a drawing tool makes them;
    each stroke is a list of (x, y) points in 0..1."""
    from PIL import ImageDraw

    canvas = Image.new("L", (side, side), 255)
    pen = ImageDraw.Draw(canvas)
    for stroke in strokes:
        points = [(x * side, y * side) for x, y in stroke]
        pen.line(points, fill=0, width=width, joint="curve")
        for x, y in points:  # round ends and joints, as a pen leaves them
            pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=0)
    stream = io.BytesIO()
    canvas.save(stream, "PNG")
    return stream.getvalue()


SEVEN = [[(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]]
ONE = [[(0.5, 0.2), (0.5, 0.8)]]
FOUR = [[(0.55, 0.2), (0.3, 0.55), (0.7, 0.55)], [(0.6, 0.35), (0.6, 0.8)]]
ZERO = [[(0.5 + 0.2 * np.sin(t), 0.5 - 0.3 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 40)]]
DRAWINGS = {7: SEVEN, 1: ONE, 4: FOUR, 0: ZERO}


PHOTOS = {
    "grey paper": grey_paper,
    "shadow": shadow,
    "chalk on a board": chalk,
    "small in a corner": small_in_corner,
    "EXIF rotated": exif_rotated,
    "ruled paper": ruled_paper,
    "squared paper": squared_paper,
    "sheet on a desk": sheet_on_a_desk,
    "a pen beside it": pen_in_the_picture,
}


def centre_line(strokes: np.ndarray) -> np.ndarray:
    """The one-pixel centre line of a boolean image's strokes (Zhang and Suen's thinning,
    1984): peel the outline, alternately from the south-east and the north-west, keeping
    every pixel whose removal would break a stroke or shorten its end, until none goes."""
    image = np.pad(strokes.astype(bool), 1)
    for _ in range(image.size):
        changed = False
        for step in (0, 1):
            p = np.pad(image, 1)
            # The 8 neighbours, clockwise from north: P2 .. P9.
            n, ne, e, se = p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:]
            s, sw, w, nw = p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]
            ring = [n, ne, e, se, s, sw, w, nw, n]
            count = sum(x.astype(int) for x in ring[:8])
            crossings = sum((~a & b).astype(int) for a, b in zip(ring[:8], ring[1:]))
            if step == 0:
                side = ~(n & e & s) & ~(e & s & w)
            else:
                side = ~(n & e & w) & ~(n & s & w)
            peel = image & (count >= 2) & (count <= 6) & (crossings == 1) & side
            if peel.any():
                image = image & ~peel
                changed = True
        if not changed:
            break
    return image[1:-1, 1:-1]


def _centre_line_of(digit: np.ndarray, side: int) -> np.ndarray:
    """The digit's centre line, the digit 0.7 of `side` tall, in a side x side field."""
    height = int(side * 0.7)
    return np.pad(centre_line(_ink(digit, height) > 0.5), (side - height) // 2)


def _written_with(line: np.ndarray, pen: float, seed: int) -> bytes:
    """A JPEG of `line` written with a pen `pen` pixels wide, dark on light paper with
    a little grain."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    ink = np.clip(pen / 2 + 0.5 - ndimage.distance_transform_edt(~line), 0, 1)  # anti-aliased
    return _encode(225 * (1 - 0.85 * ink) + rng.normal(0, 3, ink.shape), "JPEG", quality=90)


def hairline(digit: np.ndarray, pen: float = 1.5, side: int = 400, seed: int = 0) -> bytes:
    """The digit written again with a hairline pen `pen` pixels wide along its centre
    line, in a photo side x side."""
    return _written_with(_centre_line_of(digit, side), pen, seed)


def desk_along_one_edge(digit: np.ndarray, edge: int = 0, pen: float = 3.0) -> bytes:
    """A thin digit (written along its centre line with a pen `pen` pixels wide) on a
    sheet that fills the photo but for a wedge of dark wooden desk along one edge only
    (0: left, 1: top, 2: right, 3: bottom): the sheet lies a little turned, so the desk
    shows 80 pixels wide at one end of that edge and 5 at the other."""
    from scipy import ndimage

    rng = np.random.default_rng(edge)
    side = 480
    line = np.pad(centre_line(_ink(digit, 240) > 0.5), 120)
    ink = np.clip(pen / 2 + 0.5 - ndimage.distance_transform_edt(~line), 0, 1)
    photo = np.linspace(225, 200, side)[None, :] * (1 - 0.85 * ink)
    rows, columns = np.indices((side, side))
    wedge = columns < 80 - 75 * rows / side  # on the left, then turned to its edge
    wedge = np.rot90(wedge, k=-edge)
    grain = 60 + 12 * np.sin(np.indices((side, side))[edge % 2] / 5.0)
    photo[wedge] = (grain + rng.normal(0, 6, (side, side)))[wedge]
    return _encode(photo + rng.normal(0, 3, photo.shape), "JPEG", quality=88)


def loop_cut_open(digit: np.ndarray, gap: float, pen: float = 1.0,
                  side: int = 400) -> tuple[bytes, int]:  # fmt: skip
    """The digit written again with a hairline along its centre line, its biggest loop
    cut open at the top by a gap `gap` of the digit's height wide: a gap the writer
    left, as between a 7's hook and its stem or at a 4's open top.  Returns the photo
    and the loops that what was written shows at MNIST's scale.
    ValueError if the digit's centre line has no loop."""
    from scipy import ndimage

    line = _centre_line_of(digit, side)
    holes, count = ndimage.label(~line)  # 4-connected background pieces
    inside = [label for label in range(1, count + 1) if label != holes[0, 0]]
    if not inside:
        raise ValueError("the digit has no loop to cut open")
    areas = ndimage.sum_labels(np.ones_like(holes), holes, inside)
    hole = holes == inside[int(np.argmax(areas))]
    top = int(np.flatnonzero(hole.any(axis=1))[0])
    column = float(np.flatnonzero(hole[top]).mean())
    rows, columns = np.indices(line.shape)
    height = 0.7 * side  # the digit's height in the photo
    cut = (rows - (top - 1)) ** 2 + (columns - column) ** 2 <= (gap * height / 2) ** 2
    written = line & ~cut
    # The loops it has once a gap narrower than an output pixel is closed (growing each
    # stroke by half a pixel each way), and holes smaller than a pixel filled: what the
    # 20x20 image shows without any thickening.
    pixel = height / 20  # the digit is 20 output pixels tall
    closed = ndimage.distance_transform_edt(~written) <= pixel / 2
    holes, count = ndimage.label(~closed)
    areas = np.bincount(holes.ravel(), minlength=count + 1)
    loops_left = sum(1 for label in range(1, count + 1)
                     if label != holes[0, 0] and areas[label] >= pixel**2)  # fmt: skip
    return _written_with(written, pen, seed=0), loops_left
