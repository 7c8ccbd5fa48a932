"""Full-batch training with batch norm uses the whole batch's statistics.

The speed step sums a full-batch gradient over chunks of rows (speed/full_batch.py).
That is exact only when each example's loss depends on that example alone
(docs/math.md, "Full batch in chunks").  Batch norm breaks the assumption: every
output depends on the mean and variance of the rows it is normalised with.  The
first test shows the chunks would give another gradient; the others, that a network
with batch norm is not chunked, and learns what plain gradient descent on one batch
of all rows learns.
"""

from __future__ import annotations

import numpy as np

import digitnet
from digitnet.data import Preprocessing
from digitnet.interfaces.cli import main
from digitnet.model_file import load_model
from digitnet.network import Network
from digitnet.speed import accelerate
from digitnet.speed.full_batch import FullBatch
from digitnet.training import TrainingConfig, train

BN_NETWORK = "dense16,bn,relu,dense10"


def _relative_difference(first: list[np.ndarray], second: list[np.ndarray]) -> float:
    gap = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(first, second)))
    return float(gap / np.sqrt(sum(np.sum(b**2) for b in second)))


def test_chunked_gradient_is_not_the_batch_gradient_with_batch_norm(sample):
    """Why bn is never chunked: with bn, label-sorted chunks give another gradient than
    one batch.  Without bn the same chunks give the same gradient (the control)."""
    x = Preprocessing().apply(sample.images[:2048], np.float64)
    labels = sample.labels[:2048]
    gaps = {}
    for layers in (BN_NETWORK, "dense16,relu,dense10"):
        network = Network.build(layers, init="he", seed=0, dtype=np.float64)
        network.gradient(x, labels)
        one_batch = [grad.copy() for _, grad in network.parameters()]
        FullBatch(x, labels, chunk_rows=256).accumulate_gradient(network)
        gaps[layers] = _relative_difference([g for _, g in network.parameters()], one_batch)
    assert gaps["dense16,relu,dense10"] < 1e-10
    assert gaps[BN_NETWORK] > 0.05  # not rounding: a different gradient


def _plain_gradient_descent(x, labels, learning_rate, iterations):
    """What --full-batch means, written out: w <- w - lr dL/dw over all rows at once."""
    network = Network.build(BN_NETWORK, init="he", seed=0, dtype=np.float64)
    for _ in range(iterations):
        network.gradient(x, labels)
        for param, grad in network.parameters():
            param -= learning_rate * grad
    return network


def test_full_batch_with_batch_norm_learns_what_one_batch_of_all_rows_learns(sample):
    x = Preprocessing().apply(sample.images[:3000], np.float64)
    labels = sample.labels[:3000]
    expected = _plain_gradient_descent(x, labels, 0.1, 3)
    for textbook in (True, False):
        network = Network.build(BN_NETWORK, init="he", seed=0, dtype=np.float64)
        config = TrainingConfig(0.1, 3, batch_size=None, textbook=textbook)
        train(network, x, labels, x[:0], labels[:0], config, log=None, progress=False)
        for name, array in expected.arrays().items():
            np.testing.assert_allclose(network.arrays()[name], array, rtol=1e-9, atol=1e-12,
                                       err_msg=f"{name}, textbook={textbook}")  # fmt: skip
    assert accelerate(network).full_batch is None


def test_cli_trains_full_batch_with_batch_norm(tmp_path, capsys):
    out = tmp_path / "model.npz"
    args = ["train", "--layers", BN_NETWORK, "--full-batch", "--epochs", "3",
            "--learning-rate", "0.5", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    model = load_model(out)
    assert model.recipe["batch_size"] is None and model.network.layer_spec == BN_NETWORK
    assert len(model.history["epoch"]) == 3


def test_the_seed_recipe_with_batch_norm_trains_from_python(sample):
    model = digitnet.train("seed", data=sample, layers=BN_NETWORK, epochs=2, log=None,
                           progress=False)  # fmt: skip
    assert model.recipe["batch_size"] is None
    assert np.isfinite(model.history["train_loss"]).all()
