"""ONNX export: the network as an ONNX graph, built node by node with onnx's helper API.

The graph (opset 17, float32, any batch size):

    input   pixels         (batch, 784)  stored pixels, 0..255, rows of the 28x28 image
    Div     by the model's preprocessing (255): inputs in 0..1, what the network was trained on
    ...     one node or two per layer, channels-first (layout.py): Reshape, Conv (its
            'same' padding as explicit pads), MaxPool, BatchNormalization, Relu,
            LeakyRelu, Tanh, Sigmoid, Identity (dropout: off at inference),
            Transpose + Flatten (digitnet's channels-last flatten), Gemm
    output  logits         (batch, 10)
    output  probabilities  (batch, 10)   Softmax of the logits

No torch is needed.  The model's layer spec, class names and preprocessing are kept
in the file's metadata (metadata_props).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from digitnet.atomic import atomic_write
from digitnet.interfaces.export.layout import Step, channels_first_steps
from digitnet.model import Model

OPSET = 17
IR_VERSION = 8  # the IR version of opset 17, not the newest: older runtimes read it too


def onnx_model(model: Model) -> Any:
    """The model as an onnx.ModelProto, checked by onnx.checker."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    builder = _Graph(numpy_helper)
    current = "pixels"
    steps = channels_first_steps(model.network, model.preprocessing.divide_by)
    pending_pads: list[int] | None = None
    for index, step in enumerate(steps):
        name = f"{index}_{step.kind}"
        if step.kind == "pad":  # becomes the next Conv's own pads: [top, left, bottom, right]
            s = step.settings
            pending_pads = [s["top"], s["left"], s["bottom"], s["right"]]
            continue
        current = _add_step(builder, helper, step, name, current, pending_pads)
        pending_pads = None
    builder.node(helper, "Identity", [current], "logits", "logits")
    builder.node(helper, "Softmax", ["logits"], "probabilities", "probabilities", axis=1)
    classes = model.network.classes
    graph = helper.make_graph(
        builder.nodes,
        "digitnet",
        [
            helper.make_tensor_value_info(
                "pixels", TensorProto.FLOAT, ["batch", model.network.inputs]
            )
        ],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", classes]),
        ],
        initializer=builder.initializers,
        doc_string=f"digitnet network {model.network.layer_spec}: stored pixels (0..255) in, "
        "logits and probabilities out",
    )
    proto = helper.make_model(
        graph,
        producer_name="digitnet",
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
    )
    helper.set_model_props(proto, {
        "layers": model.network.layer_spec,
        "classes": json.dumps(list(model.class_names)),
        "preprocessing": json.dumps(model.preprocessing.to_dict()),
        "input": "pixels: float32 (batch, 784), stored pixels 0..255",
    })  # fmt: skip
    onnx.checker.check_model(proto, full_check=True)
    return proto


def write_onnx(model: Model, path: Path) -> None:
    proto = onnx_model(model)
    with atomic_write(path) as stream:
        stream.write(proto.SerializeToString())


class _Graph:
    """The nodes and the weights (initializers) of the graph being built."""

    def __init__(self, numpy_helper: Any) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.numpy_helper = numpy_helper

    def weight(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def node(self, helper: Any, op: str, inputs: list[str], output: str, name: str,
             **attributes: Any) -> str:  # fmt: skip
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attributes))
        return output


def _add_step(graph: _Graph, helper: Any, step: Step, name: str, x: str,
              pads: list[int] | None) -> str:  # fmt: skip
    """The node(s) of one step reading `x`; returns the name of what they output."""
    s = step.settings
    arrays = {key: value.astype(np.float32) for key, value in step.arrays.items()}
    if step.kind == "divide":
        by = graph.weight(f"{name}.by", np.array(s["by"], np.float32))
        return graph.node(helper, "Div", [x, by], name, name)
    if step.kind == "to_images":  # rows -> (m, 1, side, side): one channel of gray
        shape = graph.weight(f"{name}.shape", np.array([-1, 1, s["side"], s["side"]], np.int64))
        return graph.node(helper, "Reshape", [x, shape], name, name)
    if step.kind == "conv":
        inputs = [x, graph.weight(f"{name}.weight", arrays["weight"]),
                  graph.weight(f"{name}.bias", arrays["bias"])]  # fmt: skip
        return graph.node(helper, "Conv", inputs, name, name, kernel_shape=s["kernel"],
                          strides=[s["stride"]] * 2, pads=pads or [0, 0, 0, 0])  # fmt: skip
    if step.kind == "max_pool":
        return graph.node(helper, "MaxPool", [x], name, name, kernel_shape=[s["size"]] * 2,
                          strides=[s["stride"]] * 2)  # fmt: skip
    if step.kind == "batch_norm":
        inputs = [x] + [graph.weight(f"{name}.{part}", arrays[part])
                        for part in ("weight", "bias", "running_mean", "running_var")]  # fmt: skip
        return graph.node(helper, "BatchNormalization", inputs, name, name, epsilon=s["eps"])
    if step.kind == "channels_last_flatten":  # flatten in digitnet's (height, width, channels)
        moved = graph.node(helper, "Transpose", [x], f"{name}.channels_last",
                           f"{name}.channels_last", perm=[0, 2, 3, 1])  # fmt: skip
        return graph.node(helper, "Flatten", [moved], name, name, axis=1)
    if step.kind == "linear":  # x W^T + b, W in PyTorch's (units, inputs)
        inputs = [x, graph.weight(f"{name}.weight", arrays["weight"]),
                  graph.weight(f"{name}.bias", arrays["bias"])]  # fmt: skip
        return graph.node(helper, "Gemm", inputs, name, name, transB=1)
    if step.kind == "dropout":  # dropout is off at inference: the identity
        return graph.node(helper, "Identity", [x], name, name)
    if step.kind == "leaky_relu":
        return graph.node(helper, "LeakyRelu", [x], name, name, alpha=s["slope"])
    ops = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}
    return graph.node(helper, ops[step.kind], [x], name, name)
