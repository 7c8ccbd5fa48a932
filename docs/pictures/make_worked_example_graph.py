"""Draw docs/pictures/worked_example_graph.png: the worked example as a computational graph.

The numbers are read from docs/worked_example.md and computed by digitnet's own layers
(worked_example.py), so the picture shows what the page says.  Forward values are
written on the arrows in green, gradients beneath them in red; each gate is named by
how it passes gradients back (add distributes, max routes, multiply swaps).

    PYTHONPATH=src python docs/pictures/make_worked_example_graph.py [OUT.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from worked_example import forward_backward, read_page  # noqa: E402

OUT = Path(__file__).resolve().parent / "worked_example_graph.png"
FORWARD, BACKWARD, GATE, NOTE = "#1a7f37", "#c62828", "#e8eef7", "#444444"


def matrix(values: np.ndarray) -> str:
    """A small array as rows of numbers, three decimals, for a label."""
    rows = np.atleast_2d(values) + 0.0  # + 0.0 turns -0.0 into 0.0
    return "\n".join("[" + "  ".join(f"{v:6.3f}" for v in row) + "]" for row in rows)


def main(out: Path = OUT) -> None:
    page = read_page()
    n = forward_backward(page)
    fig = Figure(figsize=(15, 9.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 15)
    ax.set_ylim(0.2, 9.8)
    ax.axis("off")

    def gate(x: float, y: float, symbol: str, name: str, rule: str, half: float = 0.55) -> None:
        ax.add_patch(FancyBboxPatch((x - half, y - 0.4), 2 * half, 0.8,
                                    boxstyle="round,pad=0.05", fc=GATE, ec="#555"))  # fmt: skip
        ax.text(x, y, symbol, ha="center", va="center", fontsize=15, weight="bold")
        ax.text(x, y - 0.6, name, ha="center", va="top", fontsize=10.5, weight="bold")
        ax.text(x, y - 0.95, rule, ha="center", va="top", fontsize=9, color=NOTE)

    def arrow(start: tuple[float, float], end: tuple[float, float]) -> None:
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                     lw=1.4, color="#333"))  # fmt: skip

    def values(x: float, y: float, forward: str, backward: str, ha: str = "center") -> None:
        """The forward value above (x, y), its gradient beneath."""
        ax.text(x, y + 0.08, forward, ha=ha, va="bottom", fontsize=9, color=FORWARD,
                family="monospace")  # fmt: skip
        ax.text(x, y - 0.08, backward, ha=ha, va="top", fontsize=9, color=BACKWARD,
                family="monospace")  # fmt: skip

    def parameter(x: float, y_gate: float, name: str, forward: str, backward: str) -> None:
        """A parameter above a gate, its value and gradient beside the arrow down."""
        arrow((x, y_gate + 1.7), (x, y_gate + 0.45))
        ax.text(x - 0.12, y_gate + 1.05, f"{name} =\n{forward}", ha="right", va="center",
                fontsize=9, color=FORWARD, family="monospace")  # fmt: skip
        ax.text(x + 0.12, y_gate + 1.05, f"d{name} =\n{backward}", ha="left", va="center",
                fontsize=9, color=BACKWARD, family="monospace")  # fmt: skip

    ax.text(0.3, 9.6, "The worked example (docs/worked_example.md) as a graph: "
            "3 inputs, 2 ReLU units, 2 classes, m = 2 examples (one per row)",
            fontsize=13, weight="bold", va="top")  # fmt: skip
    ax.text(0.3, 9.15, "forward value above each arrow", color=FORWARD, fontsize=11, va="top")
    ax.text(4.3, 9.15, "its gradient dL/d(value) beneath", color=BACKWARD, fontsize=11, va="top")

    # Row 1: the first layer and ReLU.
    y1 = 6.2
    x_in, g1, g2, g3 = 0.35, 4.0, 7.6, 10.9
    values(1.05, y1, f"x =\n{matrix(page['x'])}", f"dx =\n{matrix(n['dx'])}", ha="left")
    arrow((0.9, y1), (g1 - 0.6, y1))
    ax.text(x_in, y1, "x", fontsize=14, weight="bold", va="center")
    gate(g1, y1, "x W", "multiply: swaps", "dW1 = x^T dz1\ndx = dz1 W1^T")
    parameter(g1, y1, "W1", matrix(page["W1"]), matrix(n["dW1"]))
    arrow((g1 + 0.6, y1), (g2 - 0.6, y1))
    values((g1 + g2) / 2, y1, f"x W1 =\n{matrix(page['x'] @ page['W1'])}",
           f"dz1 (passed on) =\n{matrix(n['dz1'])}")  # fmt: skip
    gate(g2, y1, "+", "add: distributes", "dz1 to both inputs;\ndb1 = dz1 summed over rows")
    parameter(g2, y1, "b1", matrix(page["b1"]), matrix(n["db1"]))
    arrow((g2 + 0.6, y1), (g3 - 0.85, y1))
    values((g2 + g3) / 2, y1, f"z1 =\n{matrix(n['z1'])}", f"dz1 =\n{matrix(n['dz1'])}")
    routes = "dz1 = da1 where z1 > 0, else 0:\nda1[0, 1] = -0.714 stops at\nz1[0, 1] = -0.5"
    gate(g3, y1, "max(z1, 0)", "max: routes", routes, half=0.8)

    # a1 leaves row 1 on the right and enters row 2 on the left.
    y2 = 2.3
    bend = (y1 + y2) / 2 + 0.2
    ax.plot([g3 + 0.85, 14.6, 14.6, 0.5, 0.5], [y1, y1, bend, bend, y2], color="#333", lw=1.4)
    values(13.2, y1, f"a1 =\n{matrix(n['a1'])}", f"da1 =\n{matrix(n['da1'])}")
    g4, g5, g6, x_loss = 3.2, 6.6, 10.3, 13.9
    arrow((0.5, y2), (g4 - 0.6, y2))
    values(1.55, y2, f"a1 =\n{matrix(n['a1'])}", f"da1 =\n{matrix(n['da1'])}")
    gate(g4, y2, "a1 W", "multiply: swaps", "dW2 = a1^T dz2\nda1 = dz2 W2^T")
    parameter(g4, y2, "W2", matrix(page["W2"]), matrix(n["dW2"]))
    arrow((g4 + 0.6, y2), (g5 - 0.6, y2))
    values((g4 + g5) / 2, y2, f"a1 W2 =\n{matrix(n['a1'] @ page['W2'])}",
           f"dz2 (passed on) =\n{matrix(n['dz2'])}")  # fmt: skip
    gate(g5, y2, "+", "add: distributes", "dz2 to both inputs;\ndb2 = dz2 summed over rows")
    parameter(g5, y2, "b2", matrix(page["b2"]), matrix(n["db2"]))
    arrow((g5 + 0.6, y2), (g6 - 0.75, y2))
    values((g5 + g6) / 2 - 0.05, y2, f"z2 =\n{matrix(n['z2'])}", f"dz2 =\n{matrix(n['dz2'])}")
    ax.add_patch(FancyBboxPatch((g6 - 0.7, y2 - 0.4), 1.4, 0.8, boxstyle="round,pad=0.05",
                                fc=GATE, ec="#555"))  # fmt: skip
    ax.text(g6, y2, "softmax +\ncross-entropy", ha="center", va="center", fontsize=10.5,
            weight="bold")  # fmt: skip
    ax.text(g6, y2 - 0.6, f"p =\n{matrix(n['p'])}", ha="center", va="top", fontsize=9,
            color=FORWARD, family="monospace")  # fmt: skip
    ax.text(g6, y2 - 1.35, "dz2 = (p - one_hot(y)) / m", ha="center", va="top", fontsize=9,
            color=NOTE)  # fmt: skip
    arrow((g6, y2 + 1.3), (g6, y2 + 0.45))
    ax.text(g6 + 0.1, y2 + 0.9, f"y = {page['y'].tolist()}", ha="left", va="center",
            fontsize=9, color=FORWARD, family="monospace")  # fmt: skip
    arrow((g6 + 0.75, y2), (x_loss - 0.25, y2))
    values((g6 + x_loss) / 2 + 0.1, y2, f"L = {float(n['L']):.4f}", "dL/dL = 1")
    ax.text(x_loss, y2, "L", fontsize=14, weight="bold", va="center")

    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
