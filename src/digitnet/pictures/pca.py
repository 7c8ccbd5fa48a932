"""Principal component analysis, in numpy: the directions along which data varies most.

For n points (rows) in d dimensions, centred by subtracting the mean row:

    C = X^T X / (n - 1)                  the d x d covariance matrix
    C v_k = lambda_k v_k                 its eigenvectors v_k (orthonormal)

v_1 is the direction of largest variance (lambda_1 is that variance), v_2 the
largest at right angles to v_1, and so on.  Projecting onto the first two,
X [v_1 v_2], gives the flat map that keeps as much of the spread as any can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PCA:
    mean: np.ndarray  # (d,)
    components: np.ndarray  # (k, d): one unit direction per row, largest variance first
    explained_variance: np.ndarray  # (k,): the variance along each, descending

    def project(self, data: np.ndarray) -> np.ndarray:
        """Coordinates of each row along the components: (n, k)."""
        return (data - self.mean) @ self.components.T


def fit_pca(data: np.ndarray, components: int = 2) -> PCA:
    """The first `components` principal components of the rows of `data`."""
    data = np.asarray(data, dtype=np.float64)
    mean = data.mean(axis=0)
    centred = data - mean
    covariance = centred.T @ centred / max(len(data) - 1, 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending, for symmetric C
    order = np.argsort(eigenvalues)[::-1][:components]
    directions = eigenvectors[:, order].T
    # An eigenvector's sign is arbitrary; fix it so the largest entry is positive.
    largest = np.argmax(np.abs(directions), axis=1)
    directions *= np.sign(directions[np.arange(len(directions)), largest])[:, None]
    return PCA(mean, directions, np.maximum(eigenvalues[order], 0.0))
