"""digitnet against PyTorch (CPU) and scikit-learn's MLPClassifier, side by side in one run.

The same network, the same data (the first 50,000 MNIST training images;
accuracy on the last 10,000), the same batch size, epochs, optimizer (SGD,
momentum 0.9, learning rate 0.05, constant) and BLAS/intra-op thread count.
Networks (--shapes): a number H is the MLP 784-H-10 (ReLU); A and B are CNNs,

    A: conv5x5(32)-pool-conv5x5(64)-pool-dense128-10, valid padding
    B: conv3x3(32)-bn-conv3x3(32)-bn-pool-conv3x3(64)-bn-conv3x3(64)-bn-pool-dense128-10

(ReLU after each convolution and after dense128).  PyTorch's network is
digitnet's own, rebuilt layer by layer with the same initial weights
(torch_twin.py); scikit-learn runs the MLPs only.  Two things are timed apart,
for every library: a training epoch (the step alone: no measurement inside it),
and one pass over the validation images after training (the measurement).  The
per-epoch time printed is the median of epochs 2..N (epoch 1 includes warm-up)
over all rounds.  Each round runs every library once, alternating which goes
first; the ratio digitnet/PyTorch is taken within each round (two runs made one
right after the other) and its median over the rounds is printed, with its range,
for training and for measuring.

`digitnet-textbook` is digitnet without its speed step (the `textbook` knob:
the layers of digitnet/network as written, no digitnet.speed), so its rows show
what the speed step is worth.  Threads: digitnet's `using_threads(N)`, PyTorch's
`set_num_threads(N)`, BLAS's limit for scikit-learn.

PyTorch and scikit-learn are benchmark-only: `pip install torch==2.13.0 scikit-learn`.

Usage: python benchmarks/compare.py [--data MNIST_FOLDER] [--epochs N] [--rounds R]
           [--shapes 128,800,A,B] [--threads 1,2] [--skip digitnet-textbook,sklearn]
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
from digitnet.speed import accelerate, using_threads
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


def run_digitnet(shape, data, epochs, threads, textbook=False):
    train_x, train_y, val_x, val_y = data
    network = Network.build(layers_of(shape), init="he", seed=0)
    config = TrainingConfig(LEARNING_RATE, epochs, BATCH, momentum=MOMENTUM, seed=0,
                            textbook=textbook)  # fmt: skip
    no_dev = val_x[:0], val_y[:0]  # nothing measured inside the epochs
    with using_threads(threads):
        result = train(network, train_x, train_y, *no_dev, config, log=None, progress=False)
        measured = network if textbook else accelerate(network)
        started = time.perf_counter()
        predicted = measured.logits(val_x).argmax(axis=1)
        measuring = time.perf_counter() - started
    seconds = np.diff([0.0, *result.history["seconds"]])
    return list(seconds), measuring, float(np.mean(predicted == val_y))


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
    seconds = []
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
        seconds.append(time.perf_counter() - started)
    model.eval()
    started = time.perf_counter()
    with torch.no_grad():  # in chunks, as digitnet measures (bounded memory for CNNs)
        correct = sum(
            (model(val_x[i : i + 1024]).argmax(dim=1) == val_y[i : i + 1024]).sum().item()
            for i in range(0, len(val_x), 1024)
        )
    return seconds, time.perf_counter() - started, correct / len(val_x)


def run_sklearn(shape, data, epochs, threads):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    train_x, train_y, val_x, val_y = data
    model = MLPClassifier(
        hidden_layer_sizes=(int(shape),), solver="sgd", learning_rate_init=LEARNING_RATE,
        momentum=MOMENTUM, nesterovs_momentum=False, batch_size=BATCH, max_iter=1,
        alpha=0.0, shuffle=True, random_state=0, warm_start=True,
    )  # fmt: skip
    seconds = []
    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):
            started = time.perf_counter()
            model.fit(train_x, train_y)  # warm_start + max_iter=1: one more epoch
            seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        accuracy = float((model.predict(val_x) == val_y).mean())
    return seconds, time.perf_counter() - started, accuracy


def compare(runners, shape, data, epochs, threads, rounds):
    """Run every library `rounds` times, alternating who goes first.

    Returns each library's epoch times (epoch 1 of each run left out: warm-up),
    its measuring times, its last accuracy, and the digitnet/pytorch ratios of
    each round (training, measuring): a ratio from two runs made one right after
    the other is what this shared machine measures best.
    """
    times = {name: [] for name in runners}
    measuring = {name: [] for name in runners}
    accuracies, ratios = {}, []
    for round_index in range(rounds):
        order = list(runners) if round_index % 2 == 0 else list(reversed(runners))
        medians, measured = {}, {}
        for name in order:
            seconds, measured[name], accuracies[name] = runners[name](shape, data, epochs, threads)
            times[name] += seconds[1:] or seconds
            measuring[name].append(measured[name])
            medians[name] = statistics.median(seconds[1:] or seconds)
        if "digitnet" in medians and "pytorch" in medians:
            ratios.append((medians["digitnet"] / medians["pytorch"],
                           measured["digitnet"] / measured["pytorch"]))  # fmt: skip
    return times, measuring, accuracies, ratios


def _ratio(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parent / "../../shared/data/mnist"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shapes", default="128,800")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--train-size", type=int, default=50_000, help="(smaller: a quick try)")
    parser.add_argument(
        "--skip", default="", help="comma list of: digitnet-textbook, pytorch, sklearn"
    )
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
        "digitnet-textbook": partial(run_digitnet, textbook=True),
        "pytorch": run_torch,
        "sklearn": run_sklearn,
    }
    for name in filter(None, args.skip.split(",")):
        runners.pop(name)
    print(f"data: {dataset.source}: train {len(data[0])}, validate {len(data[2])}; batch {BATCH}, "
          f"SGD lr {LEARNING_RATE} momentum {MOMENTUM}; {args.rounds} rounds of "
          f"{args.epochs} epochs\n")  # fmt: skip
    header = (f"{'shape':12} {'threads':>7} {'library':17} {'s/epoch':>8} {'s/measure':>9} "
              f"{'val acc':>8}")  # fmt: skip
    print(header + "  digitnet/pytorch, median of rounds (range): training; measuring")
    for shape in args.shapes.split(","):
        label = f"CNN {shape}" if shape in CNNS else f"784-{shape}-10"
        for threads in map(int, args.threads.split(",")):
            chosen = {
                name: runner
                for name, runner in runners.items()
                if name != "sklearn" or shape not in CNNS  # scikit-learn has no CNN
            }
            times, measuring, accuracies, ratios = compare(
                chosen, shape, data, args.epochs, threads, args.rounds
            )
            for name in chosen:
                ratio = ""
                if name == "pytorch" and ratios:
                    ratio = (f"  {_ratio([r[0] for r in ratios])}; "
                             f"{_ratio([r[1] for r in ratios])}")  # fmt: skip
                print(f"{label:12} {threads:7} {name:17} {statistics.median(times[name]):8.3f} "
                      f"{statistics.median(measuring[name]):9.3f} {accuracies[name]:8.4f}{ratio}",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
