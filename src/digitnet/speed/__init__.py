"""The speed step: one call that turns a textbook network into a fast one.

    network = Network.build("conv32k5,relu,pool2,dense10")    # the textbook layers
    fast = accelerate(network)                                 # the same numbers, faster

`Network.build` makes the layers a learner reads, each forward beside its
backward (network/).  `accelerate` puts a fast twin in place of each layer
that has one, holding the very same arrays: what the fast network learns, the
textbook network holds too, and a test holds every twin equal to its textbook
layer, gradients included.  Every speed trick in digitnet lives here:

- blank_pixels.py: a first Dense layer skips the pixels no image of the batch
  inks (InkedColumns stores a batch that way);
- full_batch.py: a full-batch gradient over many rows, chunk by chunk, in
  label-sorted chunks stored without their blank columns;
- dense.py: Dense products cut into blocks of units or inputs, for the threads;
- chunked_conv.py: im2col a few images at a time, so the patches stay in cache;
- batchnorm.py: batch norm's column sums in one sweep (einsum), in pieces;
- elementwise.py: ReLU, max pooling and the other activations, piece by piece;
- loss.py: the softmax over logits stored class by class;
- optimizer.py: the optimizer's step, on pieces of the parameters;
- workers.py: the threads that share each batch's pieces (`using_threads`);
- memory.py: freed arrays kept for the next batch (no fresh pages to fault in).

The recipes and the trainer call `accelerate` (a recipe's `textbook` knob
leaves it out); the network core and the training loop never name a trick.
"""

from __future__ import annotations

from digitnet.network import Network
from digitnet.network.batchnorm import BatchNorm
from digitnet.network.conv import Conv2D, MaxPool2D
from digitnet.network.layer import Layer
from digitnet.network.layers import Dense, LeakyReLU, ReLU, Sigmoid, Tanh
from digitnet.speed.batchnorm import PiecewiseBatchNorm
from digitnet.speed.blank_pixels import BlankSkippingDense, InkedColumns
from digitnet.speed.chunked_conv import ChunkedConv2D
from digitnet.speed.dense import BlockedDense
from digitnet.speed.elementwise import Piecewise, PiecewiseMaxPool2D, PiecewiseReLU
from digitnet.speed.loss import ClassMajorSoftmaxCrossEntropy
from digitnet.speed.memory import keep_freed_memory
from digitnet.speed.network import AcceleratedNetwork
from digitnet.speed.optimizer import Optimizer, PiecewiseOptimizer
from digitnet.speed.workers import WORKERS, available_cores, capped, using_threads

__all__ = [
    "AcceleratedNetwork",
    "InkedColumns",
    "WORKERS",
    "accelerate",
    "accelerate_optimizer",
    "available_cores",
    "capped",
    "fast_twin",
    "using_threads",
]


def accelerate(network: Network) -> AcceleratedNetwork:
    """The same network with fast layers: the same arrays, the same numbers (to
    rounding), computed faster and on as many threads as `using_threads` allows.

    The textbook network is left as it is and keeps sharing its arrays with the
    fast one, so training either trains both.
    """
    if isinstance(network, AcceleratedNetwork):
        return network
    keep_freed_memory()
    on_pixels = True  # the first layer reads rows of pixels
    layers = []
    for layer in network.layers:
        layers.append(fast_twin(layer, on_pixels))
        on_pixels = False
    fast = AcceleratedNetwork(layers, network.specs, network.inputs)
    fast.loss = ClassMajorSoftmaxCrossEntropy
    fast.label_smoothing = network.label_smoothing
    return fast


def accelerate_optimizer(optimizer: Optimizer) -> PiecewiseOptimizer:
    """The same optimizer, its step shared among the threads (the same numbers exactly)."""
    return PiecewiseOptimizer(optimizer)


def fast_twin(layer: Layer, on_pixels: bool = False) -> Layer:
    """A layer computing what `layer` computes, faster, on `layer`'s own arrays
    (the layer itself where digitnet has no faster twin)."""
    if type(layer) is Dense:
        twin = BlankSkippingDense if on_pixels else BlockedDense
        return twin(layer.weight, layer.bias)
    if type(layer) is Conv2D:
        return ChunkedConv2D(layer.kernel, layer.bias, layer.stride, layer.padding)
    if type(layer) is BatchNorm:
        return PiecewiseBatchNorm(layer.scale, layer.shift, layer.running_mean,
                                  layer.running_var, layer.momentum, layer.eps)  # fmt: skip
    if type(layer) is ReLU:
        return PiecewiseReLU()
    if type(layer) is MaxPool2D:
        return PiecewiseMaxPool2D(layer.size, layer.stride)
    if type(layer) in (LeakyReLU, Tanh, Sigmoid):
        return Piecewise(layer)
    return layer  # dropout (its mask drawn in order), reshapes
