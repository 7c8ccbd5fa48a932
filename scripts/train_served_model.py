"""Train the small CNN that `digitnet serve` offers when given no model, and write it
into the package (src/digitnet/data/bundled/digits-cnn.npz).

Small, so that the package stays light (under 256 KB: the wheel ships it, and a
drawing is read in milliseconds); trained on MNIST's 60,000 training digits (5,000
held out to measure it) with the handwriting distortions, so that it reads digits
drawn with a mouse or photographed, not only MNIST's own.

`--validate` measures the settings instead, writing nothing: it trains on the first
50,000 training digits and reports the last 10,000 (the validation split every
recipe is measured on).  `--candidate` takes what the records taught the larger
networks (label smoothing, weight decay, the weights' average) to this one; on two
seeds it read no better (benchmarks/README.md, "The shipped model"), so the shipped
model keeps its settings.

Usage: python scripts/train_served_model.py [DATA]              (write the model)
       python scripts/train_served_model.py [DATA] --validate [--candidate] [--seed N]
       (DATA: mnist, or a folder of MNIST's IDX files; default mnist, downloaded and
       checked on first use)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import digitnet
from digitnet.data.bundled import SERVED_MODEL

LAYERS = "conv16k5,pool2,bn,relu,conv32k5,pool2,bn,relu,dense64,relu,dropout0.25,dense10"
OUT = Path(__file__).parents[1] / "src" / "digitnet" / "data" / "bundled" / SERVED_MODEL

# Every knob is named, not left to the cnn recipe, whose settings move on: rerunning
# this script makes the shipped model again.
SETTINGS = dict(layers=LAYERS, init="he", learning_rate=0.05, epochs=10, batch_size=128,
                optimizer="sgd", momentum=0.9, schedule="cosine", warmup=0.0, augment=True,
                elastic=8.0, weight_decay=0.0, label_smoothing=0.0, ema=0.0, erase=0.0,
                restore_best=True)  # fmt: skip
# Label smoothing 0.1, weight decay 5e-4 and the average (decay 0.999), ending on the
# last epoch: measured, not shipped.
CANDIDATE = dict(SETTINGS, weight_decay=5e-4, label_smoothing=0.1, ema=0.999, restore_best=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="mnist")
    parser.add_argument("--validate", action="store_true", help="measure, write nothing")
    parser.add_argument("--candidate", action="store_true", help="the records' techniques")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:  # a missing or bad data path: one line, as the command line gives it
        digitnet.load_data(args.data)
    except digitnet.DigitnetError as error:
        parser.error(str(error))
    settings = CANDIDATE if args.candidate else SETTINGS
    if args.validate:
        # The last epoch's accuracy: ending on the best epoch would choose on this split.
        settings = dict(settings, restore_best=False)
        model = digitnet.train("cnn", data=args.data, seed=args.seed, split="last",
                               dev_size=10000, **settings)  # fmt: skip
        accuracy = model.history["dev_accuracy"][-1]
        print(f"validation accuracy (last 10,000 of MNIST's training digits): {accuracy:.4f}")
        return
    model = digitnet.train("cnn", data=args.data, seed=args.seed, dev_size=5000,
                           split="stratified", **settings)  # fmt: skip
    # Where the data lay on the machine that trained it means nothing to a user.
    rows = model.info["train_size"] + model.info["dev_size"]
    model.info["data"] = f"MNIST's training images ({rows})"
    model.info["data_spec"] = "mnist"
    digitnet.save_model(model, OUT)
    final = model.history["dev_accuracy"][-1]
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB), dev accuracy {final:.4f}")


if __name__ == "__main__":
    main()
