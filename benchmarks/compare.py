"""digitnet against PyTorch (CPU) and scikit-learn's MLPClassifier, side by side in one run.

The same network, the same data (the first 50,000 MNIST training images;
accuracy on the last 10,000), the same batch size, epochs, optimizer (SGD,
momentum 0.9, learning rate 0.05, constant) and BLAS/intra-op thread count.
Networks (--shapes): a number H is the MLP 784-H-10 (ReLU); A and B are CNNs,

    A: conv5x5(32)-pool-conv5x5(64)-pool-dense128-10, valid padding
    B: conv3x3(32)-bn-conv3x3(32)-bn-pool-conv3x3(64)-bn-conv3x3(64)-bn-pool-dense128-10

(ReLU after each convolution and after dense128).  PyTorch's network is
digitnet's own, rebuilt layer by layer with the same initial weights
(torch_twin.py); scikit-learn runs the MLPs only.  Each epoch is timed including one pass over the
validation set (the trainer's per-epoch measurement), for all three.  The
per-epoch time printed is the median of epochs 2..N (epoch 1 includes warm-up)
over all rounds.  Each round runs every library once, alternating which goes
first; the ratio digitnet/PyTorch is taken within each round (two runs made one
right after the other) and its median over the rounds is printed, with its range.

`digitnet-all` is digitnet built without its speed shortcuts
(network/shortcuts.py): textbook Dense and Conv2D layers only, so its rows show
what the shortcuts are worth.

PyTorch and scikit-learn are benchmark-only: `pip install torch==2.13.0 scikit-learn`.

Usage: python benchmarks/compare.py [--data MNIST_FOLDER] [--epochs N] [--rounds R]
           [--shapes 128,800,A,B] [--threads 1,2] [--skip digitnet-all,sklearn]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from digitnet.data import Preprocessing, load_data
from digitnet.network import Network
from digitnet.training import TrainingConfig, train

BATCH, LEARNING_RATE, MOMENTUM = 128, 0.05, 0.9
CNNS = {
    "A": "conv32k5,relu,pool2,conv64k5,relu,pool2,dense128,relu,dense10",
    "B": "conv32k3,bn,relu,conv32k3,bn,relu,pool2,conv64k3,bn,relu,conv64k3,bn,relu,pool2,"
    "dense128,relu,dense10",
}


def layers_of(shape: str) -> str:
    """The layer spec of a --shapes entry: a CNN's name, or the hidden width of an MLP."""
    return CNNS[shape] if shape in CNNS else f"dense{int(shape)},relu,dense10"


def run_digitnet(shape, data, epochs, threads, shortcuts=True):
    train_x, train_y, val_x, val_y = data
    network = Network.build(layers_of(shape), init="he", seed=0, shortcuts=shortcuts)
    config = TrainingConfig(LEARNING_RATE, epochs, BATCH, momentum=MOMENTUM, seed=0)
    with threadpool_limits(threads):
        result = train(network, train_x, train_y, val_x, val_y, config, log=None, progress=False)
    seconds = np.diff([0.0, *result.history["seconds"]])
    return list(seconds), result.history["dev_accuracy"][-1]


def run_torch(shape, data, epochs, threads):
    import torch

    from torch_twin import to_torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    train_x, train_y, val_x, val_y = (torch.from_numpy(np.asarray(a)) for a in data)
    model = to_torch(Network.build(layers_of(shape), init="he", seed=0))
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    seconds, accuracy = [], 0.0
    for _ in range(epochs):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(train_x[rows]), train_y[rows])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():  # in chunks, as digitnet measures (bounded memory for CNNs)
            correct = sum(
                (model(val_x[i : i + 1024]).argmax(dim=1) == val_y[i : i + 1024]).sum().item()
                for i in range(0, len(val_x), 1024)
            )
            accuracy = correct / len(val_x)
        seconds.append(time.perf_counter() - started)
    return seconds, accuracy


def run_sklearn(shape, data, epochs, threads):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    train_x, train_y, val_x, val_y = data
    model = MLPClassifier(
        hidden_layer_sizes=(int(shape),), solver="sgd", learning_rate_init=LEARNING_RATE,
        momentum=MOMENTUM, nesterovs_momentum=False, batch_size=BATCH, max_iter=1,
        alpha=0.0, shuffle=True, random_state=0, warm_start=True,
    )  # fmt: skip
    seconds, accuracy = [], 0.0
    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):
            started = time.perf_counter()
            model.fit(train_x, train_y)  # warm_start + max_iter=1: one more epoch
            accuracy = float((model.predict(val_x) == val_y).mean())
            seconds.append(time.perf_counter() - started)
    return seconds, accuracy


def compare(runners, shape, data, epochs, threads, rounds):
    """Run every library `rounds` times, alternating who goes first.

    Returns each library's epoch times (epoch 1 of each run left out: warm-up),
    its last accuracy, and the digitnet/pytorch ratio of each round: a ratio
    from two runs made one right after the other is what this shared machine
    measures best.
    """
    times = {name: [] for name in runners}
    accuracies, ratios = {}, []
    for round_index in range(rounds):
        order = list(runners) if round_index % 2 == 0 else list(reversed(runners))
        medians = {}
        for name in order:
            seconds, accuracies[name] = runners[name](shape, data, epochs, threads)
            times[name] += seconds[1:] or seconds
            medians[name] = statistics.median(seconds[1:] or seconds)
        if "digitnet" in medians and "pytorch" in medians:
            ratios.append(medians["digitnet"] / medians["pytorch"])
    return times, accuracies, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parent / "../../shared/data/mnist"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shapes", default="128,800")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--train-size", type=int, default=50_000, help="(smaller: a quick try)")
    parser.add_argument("--skip", default="", help="comma list of: digitnet-all, pytorch, sklearn")
    args = parser.parse_args()
    dataset = load_data(args.data)
    inputs = Preprocessing().apply(dataset.images)
    labels = dataset.labels
    size = args.train_size
    data = (
        inputs[:size],
        labels[:size],
        inputs[size : size + 10_000],
        labels[size : size + 10_000],
    )
    runners = {
        "digitnet": run_digitnet,
        "digitnet-all": partial(run_digitnet, shortcuts=False),
        "pytorch": run_torch,
        "sklearn": run_sklearn,
    }
    for name in filter(None, args.skip.split(",")):
        runners.pop(name)
    print(f"data: {dataset.source}: train {len(data[0])}, validate {len(data[2])}; batch {BATCH}, "
          f"SGD lr {LEARNING_RATE} momentum {MOMENTUM}; {args.rounds} rounds of "
          f"{args.epochs} epochs\n")  # fmt: skip
    header = f"{'shape':12} {'threads':>7} {'library':12} {'s/epoch':>8} {'val acc':>8}"
    print(header + "  digitnet/pytorch: median of rounds (range)")
    for shape in args.shapes.split(","):
        label = f"CNN {shape}" if shape in CNNS else f"784-{shape}-10"
        for threads in map(int, args.threads.split(",")):
            chosen = {
                name: runner
                for name, runner in runners.items()
                if name != "sklearn" or shape not in CNNS  # scikit-learn has no CNN
            }
            times, accuracies, ratios = compare(
                chosen, shape, data, args.epochs, threads, args.rounds
            )
            for name in chosen:
                ratio = ""
                if name == "pytorch" and ratios:
                    ratio = (f"  {statistics.median(ratios):.2f}x "
                             f"({min(ratios):.2f}-{max(ratios):.2f})")  # fmt: skip
                print(f"{label:12} {threads:7} {name:12} "
                      f"{statistics.median(times[name]):8.3f} {accuracies[name]:8.4f}{ratio}",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
