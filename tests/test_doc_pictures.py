"""The pictures in docs/ are drawn by scripts in docs/pictures, and those scripts still run.

Each script draws into a temporary file here; the test looks at what a reader would
see: the size of the picture (the same as the one committed), that it is not blank,
and that the colours that carry meaning (window frames, forward values in green,
gradients in red) are there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

PICTURES = Path(__file__).resolve().parent.parent / "docs" / "pictures"
SCRIPTS = {
    "make_worked_example_graph.py": ("worked_example_graph.png", ("#1a7f37", "#c62828")),
    "make_im2col.py": ("im2col.png", ("#e4572e", "#2e86ab", "#76b041", "#a66dd4")),
    "make_maxpool_routing.py": ("maxpool_routing.png", ("#e4572e", "#fff3c4")),
}


def _has_colour(image: np.ndarray, colour: str) -> bool:
    wanted = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return bool(np.any(np.all(np.abs(image[..., :3] - wanted) < 0.02, axis=-1)))


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_picture_script_draws_what_the_docs_show(script, tmp_path):
    picture, colours = SCRIPTS[script]
    out = tmp_path / picture
    done = subprocess.run([sys.executable, str(PICTURES / script), str(out)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    drawn, committed = imread(out), imread(PICTURES / picture)
    assert drawn.shape == committed.shape  # the committed picture is this script's
    ink = np.mean(np.any(drawn[..., :3] < 0.9, axis=-1))
    assert 0.02 < ink < 0.6, f"{picture}: {ink:.1%} of its pixels are not white"
    for colour in colours:
        assert _has_colour(drawn, colour), f"{picture} shows no {colour}"
