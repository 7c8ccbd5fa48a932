"""digitnet against PyTorch's autograd: the same CNN, the same numbers.

Skipped where PyTorch is not installed (it is a test extra: `pip install torch`).
benchmarks/torch_agreement.py prints the same comparison as a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from digitnet.interfaces.export.torch_export import to_torch  # noqa: E402  (the export's own)
from digitnet.network import Network, SoftmaxCrossEntropy  # noqa: E402
from digitnet.recipes import CNN, run  # noqa: E402
from torch_twin import parameter_gradients  # noqa: E402

EVERY_LAYER = (
    "conv6k5,bn,relu,pool2,conv8k3same,leaky_relu,conv8k3s2,tanh,pool3s1,flatten,"
    "dense32,bn,sigmoid,dense10"
)
STRIDED_SAME = "conv4k3s2same,relu,conv6k4same,tanh,dense10"  # uneven zero borders


def relative_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    scale = np.linalg.norm(ours) + np.linalg.norm(theirs)
    return float(np.linalg.norm(ours - theirs) / max(scale, 1e-300))


@pytest.mark.parametrize("layers", [EVERY_LAYER, STRIDED_SAME, CNN.layers])
def test_logits_and_every_gradient_agree_with_pytorch(layers, sample):
    network = Network.build(layers, seed=0, dtype=np.float64)
    twin = to_torch(network)
    x = sample.images[:32].astype(np.float64) / 255
    labels = sample.labels[:32]

    # In training mode (batch statistics); with dropout, whose random masks differ,
    # in evaluation mode (dropout off, batch norm's running averages), for both.
    has_dropout = any(isinstance(module, torch.nn.Dropout) for module in twin)
    twin.train(not has_dropout)
    their_logits = twin(torch.from_numpy(x))
    torch.nn.functional.cross_entropy(their_logits, torch.from_numpy(labels)).backward()

    logits = network.forward(x, training=twin.training)
    network.backward(SoftmaxCrossEntropy.delta(logits, labels))
    assert relative_error(logits, their_logits.detach().numpy()) < 1e-10
    ours = [grad for _, grad in network.parameters()]
    theirs = parameter_gradients(twin)
    assert len(ours) == len(theirs) > 0
    for grad, expected in zip(ours, theirs):
        assert grad.shape == expected.shape
        if max(np.abs(grad).max(), np.abs(expected).max()) < 1e-12:
            continue  # a bias before batch norm: its gradient is 0 up to rounding in both
        assert relative_error(grad, expected) < 1e-10


def test_batch_norm_running_averages_agree_with_pytorch(sample):
    network = Network.build("conv4k3,bn,relu,dense10", seed=0, dtype=np.float64)
    twin = to_torch(network).train()
    x = sample.images[:64].astype(np.float64) / 255
    for start in (0, 32):
        network.forward(x[start : start + 32], training=True)
        twin(torch.from_numpy(x[start : start + 32]))
    ours, theirs = network.layers[2], twin[2]
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)


def test_a_cnn_trained_by_digitnet_predicts_the_same_in_pytorch(sample):
    model = run(CNN.with_overrides(epochs=1, dev_size=500), sample, seed=0, log=None,
                progress=False)  # fmt: skip
    twin = to_torch(model.network).eval()
    images = sample.images[:1000]
    ours = model.predict_proba(images)
    with torch.no_grad():
        inputs = torch.from_numpy(model.preprocessing.apply(images, model.network.dtype))
        theirs = torch.softmax(twin(inputs), dim=1).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert np.array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))
