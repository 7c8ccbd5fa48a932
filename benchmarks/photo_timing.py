"""Time to turn one picture into MNIST's 28x28, the old code against the new, in one run.

Two pictures, as `digitnet serve` and `show --image` get them: a 1024x1024 phone-style
photo (a digit of the bundled sample on grey paper lit from one side, JPEG) and a
280x280 drawing from the page's canvas (PNG).  For each, rounds alternate the old code
(digit_photo.py at `photo_before.BEFORE`, hand-written numpy) and the new
(scipy.ndimage); each round times `--repeat` calls of each and keeps the median, and
the ratio is taken within each round (this machine is shared: times drift).
"Preprocessing" is prepare_digit on the decoded grey levels; "read" is the whole of
read_digit_image (decoding, EXIF, shrinking, preprocessing), which for the old code
decoded at up to 1024 pixels a side and for the new at up to 512.

Usage: python benchmarks/photo_timing.py [--rounds 5] [--repeat 15] [--before REV]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from digitnet.data import digit_photo, image_file, load_sample
from photo_before import BEFORE, old_digit_photo, photo_fakes


def pictures() -> dict[str, bytes]:
    fakes = photo_fakes()
    digit = load_sample().images[7]
    rng = np.random.default_rng(0)
    ink = np.pad(fakes._ink(digit, 700), 162)
    light = np.linspace(120, 210, 1024)[None, :] * np.ones((1024, 1))
    photo = light * (1 - 0.8 * ink) + rng.normal(0, 5, (1024, 1024))
    return {
        "1024 px photo": fakes._encode(photo, "JPEG", quality=88),
        "280 px drawing": fakes.drawn(fakes.SEVEN, 20, side=280),
    }


def median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--before", default=BEFORE, help="git revision of the old code")
    args = parser.parse_args()
    old = old_digit_photo(args.before)
    old_side, new_side = 1024, image_file.WORKING_SIDE

    def read_old(data: bytes) -> np.ndarray:
        image_file.WORKING_SIDE = old_side  # the old code's reading, then its preparing
        try:
            return old.prepare_digit(image_file.read_grayscale(data))
        finally:
            image_file.WORKING_SIDE = new_side

    print(f"old: digit_photo.py at {args.before}; new: this checkout; median of "
          f"{args.repeat} calls, {args.rounds} rounds (ratio within each round)")  # fmt: skip
    print(f"{'picture':<16} {'step':<14} {'old ms':>8} {'new ms':>8} {'old/new':>8} "
          f"{'range':>12}")  # fmt: skip
    for name, data in pictures().items():
        image_file.WORKING_SIDE = old_side
        gray_old = image_file.read_grayscale(data)
        image_file.WORKING_SIDE = new_side
        steps = {
            "preprocessing": (lambda gray=gray_old: old.prepare_digit(gray),
                              lambda gray=gray_old: digit_photo.prepare_digit(gray)),
            "read": (lambda data=data: read_old(data),
                     lambda data=data: image_file.read_digit_image(data)),
        }  # fmt: skip
        for step, (before, after) in steps.items():
            before(), after()  # warm up
            rows = []
            for _ in range(args.rounds):
                rows.append((median_ms(before, args.repeat), median_ms(after, args.repeat)))
            olds, news = zip(*rows)
            ratios = [a / b for a, b in rows]
            print(f"{name:<16} {step:<14} {statistics.median(olds):>8.1f} "
                  f"{statistics.median(news):>8.1f} {statistics.median(ratios):>7.1f}x "
                  f"{min(ratios):>5.1f}-{max(ratios):.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
