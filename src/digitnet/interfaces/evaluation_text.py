"""Plain-text reports the command line prints: evaluation tables and the like."""

from __future__ import annotations

import numpy as np

from digitnet.metrics import per_class_accuracy


def evaluation_report(confusion: np.ndarray) -> str:
    """Accuracy, per-class accuracy and the confusion matrix, as aligned text."""
    total = int(confusion.sum())
    correct = int(np.trace(confusion))
    lines = [f"accuracy: {correct / total:.4f} ({correct}/{total})", ""]
    lines.append("per-class accuracy:")
    lines.append("  digit  count  accuracy")
    for digit, (count, score) in enumerate(
        zip(confusion.sum(axis=1), per_class_accuracy(confusion))
    ):
        shown = "     -" if count == 0 else f"{score:.4f}"
        lines.append(f"  {digit:>5}  {count:>5}  {shown:>8}")
    lines.append("")
    lines.append("confusion matrix (rows: true digit, columns: predicted digit):")
    width = max(4, len(str(confusion.max())) + 1)
    lines.append("     " + "".join(f"{digit:>{width}}" for digit in range(confusion.shape[1])))
    for digit, row in enumerate(confusion):
        lines.append(f"  {digit:>2} " + "".join(f"{count:>{width}}" for count in row))
    return "\n".join(lines)
