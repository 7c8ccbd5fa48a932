"""The neural network itself: layers, loss, initialisation, layer specs, and the stack."""

from digitnet.network.batchnorm import BatchNorm
from digitnet.network.conv import Conv2D, MaxPool2D
from digitnet.network.layers import Dense, Dropout, Flatten, ReLU, ToImages
from digitnet.network.loss import SoftmaxCrossEntropy, log_softmax, softmax
from digitnet.network.network import Network
from digitnet.network.spec import LayerSpec, format_layers, parse_layers

__all__ = [
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
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
