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

Label smoothing (Szegedy et al., 2016) trains against a softened target: with
smoothing e, the true class gets 1 - e + e/K and every class e/K (K classes):

    q_k  = (1 - e) [k == y] + e / K
    loss = -sum_k q_k log p_k  =  -(1 - e) log p_y - (e / K) sum_k log p_k
    dloss/dz_k = p_k - q_k                    still "p minus the target"

A one-hot target is only reached as z_y - z_k grows without bound, so plain
cross-entropy keeps pushing confident logits further apart; the softened one
is reached at a finite gap, log(q_y / q_k), and the network stops there
(docs/training.md measures what that is worth).
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
    """The loss of the logits: `fn` its value, `delta` its gradient dL/dz.

    `smoothing` e in [0, 1): the target's share spread evenly over the classes
    (0: the plain one-hot target)."""

    # The row-wise functions it uses (a subclass may compute them differently, faster).
    softmax = staticmethod(softmax)
    log_softmax = staticmethod(log_softmax)

    @classmethod
    def fn(cls, logits: np.ndarray, labels: np.ndarray, smoothing: float = 0.0) -> float:
        """Mean cross-entropy of a batch: logits (m, classes), labels (m,) ints."""
        _check(smoothing)
        log_p = cls.log_softmax(logits)
        true_class = log_p[np.arange(len(labels)), labels]  # log p_y
        if not smoothing:
            return float(-np.mean(true_class))
        # -(1 - e) log p_y - (e / K) sum_k log p_k,  and (1/K) sum_k is the row's mean
        every_class = log_p.mean(axis=1)
        return float(-np.mean((1 - smoothing) * true_class + smoothing * every_class))

    @classmethod
    def delta(cls, logits: np.ndarray, labels: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
        """dL/dz for the mean loss: (softmax(z) - q) / m, q the (smoothed) one-hot target."""
        _check(smoothing)
        grad = cls.softmax(logits)
        if smoothing:  # every class's share of the target: e / K
            grad -= smoothing / logits.shape[1]
        # Subtracting the one-hot part is subtracting 1 - e at each row's true class;
        # its width is the number of classes, whatever digits this batch contains.
        grad[np.arange(len(labels)), labels] -= 1 - smoothing
        grad /= len(labels)
        return grad


def _check(smoothing: float) -> None:
    if not 0 <= smoothing < 1:
        raise ValueError(f"label smoothing {smoothing}: must be at least 0 and below 1")
