"""Scores computed from predicted and true labels."""

from __future__ import annotations

import numpy as np


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of predictions that equal the label."""
    return float(np.mean(predicted == labels)) if len(labels) else float("nan")


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[true, predicted]: row i says what the examples of class i were called."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    return counts


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """For each true class, the fraction predicted correctly (recall); nan if absent."""
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(confusion) / totals
