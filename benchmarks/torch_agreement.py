"""digitnet's CNN against PyTorch's autograd, as a table.

The same network is built in both, in float64, with identical weights; one
batch of the bundled sample goes forward and backward through each.  Printed:
the relative error of the logits and of every parameter's gradient.  Then a
CNN trained by digitnet (the cnn recipe, 2 epochs on the sample) is loaded
into PyTorch and both predict the sample.

Usage: python benchmarks/torch_agreement.py      (needs: pip install torch)
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from digitnet.data import load_data
from digitnet.network import Network, SoftmaxCrossEntropy
from digitnet.recipes import CNN, run
from torch_twin import parameter_gradients, to_torch

NETWORKS = {
    "every layer kind": "conv6k5,bn,relu,pool2,conv8k3same,leaky_relu,conv8k3s2,tanh,pool3s1,"
    "flatten,dense32,bn,sigmoid,dense10",
    "compare.py network B": "conv32k3,bn,relu,conv32k3,bn,relu,pool2,conv64k3,bn,relu,"
    "conv64k3,bn,relu,pool2,dense128,relu,dense10",
}


def relative_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    scale = np.linalg.norm(ours) + np.linalg.norm(theirs)
    return float(np.linalg.norm(ours - theirs) / max(scale, 1e-300))


def main() -> None:
    sample = load_data("sample")
    x = sample.images[:64].astype(np.float64) / 255
    labels = sample.labels[:64]
    print("| network | parameters | logits rel. error | worst gradient rel. error |")
    print("| --- | --- | --- | --- |")
    for name, layers in NETWORKS.items():
        network = Network.build(layers, seed=0, dtype=np.float64)
        twin = to_torch(network).train()
        their_logits = twin(torch.from_numpy(x))
        torch.nn.functional.cross_entropy(their_logits, torch.from_numpy(labels)).backward()
        logits = network.forward(x, training=True)
        network.backward(SoftmaxCrossEntropy.delta(logits, labels))
        errors = [
            relative_error(grad, expected)
            for (_, grad), expected in zip(network.parameters(), parameter_gradients(twin))
            if max(np.abs(grad).max(), np.abs(expected).max()) > 1e-12  # not a bias before bn
        ]
        logits_error = relative_error(logits, their_logits.detach().numpy())
        count = sum(param.size for param, _ in network.parameters())
        print(f"| {name} | {count} | {logits_error:.1e} | {max(errors):.1e} |")

    model = run(CNN.with_overrides(epochs=2, dev_size=1000), sample, seed=0, log=None,
                progress=False)  # fmt: skip
    twin = to_torch(model.network).eval()
    ours = model.predict_proba(sample.images)
    with torch.no_grad():
        inputs = torch.from_numpy(model.preprocessing.apply(sample.images, model.network.dtype))
        theirs = torch.softmax(twin(inputs), dim=1).numpy()
    same = np.mean(ours.argmax(axis=1) == theirs.argmax(axis=1))
    print(f"\ncnn recipe trained by digitnet (2 epochs, float32), loaded into PyTorch: "
          f"{same:.2%} of {len(ours)} predictions the same, "
          f"largest probability difference {np.abs(ours - theirs).max():.1e}")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 1:  # it takes no arguments: --help (or anything) shows what it does
        sys.exit(__doc__)
    main()
