"""Exported networks in the real runtimes: onnxruntime and PyTorch give digitnet's outputs.

For every layer kind and whole networks (the shipped CNN, each recipe's network after
one training step), on real digits of the bundled sample, in float32: the largest
difference from digitnet's probabilities is below 1e-5, and from its logits below 1e-5
of their scale (the largest logit's size; float32 itself is no finer).  Skipped where the
extra (`pip install ".[export]"`) is not installed; .ci/run installs it and runs them.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

import digitnet.interfaces.export
from conftest import run_cli
from digitnet.data.bundled import served_model_path
from digitnet.errors import DigitnetError
from digitnet.interfaces.export import export_model
from digitnet.model import Model
from digitnet.model_file import load_model, save_model
from digitnet.network import Network, SoftmaxCrossEntropy
from digitnet.recipes import RECIPES

TOLERANCE = 1e-5
LAYER_KINDS = [  # each kind of layer (and each way of a convolution or pooling) alone
    "dense16,relu,dense10",
    "dense16,leaky_relu,dense10",
    "dense16,tanh,dense10",
    "dense16,sigmoid,dense10",
    "dense16,bn,relu,dense10",
    "dense16,relu,dropout0.4,dense10",
    "image,conv4k5,flatten,dense10",
    "conv4k3same,relu,dense10",
    "conv4k4same,relu,dense10",  # an even kernel: the odd row and column of zeros after
    "conv4k3s2,relu,dense10",
    "conv4k3s2same,relu,dense10",  # 28 -> 14 with one column of zeros after only
    "conv4k5s3same,relu,dense10",
    "conv4k3,pool2,dense10",
    "conv4k3,pool3s2,dense10",
    "conv4k3,pool3s1,dense10",
    "conv4k3,bn,relu,dense10",
]
EVERY_LAYER = (
    "conv6k5,bn,relu,pool2,conv8k3same,leaky_relu,conv8k3s2same,tanh,pool3s1,flatten,"
    "dense32,bn,sigmoid,dropout0.3,dense10"
)


def trained_one_step(layers: str, sample, dtype=np.float32) -> Model:
    """A network after one plain gradient step on 128 real digits: batch norm's running
    averages and every weight moved off their initial values."""
    network = Network.build(layers, seed=0, dtype=dtype)
    x = sample.images[:128].astype(dtype) / 255
    logits = network.forward(x, training=True)
    network.backward(SoftmaxCrossEntropy.delta(logits, sample.labels[:128]))
    for parameter, gradient in network.parameters():
        parameter -= 0.1 * gradient
    return Model(network, info={"data": "bundled sample, one step"})


def shipped_model() -> Model:
    with served_model_path() as path:
        return load_model(path)


NETWORKS = {
    **{f"kind {layers}": layers for layers in LAYER_KINDS},
    "every layer": EVERY_LAYER,
    **{f"recipe {name}": recipe.layers for name, recipe in RECIPES.items()},
}


@pytest.fixture(scope="module")
def digits(sample):
    """500 real digits, 50 of each class, as stored (uint8 0..255)."""
    picked = np.concatenate([np.flatnonzero(sample.labels == c)[:50] for c in range(10)])
    return sample.images[picked]


def expected(model: Model, digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inputs = model.preprocessing.apply(digits, model.network.dtype)
    return model.network.logits(inputs), model.predict_proba(digits)


def assert_agrees(model: Model, digits: np.ndarray, logits: np.ndarray, probabilities: np.ndarray):
    our_logits, our_probabilities = expected(model, digits)
    assert logits.dtype == probabilities.dtype == np.float32
    assert np.abs(probabilities - our_probabilities).max() < TOLERANCE
    # Logits reach 30 or 40, where float32's own spacing is 4e-6: 1e-5 of their scale.
    scale = max(1.0, float(np.abs(our_logits).max()))
    assert np.abs(logits - our_logits).max() < TOLERANCE * scale
    assert np.array_equal(probabilities.argmax(axis=1), our_probabilities.argmax(axis=1))


@pytest.fixture(scope="module", params=["shipped cnn", *NETWORKS])
def model(request, sample):
    if request.param == "shipped cnn":
        return shipped_model()
    return trained_one_step(NETWORKS[request.param], sample)


def _optional(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


onnx, onnxruntime, torch = _optional("onnx"), _optional("onnxruntime"), _optional("torch")
if os.environ.get("DIGITNET_REQUIRE_EXPORT") == "1" and None in (onnx, onnxruntime, torch):
    pytest.fail('the export extra is not installed (pip install ".[export]")', pytrace=False)
MISSING = 'needs the export extra: pip install ".[export]"'
needs_onnx = pytest.mark.skipif(onnx is None or onnxruntime is None, reason=MISSING)
needs_torch = pytest.mark.skipif(torch is None, reason=MISSING)


@needs_onnx
class TestOnnx:
    onnx, ort = onnx, onnxruntime

    def test_onnxruntime_gives_digitnets_outputs(self, model, digits, tmp_path):
        path = tmp_path / "net.onnx"
        assert export_model(model, path) == "onnx"
        self.onnx.checker.check_model(str(path), full_check=True)
        session = self.ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        logits, probabilities = session.run(
            ["logits", "probabilities"], {"pixels": digits.astype(np.float32)}
        )
        assert_agrees(model, digits, logits, probabilities)

    def test_a_float64_model_is_exported_in_float32(self, digits, tmp_path, sample):
        model = trained_one_step("conv4k3same,bn,relu,pool2,dense10", sample, np.float64)
        export_model(model, tmp_path / "net.onnx")
        session = self.ort.InferenceSession(str(tmp_path / "net.onnx"),
                                            providers=["CPUExecutionProvider"])  # fmt: skip
        logits, probabilities = session.run(None, {"pixels": digits.astype(np.float32)})
        assert_agrees(model, digits, logits, probabilities)

    def test_the_graph_says_what_it_reads_and_gives(self, tmp_path):
        model = shipped_model()
        export_model(model, tmp_path / "net.onnx")
        proto = self.onnx.load(str(tmp_path / "net.onnx"))
        [given] = proto.graph.input
        assert given.name == "pixels"
        assert [dim.dim_param or dim.dim_value for dim in given.type.tensor_type.shape.dim] == [
            "batch", 784]  # fmt: skip
        assert [output.name for output in proto.graph.output] == ["logits", "probabilities"]
        assert proto.graph.node[0].op_type == "Div"  # the model's own preprocessing, first
        ops = {node.op_type for node in proto.graph.node}
        assert {"Conv", "MaxPool", "BatchNormalization", "Transpose", "Gemm"} <= ops
        properties = {entry.key: entry.value for entry in proto.metadata_props}
        assert properties["layers"] == model.network.layer_spec
        assert json.loads(properties["classes"]) == list(model.class_names)

    def test_the_command_writes_a_file_onnxruntime_runs(self, tmp_path, digits):
        model = shipped_model()
        save_model(model, tmp_path / "digits.npz")
        done = run_cli("export", str(tmp_path / "digits.npz"), str(tmp_path / "digits.onnx"))
        assert done.returncode == 0, done.stderr
        session = self.ort.InferenceSession(str(tmp_path / "digits.onnx"),
                                            providers=["CPUExecutionProvider"])  # fmt: skip
        logits, probabilities = session.run(None, {"pixels": digits.astype(np.float32)})
        assert_agrees(model, digits, logits, probabilities)


@needs_torch
class TestTorch:
    torch = torch

    def test_the_program_file_gives_digitnets_outputs(self, model, digits, tmp_path):
        torch = self.torch
        path = tmp_path / "net.pt2"
        assert export_model(model, path) == "torch"
        program = torch.export.load(str(path)).module()
        with torch.no_grad():
            logits = program(torch.from_numpy(digits.astype(np.float32)))
        probabilities = torch.softmax(logits, dim=1)
        assert_agrees(model, digits, logits.numpy(), probabilities.numpy())

    def test_the_command_writes_a_pt_file_pytorch_loads(self, digits, tmp_path):
        torch = self.torch
        model = shipped_model()
        save_model(model, tmp_path / "digits.npz")
        done = run_cli("export", str(tmp_path / "digits.npz"), str(tmp_path / "digits.pt"))
        assert done.returncode == 0, done.stderr
        with open(tmp_path / "digits.pt", "rb") as stream:  # a .pt name: opened as a stream
            program = torch.export.load(stream).module()
        with torch.no_grad():
            logits = program(torch.from_numpy(digits.astype(np.float32)))
        assert_agrees(model, digits, logits.numpy(), torch.softmax(logits, dim=1).numpy())

    def test_the_folder_loads_without_digitnet(self, digits, tmp_path):
        torch = self.torch
        model = shipped_model()
        folder = tmp_path / "exported"
        assert export_model(model, f"{folder}/") == "torch-folder"
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["model.py", "architecture.json", "state_dict.pt", "README.txt"])  # fmt: skip
        source = (folder / "model.py").read_text()
        assert "digitnet" not in "".join(  # code lines only: the module needs no digitnet
            line for line in source.splitlines() if line.startswith(("import", "from"))
        )
        spec = importlib.util.spec_from_file_location("exported_model", folder / "model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        architecture = json.loads((folder / "architecture.json").read_text())
        net = module.build_module(architecture["steps"])
        net.load_state_dict(torch.load(folder / "state_dict.pt", weights_only=True))
        with torch.no_grad():
            logits = net.eval()(torch.from_numpy(digits.astype(np.float32)))
        assert_agrees(model, digits, logits.numpy(), torch.softmax(logits, dim=1).numpy())
        assert architecture["classes"] == list(model.class_names)

    def test_a_second_export_replaces_the_folders_files_whole(self, tmp_path):
        model = shipped_model()
        folder = tmp_path / "exported"
        export_model(model, f"{folder}/")
        export_model(trained_one_step("dense16,relu,dense10", _sample()), folder)
        steps = json.loads((folder / "architecture.json").read_text())["steps"]
        assert [step["kind"] for step in steps] == ["divide", "linear", "relu", "linear"]
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no leftovers

    def test_a_folder_of_the_users_own_files_is_not_written_over(self, tmp_path):
        project = tmp_path / "myproj"
        project.mkdir()
        (project / "model.py").write_text("my own code\n")
        (project / "notes.txt").write_text("mine\n")
        with pytest.raises(DigitnetError, match="already holds model.py, not from a digitnet"):
            export_model(shipped_model(), project)
        assert (project / "model.py").read_text() == "my own code\n"
        assert sorted(p.name for p in project.iterdir()) == ["model.py", "notes.txt"]
        (project / "model.py").unlink()
        export_model(shipped_model(), project)  # nothing of the same name: written beside
        assert (project / "notes.txt").read_text() == "mine\n"
        assert (project / "state_dict.pt").is_file()


def _sample():
    from digitnet.data import load_sample

    return load_sample()


def test_the_module_of_the_export_imports_no_digitnet():
    """torch_module.py is copied into exported folders: it must stand alone."""
    path = Path(digitnet.interfaces.export.__file__).parent / "torch_module.py"
    assert "digitnet" not in {name.split(".")[0] for name in _imports(path)}
    assert {"torch", "typing", "__future__"} >= {name.split(".")[0] for name in _imports(path)}


def _imports(path: Path) -> set[str]:
    import ast

    tree = ast.parse(open(path, encoding="utf-8").read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names
