"""Scores computed from predicted and true labels: used by training (dev accuracy),
the pictures and the `evaluate` command alike, so they live outside all three."""

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


def precision_recall(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class: precision = right / predicted as it; recall = right / truly it (nan if 0/0)."""
    right = np.diag(confusion).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return right / confusion.sum(axis=0), right / confusion.sum(axis=1)


def calibration_bins(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reliability: group predictions by confidence (the top probability) into `bins`
    equal-width bins; per bin, the mean confidence, the accuracy, and the count.

    A calibrated network's accuracy in each bin equals its mean confidence there.
    Empty bins have nan confidence and accuracy.
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, weights=confidence, minlength=bins) / counts
        accuracy = np.bincount(which, weights=correct, minlength=bins) / counts
    return mean_confidence, accuracy, counts
