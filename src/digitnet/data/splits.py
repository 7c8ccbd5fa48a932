"""Splitting labelled data into a training part and a held-out part (dev, validation).

- `shuffled`: shuffle all rows with a seed, hold out the first n (the notebook's way).
- `stratified`: hold out the same share of every class, chosen at random with a
  seed, so class proportions are kept (within one example per class).
- `last`: hold out the last n rows in file order: MNIST's standard split is its
  first 50,000 training images for training and the last 10,000 for validation.

The size is a count (1000) or a fraction of the rows (0.1).
"""

from __future__ import annotations

import numpy as np

from digitnet.errors import DigitnetError

SPLITS = ("shuffled", "stratified", "last")


def shown_size(size: float) -> str:
    """A dev size as a person wrote it: 1000, not 1000.0 or 1e+03; 0.1 as 0.1."""
    whole = abs(size) >= 1 and size == int(size)
    return str(int(size)) if whole else repr(float(size))


def held_out_count(size: float, rows: int) -> int:
    """A count (>= 1, whole) or a fraction (0 < f < 1) of `rows`, as a count."""
    count = round(size * rows) if 0 < size < 1 else int(size)
    shown = f"dev size {shown_size(size)}"
    if size < 0:
        raise DigitnetError(f"{shown}: must be 0 or more (a count of rows, or a fraction below 1)")
    if rows <= 1 and size > 0:
        raise DigitnetError(f"{shown}: the data has {rows} row{'' if rows == 1 else 's'}, "
                            "too few to hold any out; give 0")  # fmt: skip
    if 0 < size < 1 and count >= rows:
        raise DigitnetError(f"{shown}: {shown_size(size)} of {rows} rows rounds to all {rows}, "
                            "leaving none to train on")  # fmt: skip
    if (size >= 1 and size != int(size)) or count >= rows:
        raise DigitnetError(f"{shown}: must be a count below {rows} or a fraction below 1")
    return count


def split(
    labels: np.ndarray, size: float, method: str = "stratified", seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, held-out rows) as index arrays, reproducible with `seed`."""
    rng = np.random.default_rng(seed)
    rows = len(labels)
    count = held_out_count(size, rows)
    if method == "shuffled":
        order = rng.permutation(rows)
        return order[count:], order[:count]
    if method == "last":
        everything = np.arange(rows)
        return everything[: rows - count], everything[rows - count :]
    if method != "stratified":
        raise DigitnetError(f"unknown split '{method}' (choose from {', '.join(SPLITS)})")
    held_out = []
    classes, per_class = np.unique(labels, return_counts=True)
    # Each class gives its share of `count`; rounding leftovers go to the largest remainders.
    exact = per_class * count / rows
    quota = np.floor(exact).astype(int)
    leftovers = count - quota.sum()
    quota[np.argsort(-(exact - quota), kind="stable")[:leftovers]] += 1
    for label, take in zip(classes, quota):
        members = np.flatnonzero(labels == label)
        held_out.append(rng.choice(members, size=take, replace=False))
    held = rng.permutation(np.concatenate(held_out)) if held_out else np.zeros(0, int)
    mask = np.ones(rows, bool)
    mask[held] = False
    return rng.permutation(np.flatnonzero(mask)), held
