"""Softmax fused with cross-entropy: the network's output layer and its cost.

Like the cost objects of Nielsen's network.py, it has two functions:
`fn` (the forward step: the loss's value) and `delta` (the backward step: the
gradient of the loss with respect to the logits z, the last layer's output).

For one example with logits z (10 numbers) and true digit y:

    p_k  = exp(z_k) / sum_j exp(z_j)          softmax: probabilities that sum to 1
    loss = -log p_y                           cross-entropy against the one-hot target
    dloss/dz_k = p_k - [k == y]               the famous "p minus one-hot"

Fusing the two is what makes the derivative this simple (docs/math.md derives
it), and what makes it stable: exp(z_k) overflows for z_k > 88 in float32, so
we subtract max_j z_j first.  The shift cancels in the ratio, so p is unchanged,
and the largest term becomes exp(0) = 1.  The batch loss is the mean over m
examples, so its gradient is divided by m.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by each row's maximum so exp never overflows."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    exps /= exps.sum(axis=1, keepdims=True)
    return exps


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log(softmax(z)) = (z - max z) - log(sum exp(z - max z)), finite for any z."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class SoftmaxCrossEntropy:
    """The loss of the logits: `fn` its value, `delta` its gradient dL/dz."""

    # The row-wise functions it uses (a subclass may compute them differently, faster).
    softmax = staticmethod(softmax)
    log_softmax = staticmethod(log_softmax)

    @classmethod
    def fn(cls, logits: np.ndarray, labels: np.ndarray) -> float:
        """Mean cross-entropy of a batch: logits (m, classes), labels (m,) ints."""
        log_p = cls.log_softmax(logits)
        return float(-np.mean(log_p[np.arange(len(labels)), labels]))

    @classmethod
    def delta(cls, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """dL/dz for the mean loss: (softmax(z) - one_hot(y)) / m."""
        grad = cls.softmax(logits)
        # Subtracting the one-hot target is subtracting 1 at each row's true class;
        # its width is the number of classes, whatever digits this batch contains.
        grad[np.arange(len(labels)), labels] -= 1
        grad /= len(labels)
        return grad
