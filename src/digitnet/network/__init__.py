"""The neural network itself: layers, loss, initialisation, and the stack of layers."""

from digitnet.network.layers import Dense, ReLU
from digitnet.network.loss import SoftmaxCrossEntropy, log_softmax, softmax
from digitnet.network.network import Network

__all__ = ["Dense", "Network", "ReLU", "SoftmaxCrossEntropy", "log_softmax", "softmax"]
