"""How long reading Kaggle's train.csv takes: digitnet's strict reader against bare parsers.

Rows: numpy's C parser alone (np.loadtxt, no checks), digitnet's read_kaggle_csv
(the same parser plus header, shape and range checks), and pandas.read_csv when
pandas is installed.  Median of several reads, in one run.

Usage: python benchmarks/read_csv.py [TRAIN_CSV] [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from digitnet.data.kaggle_csv import read_kaggle_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_csv", nargs="?", default=Path(__file__).parent / "data/train.csv")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    path = Path(args.train_csv)
    readers = {
        "np.loadtxt (no checks)": lambda: np.loadtxt(
            path, delimiter=",", skiprows=1, dtype=np.int16
        ),
        "digitnet read_kaggle_csv": lambda: read_kaggle_csv(path, need_labels=True),
    }
    try:
        import pandas

        readers["pandas.read_csv"] = lambda: pandas.read_csv(path).to_numpy()
    except ImportError:
        pass

    size_mb = path.stat().st_size / 1e6
    print(f"file: {path} ({size_mb:.0f} MB)\n")
    print(f"{'reader':28} {'median s':>9}")
    times = {}
    for name, read in readers.items():
        samples = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            read()
            samples.append(time.perf_counter() - started)
        times[name] = statistics.median(samples)
        print(f"{name:28} {times[name]:9.2f}")
    ratio = times["digitnet read_kaggle_csv"] / times["np.loadtxt (no checks)"]
    print(f"\ndigitnet / bare np.loadtxt: {ratio:.2f}x")


if __name__ == "__main__":
    main()
