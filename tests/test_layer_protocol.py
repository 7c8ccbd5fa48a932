"""Every layer meets one protocol, each kind is declared once, and any valid spec trains."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from digitnet.errors import DigitnetError
from digitnet.interfaces.cli import main
from digitnet.network import KINDS, Network, parse_layers
from digitnet.network.kinds import layer_table
from digitnet.network.layer import Init
from digitnet.network.layers import Dropout
from digitnet.network.spec import count_parameters, format_layers
from digitnet.speed import accelerate
from digitnet.training import TrainingConfig, train

DOCS = Path(__file__).resolve().parents[1] / "docs" / "layers.md"


def test_the_docs_table_is_the_declared_one():
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("-->\n", text.index("<!-- layer table")) + 4
    end = text.index("<!-- end of layer table -->")
    assert text[start:end] == layer_table()


@pytest.mark.parametrize(
    "layers",
    [
        "dense256,relu,dense10",
        "conv32k3same,pool2,bn,relu,conv64k3s2,bn,relu,dense128,relu,dropout0.2,dense10",
        "bn,dense10",
        "pool2,conv8k5,bn,dense10",
    ],
)
def test_parameters_are_counted_from_the_spec_as_built(layers):
    """count_parameters reads the declarations alone; it must agree with what is built."""
    network = Network.build(layers)
    built = sum(parameter.size for parameter, _ in network.parameters())
    assert count_parameters(network.specs, 784) == built


def test_a_spec_too_large_to_build_is_refused_before_anything_is_allocated():
    with pytest.raises(DigitnetError, match="1,000,796,000,010 parameters"):
        Network.build("dense1000000,relu,dense1000000,dense10")
    with pytest.raises(DigitnetError, match="78,400,000 numbers per example"):
        Network.build("conv100000k1same,dense10")
    with pytest.raises(DigitnetError, match="inputs per row"):
        Network.build("dense10", inputs=0)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_declared_kind_meets_the_protocol(name):
    """Each declaration reads its example, writes it back, and builds a layer that has
    forward/backward of one signature, parameters with gradients, and saved arrays."""
    kind = KINDS[name]
    spec = kind.read(kind.example)
    assert spec is not None and spec.kind == name and str(spec) == kind.example
    shape = (36,) if kind.takes == "rows" else (6, 6, 2)
    if name == "flatten":
        shape = (6, 6, 2)
    layer = kind.build(spec, shape, Init("he", np.random.default_rng(0), np.dtype(np.float64)))
    for method, parameters in (
        ("forward", ["x", "training"]),
        ("backward", ["grad", "input_grad"]),
    ):
        found = list(inspect.signature(getattr(layer, method)).parameters)
        assert len(found) == 2 and found[1] == parameters[1], (name, method, found)
    x = np.random.default_rng(1).normal(size=(3, *shape))
    out = layer.forward(x, True)
    assert out.shape == (3, *kind.shape(spec, shape))
    grad = layer.backward(np.ones_like(out), True)
    assert grad is not None and grad.shape == x.shape
    for param, param_grad in layer.parameters():
        assert param.shape == param_grad.shape and param_grad is not param
    for array in layer.parameters():
        assert any(array[0] is saved for saved in layer.arrays().values())
    layer.forward(x, True)
    silent = layer.backward(np.ones_like(out), False)
    assert silent is None or not layer.parameters()


# --- random valid specs -------------------------------------------------------------

ACTIVATION = st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid"])
ANYWHERE = st.one_of(ACTIVATION, st.just("bn"), st.sampled_from(["dropout0.2", "dropout0"]))
CONV = st.builds(
    lambda f, k, s, p: f"conv{f}k{k}" + (f"s{s}" if s > 1 else "") + p,
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.sampled_from(["", "same"]),
)  # fmt: skip
POOL = st.builds(lambda k, s: f"pool{k}" + (f"s{s}" if s else ""), st.integers(1, 3),
                 st.sampled_from([0, 1, 2]))  # fmt: skip
DENSE = st.builds(lambda units: f"dense{units}", st.integers(1, 5))


@st.composite
def layer_specs(draw) -> str:
    """A spec with every kind in every place it may take: row layers first, then
    (maybe) feature maps, then rows again, ending in dense10."""
    tokens = draw(st.lists(ANYWHERE, max_size=2))
    if draw(st.booleans()):  # a convolutional part
        tokens += ["image"] if draw(st.booleans()) or tokens else []
        tokens += draw(st.lists(st.one_of(CONV, POOL, ANYWHERE), min_size=1, max_size=4))
        tokens += ["flatten"] if draw(st.booleans()) else []
    tokens += draw(st.lists(st.one_of(DENSE, ANYWHERE), max_size=3))
    return ",".join([*tokens, "dense10"])


def _valid(text: str) -> str:
    try:
        return format_layers(parse_layers(text, pixels=36))
    except DigitnetError:
        assume(False)
        raise


def _fixed_dropout(network: Network) -> None:
    for layer in network.layers:
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(7)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(layer_specs())
def test_any_valid_spec_has_the_right_gradients(text):
    """A float64 gradient check of the whole network, through the loss (a sample of
    each parameter's entries), for random valid specs."""
    text = _valid(text)
    rng = np.random.default_rng(0)
    network = Network.build(text, inputs=36, seed=1, dtype=np.float64)
    x, labels = rng.normal(size=(5, 36)), rng.integers(0, 10, size=5)

    def loss() -> float:
        _fixed_dropout(network)
        return network.loss.fn(network.forward(x, training=True), labels)

    _fixed_dropout(network)
    network.gradient(x, labels)
    for param, grad in network.parameters():
        analytic = grad.copy()
        flat, picks = param.reshape(-1), rng.choice(param.size, min(param.size, 12), False)
        numeric = []
        for index in picks:
            saved = flat[index]
            flat[index] = saved + 1e-6
            up = loss()
            flat[index] = saved - 1e-6
            down = loss()
            flat[index] = saved
            numeric.append((up - down) / 2e-6)
        got, want = analytic.reshape(-1)[picks], np.array(numeric)
        scale = np.linalg.norm(got) + np.linalg.norm(want)
        # relative error, with a floor for gradients that are 0 (bn after bn): the
        # central difference itself is off by about 1e-16 / 1e-6 per entry
        assert np.linalg.norm(got - want) <= 1e-4 * scale + 1e-8, (text, param.shape)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(layer_specs(), st.sampled_from([np.float32, np.float64]), st.booleans())
def test_any_valid_spec_trains_a_step_through_the_trainer(text, dtype, textbook):
    text = _valid(text)
    rng = np.random.default_rng(0)
    network = Network.build(text, inputs=36, seed=1, dtype=dtype)
    before = {name: array.copy() for name, array in network.arrays().items()}
    x, labels = rng.uniform(0, 1, size=(8, 36)).astype(dtype), rng.integers(0, 10, size=8)
    config = TrainingConfig(0.1, 1, 4, momentum=0.9, textbook=textbook)
    result = train(network, x, labels, x, labels, config, log=None, progress=False)
    assert len(result.history["epoch"]) == 1
    after = network.arrays()
    assert all(np.all(np.isfinite(array)) for array in after.values())
    assert any(not np.array_equal(before[name], after[name]) for name in before), text
    np.testing.assert_allclose(accelerate(network).forward(x), network.forward(x), rtol=1e-4,
                               atol=1e-5)  # fmt: skip


@pytest.mark.parametrize("layers", ["bn,dense10", "relu,bn,dense10", "dropout0.1,bn,dense10",
                                    "image,bn,conv8k3,relu,dense10"])  # fmt: skip
def test_specs_that_used_to_crash_train_from_the_command_line(layers, tmp_path, capsys):
    out = tmp_path / "model.npz"
    code = main(["train", "--layers", layers, "--epochs", "1", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert out.is_file()


def test_the_docs_give_the_cnn_recipes_array_shapes_as_built():
    """docs/layers.md names some of the cnn recipe's arrays with their shapes: they must
    be what Network.build makes (they once said 16 filters where the recipe has 32)."""
    import re

    from digitnet.recipes import get_recipe

    text = " ".join(DOCS.read_text(encoding="utf-8").split())
    paragraph = text[text.index("For the `cnn` recipe:") :].split(" When loading")[0]
    quoted = re.findall(r"`(layer\d+_\w+)` \(([\d, ]+)\)", paragraph)
    assert len(quoted) >= 4
    arrays = Network.build(get_recipe("cnn").layers).arrays()
    for name, shape in quoted:
        assert arrays[name].shape == tuple(int(n) for n in shape.split(",")), name


@pytest.mark.parametrize("rate", [0.4, 0.1234567, 0.5000001, 1e-7])
def test_the_canonical_form_keeps_a_dropout_rate_exactly(rate):
    """docs/layers.md: the rate is written as the shortest text that reads back as the
    same number, never rounded to 6 digits as ':g' would."""
    from digitnet.network import Network

    network = Network.build(f"dropout{np.format_float_positional(rate)},dense10")
    again = Network.build(network.layer_spec)
    assert again.layers[0].rate == network.layers[0].rate == rate
    assert again.layer_spec == network.layer_spec
