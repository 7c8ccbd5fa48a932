"""Draw docs/pictures/im2col.png: im2col turns windows into rows and the kernel into a
matrix, so a convolution is one matrix product; col2im adds the gradients back.

Every number in the picture is computed by digitnet's own im2col and col2im
(src/digitnet/network/im2col.py) on a 4x4 one-channel image and a 3x3 kernel, stride 1.

    PYTHONPATH=src python docs/pictures/make_im2col.py [OUT.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from digitnet.network.im2col import col2im, im2col

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grids import COLORS, PALE, arrow, grid, outline  # noqa: E402

OUT = Path(__file__).resolve().parent / "im2col.png"
SIZE, KERNEL = 4, 3


def main(out: Path = OUT) -> None:
    image = np.arange(1, SIZE * SIZE + 1, dtype=np.float64).reshape(1, SIZE, SIZE, 1)
    patches = im2col(image, (KERNEL, KERNEL), stride=1)  # (4 windows, 9)
    kernel = np.array([[1, 0, 0], [0, 2, 0], [0, 0, -1]], dtype=np.float64)
    kernel_matrix = kernel.reshape(KERNEL * KERNEL, 1)  # K.reshape(kh*kw*channels, filters)
    z = patches @ kernel_matrix
    windows = len(patches)
    side = SIZE - KERNEL + 1  # 2 window positions along each side

    fig = Figure(figsize=(16, 10.5))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 32)
    ax.set_ylim(4, 25)
    ax.axis("off")

    # --- Top: the forward pass, im2col then one matrix product. -------------------------
    ax.text(0.5, 24.4, "im2col: every window becomes one row, the kernel one column",
            fontsize=15, weight="bold", va="top")  # fmt: skip
    top = 21.5
    ax.text(0.5, top + 0.6, "x: a 4x4 image (pixel values 1..16)", fontsize=11)
    grid(ax, 0.5, top, image[0, :, :, 0])
    for w in range(windows):
        i, j = divmod(w, side)
        outline(ax, 0.5, top, i, j, KERNEL, COLORS[w], inset=0.06 + 0.07 * w)
    ax.text(0.5, top - 4.5, "windows of 3x3 at (i, j) = (0,0) (0,1) (1,0) (1,1),\n"
            "stride 1: each pixel (s i + dy, s j + dx)", fontsize=10, va="top")  # fmt: skip

    left_p = 7.5
    ax.text(left_p, top + 1.4, "patches = im2col(x): one row per window (i, j),", fontsize=11)
    ax.text(left_p, top + 0.6, "one column per offset (dy, dx)", fontsize=11)
    grid(ax, left_p, top, patches, fill=lambda r, c: PALE[r])
    for c in range(KERNEL * KERNEL):
        dy, dx = divmod(c, KERNEL)
        ax.text(left_p + c + 0.5, top + 0.15, f"{dy},{dx}", ha="center", fontsize=8, color="#555")
    for w in range(windows):
        ax.text(left_p - 0.15, top - w - 0.5, f"({w // side},{w % side})", ha="right",
                va="center", fontsize=9, color=COLORS[w])  # fmt: skip
    arrow(ax, (4.7, top - 2), (left_p - 1.1, top - 2), "im2col")

    left_k = 18.5
    ax.text(left_k, top + 0.6, "K: a 3x3 kernel", fontsize=11)
    grid(ax, left_k, top, kernel)
    left_km = 23.0
    ax.text(left_km - 0.5, top + 1.4, "K_mat = K.reshape(9, 1)", fontsize=11)
    ax.text(left_km - 0.5, top + 0.6, "(same (dy, dx) order)", fontsize=10)
    grid(ax, left_km, top + 1.0 - 1.0, kernel_matrix, cell=0.62, fontsize=9)
    arrow(ax, (left_k + 3.2, top - 1.5), (left_km - 0.2, top - 1.5), "reshape")

    left_z = 26.5
    ax.text(left_z, top + 0.6, "z = patches K_mat", fontsize=11)
    grid(ax, left_z, top, z, fill=lambda r, c: PALE[r])
    arrow(ax, (left_z + 1.3, top - 2), (left_z + 2.4, top - 2), "reshape")
    grid(ax, left_z + 2.6, top - 1.0, z.reshape(side, side),
         fill=lambda r, c: PALE[r * side + c])  # fmt: skip
    ax.text(left_z - 0.2, top - 4.6, "one number per window:\nz (2x2), one output map",
            fontsize=10, va="top")  # fmt: skip
    ax.text(left_p, top - 6.3,
            "Row (0,1) times K_mat: 2*1 + 3*0 + 4*0 + 6*0 + 7*2 + 8*0 + 10*0 + 11*0 "
            "+ 12*(-1) = 4.\n"
            "Every window is one example of a Dense layer with W = K_mat.",
            fontsize=10.5, va="top")  # fmt: skip

    # --- Bottom: the backward pass, col2im adds each copy's gradient back. -------------
    ax.text(0.5, 12.6, "col2im: each entry of dpatches is added back to the pixel it was "
            "copied from", fontsize=15, weight="bold", va="top")  # fmt: skip
    low = 9.8
    ones = np.ones_like(patches)
    ax.text(0.5, low + 0.6, "dpatches: here every entry 1", fontsize=11)
    grid(ax, 0.5, low, ones, fill=lambda r, c: PALE[r])
    counts = col2im(ones, image.shape, (KERNEL, KERNEL), stride=1)[0, :, :, 0]
    left_g = 13.5
    ax.text(left_g, low + 1.4, "x_grad = col2im(dpatches):", fontsize=11)
    ax.text(left_g, low + 0.6, "how many windows cover each pixel", fontsize=11)
    grid(ax, left_g, low, counts, fill=lambda r, c: "#fff3c4" if counts[r, c] == 4 else "white")
    for w in range(windows):
        i, j = divmod(w, side)
        outline(ax, left_g, low, i, j, KERNEL, COLORS[w], inset=0.06 + 0.07 * w)
    arrow(ax, (10.0, low - 2), (left_g - 0.3, low - 2), "col2im (adds)")

    # The same for a real gradient: dpatches = dz K_mat^T, as Conv2D's backward pass.
    dz = np.array([[1.0], [0.0], [0.0], [0.0]])  # only window (0,0) has a gradient
    left_d = 21.5
    x_grad = col2im(dz @ kernel_matrix.T, image.shape, (KERNEL, KERNEL), stride=1)[0, :, :, 0]
    ax.text(left_d, low + 1.4, "dz = 1 at window (0,0), 0 elsewhere:", fontsize=11)
    ax.text(left_d, low + 0.6, "x_grad = col2im(dz K_mat^T)", fontsize=11)
    grid(ax, left_d, low, x_grad, fill=lambda r, c: PALE[0]
         if r < KERNEL and c < KERNEL else "white")  # fmt: skip
    ax.text(left_d + 4.4, low - 1.0, "window (0,0)'s nine\npixels get K,\nthe others 0",
            fontsize=10, va="top")  # fmt: skip
    ax.text(0.5, low - 4.7,
            "Pixel 6 lies in all four windows: its four copies' gradients add up (4). "
            "Pixel 1 lies in one window only (1).\n"
            "<im2col(x), P> = <x, col2im(P)> for every x and P: col2im is im2col's transpose "
            "(docs/math.md).",
            fontsize=10.5, va="top")  # fmt: skip

    fig.savefig(out, dpi=100)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
