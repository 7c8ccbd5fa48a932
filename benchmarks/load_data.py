"""Load times: Kaggle train.csv and MNIST IDX files, parsed (cold) and from the cache.

Each source is loaded with an empty cache (parse and write the cache), then
again (read the cache), several times; medians are printed with the ratio.
The cache lives in a temporary DIGITNET_DATA_DIR, so nothing of yours is touched.

Usage: python benchmarks/load_data.py [--csv TRAIN_CSV] [--idx MNIST_FOLDER] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from digitnet.data import load_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=Path(__file__).parent / "data/train.csv")
    parser.add_argument("--idx", default=Path(__file__).parent.parent / "../shared/data/mnist")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="digitnet-bench-"))
    os.environ["DIGITNET_DATA_DIR"] = str(data_dir)

    print(f"{'source':44} {'cold s':>7} {'cached s':>9} {'ratio':>7}")
    for name, source in (("Kaggle train.csv", args.csv), ("MNIST IDX (train, gzipped)", args.idx)):
        cold, warm = [], []
        for _ in range(args.repeats):
            shutil.rmtree(data_dir / "parsed", ignore_errors=True)
            started = time.perf_counter()
            dataset = load_data(source)
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            load_data(source)
            warm.append(time.perf_counter() - started)
        cold_s, warm_s = statistics.median(cold), statistics.median(warm)
        label = f"{name} ({len(dataset)} images)"
        print(f"{label:44} {cold_s:7.3f} {warm_s:9.3f} {warm_s / cold_s:6.3f}x")
    shutil.rmtree(data_dir)


if __name__ == "__main__":
    main()
