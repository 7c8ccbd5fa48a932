"""Peak memory of a training run: `digitnet train` in a child process, its maximum resident size.

Buffers (patch matrices, gradients, optimizer state) are allocated in the first
epoch and reused, so one epoch shows the peak of a whole run.

Usage: python benchmarks/memory.py [--data ../shared/data/mnist] [--recipe cnn] [--epochs 1]
           [--threads N]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parent / "../../shared/data/mnist"))
    parser.add_argument("--recipe", default="cnn")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="default: digitnet's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "digitnet", "train", "--recipe", args.recipe,
                   "--data", args.data, "--epochs", str(args.epochs),
                   "--out", str(Path(folder) / "model.npz"), "--quiet"]  # fmt: skip
        if args.threads:
            command += ["--threads", str(args.threads)]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"training failed: {result.stderr.strip()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    print(result.stdout.strip())
    threads = args.threads or "default"
    print("| recipe | data | epochs | threads | peak resident memory | wall time |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| {args.recipe} | {args.data} | {args.epochs} | {threads} | {peak:.0f} MiB "
        f"| {seconds:.0f} s |"
    )


if __name__ == "__main__":
    main()
