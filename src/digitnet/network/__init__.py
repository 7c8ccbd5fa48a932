"""The neural network itself: layers, loss, initialisation, layer specs, and the stack.

The textbook network, and nothing else: it imports numpy alone (and digitnet's
one error type), and every layer is written forward beside backward.  The
speed step that makes it fast lives apart, in digitnet.speed.
"""

from digitnet.network.batchnorm import BatchNorm
from digitnet.network.conv import Conv2D, MaxPool2D
from digitnet.network.kinds import KINDS, LayerKind, LayerSpec
from digitnet.network.layer import Layer
from digitnet.network.layers import Dense, Dropout, Flatten, ReLU, ToImages
from digitnet.network.loss import SoftmaxCrossEntropy, log_softmax, softmax
from digitnet.network.network import Network
from digitnet.network.spec import format_layers, parse_layers

__all__ = [
    "KINDS",
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "LayerKind",
    "LayerSpec",
    "MaxPool2D",
    "Network",
    "ReLU",
    "SoftmaxCrossEntropy",
    "ToImages",
    "format_layers",
    "log_softmax",
    "parse_layers",
    "softmax",
]
