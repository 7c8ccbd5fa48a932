"""Full-batch training refuses batch norm, from the command line and from Python.

The full-batch gradient is summed over chunks of rows (training/full_batch.py).
That is exact only when each example's loss depends on that example alone
(docs/math.md, "Full batch in chunks").  Batch norm breaks the assumption: every
output depends on the mean and variance of the rows it is normalised with.  The
first test shows the gradients really differ; the others, that digitnet refuses.
"""

from __future__ import annotations

import numpy as np
import pytest

import digitnet
from digitnet.data import Preprocessing
from digitnet.errors import DigitnetError
from digitnet.interfaces.cli import main
from digitnet.model import Model
from digitnet.model_file import load_model, save_model
from digitnet.network import Network, SoftmaxCrossEntropy
from digitnet.recipes import FAST, SEED, Recipe, run
from digitnet.training import TrainingConfig, train
from digitnet.training.full_batch import FullBatch

BN_NETWORK = "dense16,bn,relu,dense10"


def _relative_difference(first: list[np.ndarray], second: list[np.ndarray]) -> float:
    gap = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(first, second)))
    return float(gap / np.sqrt(sum(np.sum(b**2) for b in second)))


def test_chunked_gradient_is_not_the_batch_gradient_with_batch_norm(sample):
    """Why the refusal: with bn, label-sorted chunks give another gradient than one batch.
    Without bn the same chunks give the same gradient (the control)."""
    x = Preprocessing().apply(sample.images[:2048], np.float64)
    labels = sample.labels[:2048]
    gaps = {}
    for layers in (BN_NETWORK, "dense16,relu,dense10"):
        network = Network.build(layers, init="he", seed=0, dtype=np.float64, shortcuts=False)
        network.backward(SoftmaxCrossEntropy.delta(network.forward(x, training=True), labels))
        one_batch = [grad.copy() for _, grad in network.parameters()]
        FullBatch(x, labels, chunk_rows=256).accumulate_gradient(network, measure=False)
        gaps[layers] = _relative_difference([g for _, g in network.parameters()], one_batch)
    assert gaps["dense16,relu,dense10"] < 1e-10
    assert gaps[BN_NETWORK] > 0.05  # not rounding: a different gradient


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_cli_refuses_full_batch_with_batch_norm(tmp_path, capsys):
    out = tmp_path / "model.npz"
    args = ["train", "--layers", BN_NETWORK, "--full-batch", "--epochs", "1", "--out", str(out)]
    assert main(args) == 2
    line = _one_line_error(capsys)
    assert "--full-batch" in line and "batch norm" in line
    assert not out.exists()  # refused before any work, nothing written


def test_cli_refuses_the_seed_recipe_given_batch_norm(tmp_path, capsys):
    # seed is full batch by recipe, without --full-batch on the line
    out = tmp_path / "model.npz"
    assert main(["train", "--recipe", "seed", "--layers", BN_NETWORK, "--out", str(out)]) == 2
    assert "batch norm" in _one_line_error(capsys)
    assert not out.exists()


def test_cli_trains_batch_norm_in_mini_batches(tmp_path, capsys):
    """The same network with a batch size is not refused: the check is only about chunks."""
    out = tmp_path / "model.npz"
    args = ["train", "--layers", BN_NETWORK, "--batch-size", "64", "--epochs", "1",
            "--dev-size", "500", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    assert out.exists()


def test_api_refuses_full_batch_with_batch_norm(sample):
    with pytest.raises(DigitnetError, match="batch norm"):
        digitnet.train("fast", data=sample, layers=BN_NETWORK, full_batch=True, log=None)
    with pytest.raises(DigitnetError, match="batch norm"):
        SEED.with_overrides(layers=BN_NETWORK)


def test_run_refuses_a_recipe_built_with_full_batch_and_batch_norm(sample):
    """A Recipe made directly (not through with_overrides) is checked before training."""
    recipe = Recipe(**dict(FAST.to_dict(), layers=BN_NETWORK, batch_size=None, epochs=1))
    with pytest.raises(DigitnetError, match="batch norm"):
        run(recipe, sample, log=None, progress=False)


def test_a_model_file_from_such_a_recipe_still_loads(tmp_path):
    """Refusing to train is not refusing to read: a model an older digitnet trained with
    full batch and batch norm still loads, to predict with or evaluate."""
    network = Network.build(BN_NETWORK, init="he", seed=0)
    recipe = dict(FAST.to_dict(), layers=network.layer_spec, batch_size=None)
    save_model(Model(network=network, recipe=recipe), tmp_path / "old.npz")
    loaded = load_model(tmp_path / "old.npz")
    assert loaded.recipe["batch_size"] is None and loaded.network.layer_spec == BN_NETWORK


def test_trainer_refuses_full_batch_with_batch_norm(sample):
    """train() called directly, past the recipe's check."""
    network = Network.build(BN_NETWORK, init="he", seed=0)
    x = Preprocessing().apply(sample.images[:200], np.float32)
    config = TrainingConfig(learning_rate=0.1, epochs=1, batch_size=None)
    before = [param.copy() for param, _ in network.parameters()]
    with pytest.raises(DigitnetError, match="batch norm"):
        train(network, x, sample.labels[:200], x[:0], sample.labels[:0], config, log=None)
    for (param, _), start in zip(network.parameters(), before):
        np.testing.assert_array_equal(param, start)  # refused before any step
