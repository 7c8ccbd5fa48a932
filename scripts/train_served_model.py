"""Train the small CNN that `digitnet serve` offers when given no model, and write it
into the package (src/digitnet/data/bundled/digits-cnn.npz).

Small, so that the package stays light (about 200 KB) and a drawing is read in
milliseconds; trained on all of MNIST's 60,000 training digits (5,000 held out to
measure it) with the handwriting distortions, so that it reads digits drawn with a
mouse or photographed, not only MNIST's own.

Usage: python scripts/train_served_model.py [DATA]   (DATA: mnist, or a folder of
       MNIST's IDX files; default mnist, downloaded and checked on first use)
"""

from __future__ import annotations

import sys
from pathlib import Path

import digitnet
from digitnet.data.bundled import SERVED_MODEL

LAYERS = "conv16k5,pool2,bn,relu,conv32k5,pool2,bn,relu,dense64,relu,dropout0.25,dense10"
OUT = Path(__file__).parents[1] / "src" / "digitnet" / "data" / "bundled" / SERVED_MODEL


def main() -> None:
    data = sys.argv[1] if len(sys.argv) > 1 else "mnist"
    model = digitnet.train(
        "cnn", data=data, seed=0, layers=LAYERS, epochs=10, elastic=8.0, dev_size=5000,
        restore_best=True, weight_decay=0.0,  # the settings the shipped model was made with
    )  # fmt: skip
    # Where the data lay on the machine that trained it means nothing to a user.
    rows = model.info["train_size"] + model.info["dev_size"]
    model.info["data"] = f"MNIST's training images ({rows})"
    model.info["data_spec"] = "mnist"
    digitnet.save_model(model, OUT)
    best = max(model.history["dev_accuracy"])
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB), dev accuracy {best:.4f}")


if __name__ == "__main__":
    main()
