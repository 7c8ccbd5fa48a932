"""The Kaggle notebook's algorithm, as written, for side-by-side comparison.

This is a faithful re-implementation of ../shared/origin/notebook.txt: float64,
one example per column, the same functions with the same bodies.  Only three
changes, each needed to make it run as a benchmark:

1. `gradient_descent` calls `backward_prop` (the notebook calls the undefined
   `back_prop`: a NameError);
2. the data arrive as an argument instead of from the hard-coded Kaggle path;
3. the prints of whole arrays (weights, predictions) are gone; the accuracy
   line every 50 iterations is kept, returned instead of printed.

For a paired comparison the benchmark also hands it the same shuffled rows and
the same initial weights as digitnet's run (plumbing, not a change to the math).

Its other defects (the scalar bias gradient, the unshifted softmax, the
`Y.max() + 1` one-hot width) are deliberately kept: this is the baseline.
It is benchmark code, not part of the package.
"""

from __future__ import annotations

import numpy as np


def init_params():
    W1 = np.random.rand(10, 784) - 0.5
    b1 = np.random.rand(10, 1) - 0.5
    W2 = np.random.rand(10, 10) - 0.5
    b2 = np.random.rand(10, 1) - 0.5
    return W1, b1, W2, b2


def ReLU(Z):
    return np.maximum(Z, 0)


def softmax(Z):
    return np.exp(Z) / sum(np.exp(Z))


def one_hot(Y):
    one_hot_Y = np.zeros((Y.size, Y.max() + 1))
    one_hot_Y[np.arange(Y.size), Y] = 1
    return one_hot_Y.T


def deriv_ReLU(Z):
    return Z > 0


def forward_prop(W1, b1, W2, b2, X):
    Z1 = W1.dot(X) + b1
    A1 = ReLU(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    return Z1, A1, Z2, A2


def backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y):
    m = Y.size
    one_hot_Y = one_hot(Y)
    dZ2 = A2 - one_hot_Y
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2)
    dZ1 = W2.T.dot(dZ2) * deriv_ReLU(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1)
    return dW1, db1, dW2, db2


def backward_prop_per_unit_bias(Z1, A1, Z2, A2, W1, W2, X, Y):
    """Not the notebook's: its backward_prop with the bias gradient summed per unit
    (axis 1).  Used only to show how much of digitnet's lead that one fix explains."""
    m = Y.size
    dZ2 = A2 - one_hot(Y)
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = W2.T.dot(dZ2) * deriv_ReLU(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
    return dW1, db1, dW2, db2


def update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha):
    W1 = W1 - alpha * dW1
    b1 = b1 - alpha * db1
    W2 = W2 - alpha * dW2
    b2 = b2 - alpha * db2
    return W1, b1, W2, b2


def get_predictions(A2):
    return np.argmax(A2, 0)


def get_accuracy(predictions, Y):
    return np.sum(predictions == Y) / Y.size


def gradient_descent(X, Y, iterations, alpha, backward=backward_prop, initial=None):
    # `initial`: benchmark plumbing, to start from the same weights as digitnet.
    W1, b1, W2, b2 = init_params() if initial is None else [p.copy() for p in initial]
    log = []
    for i in range(iterations):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        dW1, db1, dW2, db2 = backward(Z1, A1, Z2, A2, W1, W2, X, Y)  # fix 1: was back_prop
        W1, b1, W2, b2 = update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha)
        if i % 50 == 0:
            log.append((i, get_accuracy(get_predictions(A2), Y)))
    return (W1, b1, W2, b2), log


def prepare(data: np.ndarray):
    """The notebook's data cell after its shuffle: first 1,000 rows dev, columns as
    examples, / 255.  The caller shuffles, so both sides of the benchmark see the
    same order (the notebook used np.random.shuffle(data) here)."""
    m, n = data.shape
    data_dev = data[0:1000].T
    Y_dev = data_dev[0]
    X_dev = data_dev[1:n] / 255
    data_train = data[1000:m].T
    Y_train = data_train[0]
    X_train = data_train[1:n] / 255
    return X_train, Y_train, X_dev, Y_dev


def dev_accuracy(params, X_dev, Y_dev) -> float:
    *_, A2 = forward_prop(*params, X_dev)
    return float(get_accuracy(get_predictions(A2), Y_dev))
