"""Plain-text reports the command line prints: evaluation tables and the like."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digitnet.data.dataset import DIGITS, class_noun
from digitnet.metrics import per_class_accuracy


def evaluation_report(confusion: np.ndarray, class_names: Sequence[str] = DIGITS) -> str:
    """Accuracy, per-class accuracy and the confusion matrix, as aligned text, headed
    by what the classes are: digits, or (Fashion-MNIST...) classes by name."""
    noun = class_noun(tuple(class_names))
    total = int(confusion.sum())
    correct = int(np.trace(confusion))
    lines = [f"accuracy: {correct / total:.4f} ({correct}/{total})", ""]
    lines.append("per-class accuracy:")
    name_width = max(5, len(noun), *(len(name) for name in class_names))
    lines.append(f"  {noun:>{name_width}}  count  accuracy")
    for name, count, score in zip(
        class_names, confusion.sum(axis=1), per_class_accuracy(confusion)
    ):
        shown = "     -" if count == 0 else f"{score:.4f}"
        lines.append(f"  {name:>{name_width}}  {count:>5}  {shown:>8}")
    lines.append("")
    lines.append(f"confusion matrix (rows: true {noun}, columns: predicted {noun}):")
    if noun != "digit":
        lines.append("  " + ", ".join(f"{i} = {name}" for i, name in enumerate(class_names)))
    width = max(4, len(str(confusion.max())) + 1)
    lines.append("     " + "".join(f"{digit:>{width}}" for digit in range(confusion.shape[1])))
    for digit, row in enumerate(confusion):
        lines.append(f"  {digit:>2} " + "".join(f"{count:>{width}}" for count in row))
    return "\n".join(lines)
