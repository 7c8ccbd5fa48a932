"""Training: the optimizer step, the loop around it, and the scores it reports."""

from digitnet.training.metrics import accuracy, confusion_matrix, per_class_accuracy
from digitnet.training.optimizer import SGD
from digitnet.training.trainer import TrainingConfig, TrainingResult, evaluate, train

__all__ = [
    "SGD",
    "TrainingConfig",
    "TrainingResult",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "train",
    "per_class_accuracy",
]
