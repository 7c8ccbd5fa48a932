"""Data augmentation: every epoch sees slightly different versions of the training digits.

Each image is moved by a random small affine map (shift, rotation, scaling) and,
optionally, an elastic distortion (Simard et al., 2003): a random displacement
field, smoothed with a Gaussian so neighbouring pixels move together, like the
wobble of a real pen stroke.  The label stays the same; the network learns that
these changes do not change the digit.

How an image is moved (for all images of a batch at once, no Python loop):
for each output pixel p we ask where it comes from, q = A (p - c) + c - t + d(p),
(c the centre, A the inverse rotation and scaling, t the shift, d the elastic
displacement), and read the input there by bilinear interpolation, with 0
(background) outside the image.

The distortions must fit what the images show (`augmentation_for`).  A pen
stroke wobbles, tilts and changes size, so handwriting gets all of the above.
A photo of a shirt does not: rotated or elastically bent, clothes stop
looking like the 10,000 test photos (a Fashion-MNIST run with the handwriting
distortions scored 87.3%, well below one without).  Clothes get a mirror
image only (a left sleeve looks like a right one): measured with the `cnn`
recipe on Fashion-MNIST's test set, mirror images alone gave 91.9%, mirror
images and 2-pixel shifts 91.1% (the photos are already centred); whole-pixel
crops, which blur nothing, cost as much (benchmarks/README.md), so no recipe uses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDE = 28
_GRID = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)  # each pixel's (row, column)


@dataclass(frozen=True)
class Augmentation:
    shift: float = 2.0  # pixels, uniform in +-shift, each axis
    rotation: float = 10.0  # degrees, uniform in +-rotation
    scale: float = 0.1  # uniform in 1 +- scale
    elastic_alpha: float = 0.0  # strength of the elastic field (0: off; Simard used 34)
    elastic_sigma: float = 4.0  # smoothness of the field (Gaussian std, pixels)
    flip: bool = False  # mirror half of the images left to right
    erase: float = 0.0  # the share of images given a random blank rectangle (0: none)
    crop: int = 0  # whole-pixel shifts up to this many pixels, each axis (0: none)

    def describe(self) -> str:
        """The distortions in words, e.g. 'mirror images, shifts up to 2 px'."""
        parts = [
            "mirror images" if self.flip else "",
            f"shifts up to {self.shift:g} px" if self.shift else "",
            f"rotations up to {self.rotation:g} degrees" if self.rotation else "",
            f"scalings up to {self.scale:.0%}" if self.scale else "",
            f"elastic distortion {self.elastic_alpha:g}" if self.elastic_alpha else "",
            f"random erasing of {self.erase:.0%} of the images" if self.erase else "",
            f"crops shifted up to {self.crop} whole px" if self.crop else "",
        ]
        return ", ".join(part for part in parts if part) or "none"

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A distorted copy of `images` (m, 784), values kept within the inputs' range."""
        count = len(images)
        if self.flip:
            mirrored = rng.random(count) < 0.5
            square = images.reshape(count, SIDE, SIDE)
            images = np.where(mirrored[:, None, None], square[:, :, ::-1], square)
        angle = np.deg2rad(rng.uniform(-self.rotation, self.rotation, count)).astype(np.float32)
        zoom = rng.uniform(1 - self.scale, 1 + self.scale, count).astype(np.float32)
        shift = rng.uniform(-self.shift, self.shift, (count, 2)).astype(np.float32)
        centre = np.float32((SIDE - 1) / 2)
        y, x = _GRID - centre  # (28, 28) each, relative to the centre
        cos, sin = (np.cos(angle) / zoom)[:, None, None], (np.sin(angle) / zoom)[:, None, None]
        # Inverse map: rotate by -angle and scale by 1/zoom, then undo the shift.
        source_y = cos * y - sin * x + (centre - shift[:, 0, None, None])
        source_x = sin * y + cos * x + (centre - shift[:, 1, None, None])
        if self.elastic_alpha > 0:
            dy, dx = self._elastic_field(count, rng)
            source_y = source_y + dy
            source_x = source_x + dx
        moved = _bilinear(images.reshape(count, SIDE, SIDE), source_y, source_x)
        if self.erase:
            moved = _erased(moved, self.erase, rng)
        if self.crop:
            moved = _cropped(moved, self.crop, rng)
        return moved.reshape(count, -1)

    def _elastic_field(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Two smooth random displacement fields (count, 28, 28): uniform noise in
        -1..1, Gaussian-blurred, times alpha (Simard's recipe: alpha 34, sigma 4).

        The blur runs along rows then columns: G @ field @ G^T with a 28x28
        Gaussian matrix G (rows summing to 1), a batched matrix product per axis.
        """
        offsets = np.arange(SIDE, dtype=np.float32)
        blur = np.exp(-((offsets[:, None] - offsets[None, :]) ** 2) / (2 * self.elastic_sigma**2))
        blur /= blur.sum(axis=1, keepdims=True)
        fields = rng.random((2, count, SIDE, SIDE), dtype=np.float32)
        fields = 2 * fields - 1
        smooth = self.elastic_alpha * (blur @ fields @ blur.T)
        return smooth[0], smooth[1]


def _bilinear(images: np.ndarray, source_y: np.ndarray, source_x: np.ndarray) -> np.ndarray:
    """images[n] sampled at (source_y[n], source_x[n]); 0 outside the image."""
    count = len(images)
    padded = np.zeros((count, SIDE + 2, SIDE + 2), dtype=images.dtype)  # a frame of zeros
    padded[:, 1:-1, 1:-1] = images
    # Into padded coordinates, clipped to the frame (beyond it everything is 0 anyway).
    y = np.clip(source_y + 1, 0, SIDE + 1 - 1e-3)  # < SIDE + 1: the +1 neighbour exists
    x = np.clip(source_x + 1, 0, SIDE + 1 - 1e-3)
    top, left = np.floor(y), np.floor(x)
    down, right = y - top, x - left  # how far past the top-left neighbour, 0..1
    width = SIDE + 2
    # Index of each top-left neighbour in the flattened batch; the others are +1, +width.
    corner = (top.astype(np.int32) * width + left.astype(np.int32)) + (
        np.arange(count, dtype=np.int32) * width * width
    )[:, None, None]
    flat = padded.ravel()
    upper = flat[corner] + right * (flat[corner + 1] - flat[corner])
    lower = flat[corner + width] + right * (flat[corner + width + 1] - flat[corner + width])
    return upper + down * (lower - upper)


def _erased(images: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Random erasing (Zhong et al., 2017): in about `share` of the images a rectangle
    of random size (2% to 40% of the image) and shape (aspect 0.3 to 3.3) is filled
    with random grey levels, in the range of the rest (0 to the image's brightest).

    The network cannot rely on any one part of the image being there, as in a
    photo where something covers part of a garment.
    """
    count = len(images)
    area = rng.uniform(0.02, 0.4, count) * SIDE * SIDE
    aspect = np.exp(rng.uniform(np.log(0.3), np.log(1 / 0.3), count))
    height = np.clip(np.round(np.sqrt(area * aspect)), 1, SIDE).astype(np.int32)
    width = np.clip(np.round(np.sqrt(area / aspect)), 1, SIDE).astype(np.int32)
    top = (rng.random(count) * (SIDE - height + 1)).astype(np.int32)  # the rectangle fits
    left = (rng.random(count) * (SIDE - width + 1)).astype(np.int32)
    chosen = rng.random(count) < share
    rows, columns = np.arange(SIDE)[None, :, None], np.arange(SIDE)[None, None, :]
    inside = (
        chosen[:, None, None]
        & (rows >= top[:, None, None]) & (rows < (top + height)[:, None, None])
        & (columns >= left[:, None, None]) & (columns < (left + width)[:, None, None])
    )  # fmt: skip
    brightest = images.reshape(count, -1).max(axis=1)[:, None, None]
    noise = rng.random(images.shape, dtype=np.float32).astype(images.dtype) * brightest
    return np.where(inside, noise, images)


def _cropped(images: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    """Random crops: each image framed by `most` blank pixels on every side, and a
    28x28 window cut from it at a random offset, so the image moves by a whole
    number of pixels (-most to +most, each axis).

    Whole pixels, not the affine map's fractional shift: reading a photo between
    its pixels (bilinear interpolation) blurs it, and a garment's texture and edges
    are what tell a shirt from a pullover.
    """
    count = len(images)
    framed = np.zeros((count, SIDE + 2 * most, SIDE + 2 * most), dtype=images.dtype)
    framed[:, most : most + SIDE, most : most + SIDE] = images
    top, left = rng.integers(0, 2 * most + 1, (2, count))
    rows = (top[:, None] + np.arange(SIDE))[:, :, None]  # (count, 28, 1)
    columns = (left[:, None] + np.arange(SIDE))[:, None, :]  # (count, 1, 28)
    return framed[np.arange(count)[:, None, None], rows, columns]


def augmentation_for(
    kind: str, elastic: float = 0.0, erase: float = 0.0, crop: int = 0
) -> Augmentation:
    """The distortions that fit images of `kind` (a Dataset's kind).

    'handwriting': shifts of up to 2 pixels, rotations of up to 10 degrees,
    scalings of up to 10%, and elastic distortion of strength `elastic`.
    'clothes': mirror images (half of them, left to right), nothing else.
    Either kind: random erasing of `erase` of the images, and random crops that
    move each image by up to `crop` whole pixels.
    """
    if kind == "clothes":
        return Augmentation(shift=0.0, rotation=0.0, scale=0.0, flip=True, erase=erase, crop=crop)
    return Augmentation(elastic_alpha=elastic, erase=erase, crop=crop)
