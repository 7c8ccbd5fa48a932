"""Training: the optimizer step and the loop around it."""

from digitnet.training.optimizer import SGD
from digitnet.training.trainer import TrainingConfig, TrainingResult, evaluate, train

__all__ = ["SGD", "TrainingConfig", "TrainingResult", "evaluate", "train"]
