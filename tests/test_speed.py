"""The speed step (digitnet.speed): every fast twin computes what its textbook layer
computes, gradients included; the threads change nothing that is learned."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from digitnet.data import Preprocessing
from digitnet.network import BatchNorm, Conv2D, Dense, MaxPool2D, Network, ReLU
from digitnet.network.layers import LeakyReLU, Sigmoid, Tanh
from digitnet.speed import accelerate, chunked_conv, fast_twin, using_threads
from digitnet.speed.blank_pixels import BlankSkippingDense, InkedColumns
from digitnet.speed.full_batch import FullBatch
from digitnet.speed.workers import WORKERS, available_cores, capped, rows_per_piece, shares, split
from digitnet.training import TrainingConfig, train

SPECS = [
    "dense16,relu,dense10",
    "dense12,bn,tanh,dropout0.3,dense10",
    "conv3k3same,bn,relu,pool2,conv4k3,leaky_relu,flatten,dense5,bn,sigmoid,dense10",
    "conv4k3s2same,relu,pool3s2,dense10",
    "bn,dense10",
]


def _images_with_blank_border(rng, rows: int, side: int = 8) -> np.ndarray:
    """Square 'images' inked only inside a blank border, as MNIST digits are."""
    x = np.zeros((rows, side, side))
    inner = rng.uniform(0, 1, size=(rows, side - 2, side - 2))
    x[:, 1:-1, 1:-1] = inner * (rng.random(inner.shape) < 0.7)
    return x.reshape(rows, side * side)


def _pass(network: Network, x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, list]:
    logits = network.gradient(x, labels)
    return logits.copy(), [grad.copy() for _, grad in network.parameters()]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("text", SPECS)
def test_the_fast_network_computes_the_textbook_numbers(text, threads):
    """Logits and every gradient of a training step, fast against textbook (float64)."""
    rng = np.random.default_rng(0)
    x, labels = _images_with_blank_border(rng, 40), rng.integers(0, 10, size=40)
    textbook = Network.build(text, inputs=64, seed=1, dtype=np.float64)
    twin = Network.build(text, inputs=64, seed=1, dtype=np.float64)
    with using_threads(threads):
        fast = accelerate(twin)
        for layer in fast.layers:
            if hasattr(layer, "rng"):  # dropout: the same mask in both
                layer.rng = np.random.default_rng(5)
        for layer in textbook.layers:
            if hasattr(layer, "rng"):
                layer.rng = np.random.default_rng(5)
        expected_logits, expected = _pass(textbook, x, labels)
        got_logits, got = _pass(fast, x, labels)
        evaluation = fast.forward(x), textbook.forward(x)
    np.testing.assert_allclose(got_logits, expected_logits, rtol=1e-10, atol=1e-12)
    for fast_grad, textbook_grad in zip(got, expected):
        np.testing.assert_allclose(fast_grad, textbook_grad, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(*evaluation, rtol=1e-10, atol=1e-12)
    # the fast network holds the textbook network's arrays, not copies
    for (fast_param, _), (param, _) in zip(fast.parameters(), twin.parameters()):
        assert fast_param is param


def test_every_layer_with_a_twin_gets_one():
    network = Network.build("conv3k3,bn,relu,pool2,tanh,sigmoid,leaky_relu,dense8,relu,dense10")
    fast = accelerate(network)
    replaced = [type(t) is not type(s) for s, t in zip(network.layers, fast.layers)]
    kinds = (Dense, Conv2D, BatchNorm, ReLU, MaxPool2D, Tanh, Sigmoid, LeakyReLU)
    for layer, was_replaced in zip(network.layers, replaced):
        assert was_replaced == isinstance(layer, kinds), type(layer).__name__
    assert isinstance(fast_twin(Dense(np.ones((4, 3)), np.zeros(3)), on_pixels=True),
                      BlankSkippingDense)  # fmt: skip


def test_blank_pixels_are_skipped_and_change_nothing():
    rng = np.random.default_rng(2)
    x = _images_with_blank_border(rng, 10, side=6)
    x[5:, 1:5] = 0  # the second half leaves more inputs blank than the first
    labels = rng.integers(0, 10, size=10)
    textbook = Network.build([36, 7, 10], seed=2, dtype=np.float64)
    fast = accelerate(Network.build([36, 7, 10], seed=2, dtype=np.float64))
    for half in (slice(0, 5), slice(5, 10)):
        expected_logits, expected = _pass(textbook, x[half], labels[half])
        got_logits, got = _pass(fast, x[half], labels[half])
        assert fast.layers[0].columns is not None  # the shortcut was taken
        np.testing.assert_allclose(got_logits, expected_logits, rtol=1e-12)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("size", "stride", "side"), [(2, 2, 8), (2, 2, 9), (3, 2, 9), (2, 1, 6), (2, 3, 6)]
)
def test_piecewise_max_pooling_equals_max_pooling_ties_included(size, stride, side, monkeypatch):
    """Max pooling piece by piece, each window's winner noted or not: the textbook's
    outputs and gradients exactly, with windows that tie (after a ReLU, most of a
    window may be 0: the first takes the gradient), windows that overlap, and pixels
    no window covers (side 9, and the gaps between windows of stride 3)."""
    from digitnet.speed import workers
    from digitnet.speed.elementwise import PiecewiseMaxPool2D

    monkeypatch.setattr(workers, "SMALLEST_PIECE", 1)  # many pieces, not one
    rng = np.random.default_rng(side)
    x = np.maximum(rng.normal(size=(11, side, side, 3)), 0).round(1)  # many ties
    plain, piecewise = MaxPool2D(size, stride), PiecewiseMaxPool2D(size, stride)
    expected_a = plain.forward(x)
    a_grad = rng.normal(size=expected_a.shape)
    expected_grad = plain.backward(a_grad)
    for training in (True, False):  # each window's winner noted in training only
        with using_threads(2):
            a = piecewise.forward(x, training)
            x_grad = piecewise.backward(a_grad)
        assert (piecewise.winner is not None) == (training and stride >= size)
        np.testing.assert_array_equal(a, expected_a)
        np.testing.assert_array_equal(x_grad, expected_grad)


@pytest.mark.parametrize(
    ("stride", "padding", "channels", "filters", "size"),
    [
        (1, "valid", 3, 4, 3),
        (2, "same", 3, 4, 3),
        (3, "valid", 3, 4, 3),
        (1, "valid", 4, 3, 3),
        (1, "same", 4, 4, 3),
        (1, "same", 8, 4, 3),  # a window's row of 24 numbers: patches copied in one go
        (1, "same", 4, 3, 5),  # two zeros each side
        (1, "same", 4, 3, 4),  # one zero before, two after: the border of dL/dz is uneven
        (1, "same", 3, 4, 4),  # the same padding, dL/dx by col2im
    ],  # fmt: skip
)
def test_chunked_conv_equals_conv(stride, padding, channels, filters, size, monkeypatch):
    """The chunked convolution gives Conv2D's numbers, also with a short last chunk;
    with at least as many channels as filters (stride 1), dL/dx is the convolution of
    the padded dL/dz with the flipped kernel."""
    monkeypatch.setattr(chunked_conv, "CHUNK_BYTES", 3000)  # a few images per chunk
    rng = np.random.default_rng(stride)
    x = rng.normal(size=(7, 9, 9, channels))
    kernel, bias = rng.normal(size=(size, size, channels, filters)), rng.normal(size=filters)
    plain = Conv2D(kernel.copy(), bias.copy(), stride, padding)
    chunked = chunked_conv.ChunkedConv2D(kernel.copy(), bias.copy(), stride, padding)
    z = plain.forward(x)
    np.testing.assert_allclose(chunked.forward(x), z, rtol=1e-12)
    assert len(chunked._chunks(chunked.padded)) > 2
    z_grad = rng.normal(size=z.shape)
    for input_grad in (True, False):
        expected, got = plain.backward(z_grad, input_grad), chunked.backward(z_grad, input_grad)
        if input_grad:  # by the flipped kernel the sums run in another order: rounding
            assert got.shape == x.shape
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)
        else:
            assert got is None and expected is None
        np.testing.assert_allclose(chunked.kernel_grad, plain.kernel_grad, rtol=1e-12)
        np.testing.assert_allclose(chunked.bias_grad, plain.bias_grad, rtol=1e-12)


@pytest.mark.parametrize("stride", [1, 2])
def test_chunked_conv_reuses_its_padded_buffers_without_mixing_batches(stride):
    """'same' padding writes each batch into a reused buffer whose border stays zero:
    batches in a row of one size (the buffer reused), of other sizes in between (a
    measurement, the last short batch), and at stride 2 maps of 7x7 and 8x8, which
    pad to the same 9x9 with their zeros on other sides, give what Conv2D gives."""
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(3, 3, 4, 4)), rng.normal(size=4)
    reused = chunked_conv.ChunkedConv2D(kernel, bias, stride, "same")
    sides = (7, 8) if stride == 2 else (6,)
    for size, side in [(5, s) for s in sides] * 2 + [(5, sides[0]), (3, sides[0]), (8, sides[-1])]:
        x = rng.normal(size=(size, side, side, 4))
        fresh = Conv2D(kernel, bias, stride, "same")
        z = fresh.forward(x)
        np.testing.assert_allclose(reused.forward(x), z, rtol=1e-12)
        z_grad = rng.normal(size=z.shape)
        np.testing.assert_allclose(reused.backward(z_grad), fresh.backward(z_grad),
                                   rtol=1e-12, atol=1e-13)  # fmt: skip


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("text", ["dense16,relu,dense10", "conv4k5,relu,pool2,dense10"])
def test_chunked_full_batch_gradient_equals_one_pass(text, threads, sample):
    """full_batch.py's label-sorted chunks give the gradient of one pass over all rows,
    the chunks shared among the threads (an MLP's) or taken in turn (the CNN's)."""
    x = Preprocessing().apply(sample.images[:2500], np.float64)
    labels = sample.labels[:2500]
    textbook = Network.build(text, init="he", seed=0, dtype=np.float64)
    fast = accelerate(Network.build(text, init="he", seed=0, dtype=np.float64))
    expected_logits, expected = _pass(textbook, x, labels)
    with using_threads(threads):
        got_logits, got = _pass(fast, x, labels)
    assert fast.full_batch is not None  # it went through the chunks
    replicas = fast.full_batch.replicas.qsize()
    assert replicas >= 1 if text.startswith("dense") else replicas == 0
    np.testing.assert_allclose(got_logits, expected_logits, rtol=1e-10, atol=1e-12)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)


def test_full_batch_chunks_without_blank_columns_give_the_same_gradient(sample):
    x = Preprocessing().apply(sample.images[:2000], np.float64)
    labels = sample.labels[:2000]
    network = accelerate(Network.build([784, 16, 10], seed=0, dtype=np.float64))
    results = []
    for inked in (False, True):
        logits = FullBatch(x, labels, chunk_rows=256, inked_columns=inked).accumulate_gradient(
            network
        )
        results.append((logits, [grad.copy() for _, grad in network.parameters()]))
    (plain_logits, plain), (inked_logits, inked) = results
    np.testing.assert_allclose(inked_logits, plain_logits, rtol=1e-12)
    for got, expected in zip(inked, plain):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_full_batch_trains_bit_for_bit_the_same_at_one_and_two_threads(sample):
    """The seed recipe's kind of run: the chunks' gradients are summed in fixed groups,
    the groups in order, whichever thread computed which."""
    x, y = Preprocessing().apply(sample.images[:4500]), sample.labels[:4500]
    weights = []
    for threads in (1, 2):
        network = Network.build("dense10,relu,dense10", init="uniform", seed=3)
        config = TrainingConfig(0.1, 3, None)  # full batch: 5 chunks of 1,024 rows or fewer
        with using_threads(threads):
            train(network, x, y, x[:100], y[:100], config, log=None, progress=False)
        weights.append(network.arrays())
    for name, array in weights[0].items():
        np.testing.assert_array_equal(weights[1][name], array, err_msg=name)


def test_full_batch_with_batch_norm_uses_the_whole_batch(sample):
    """With bn, the fast network does not chunk: its statistics are all rows'."""
    x = Preprocessing().apply(sample.images[:2500], np.float64)
    labels = sample.labels[:2500]
    text = "dense16,bn,relu,dense10"
    textbook = Network.build(text, seed=0, dtype=np.float64)
    fast = accelerate(Network.build(text, seed=0, dtype=np.float64))
    _, expected = _pass(textbook, x, labels)
    _, got = _pass(fast, x, labels)
    assert fast.full_batch is None
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("techniques", [False, True])
@pytest.mark.parametrize(
    "text", ["dense64,relu,dense10", "conv8k3same,bn,relu,pool2,dense32,bn,relu,dropout0.2,dense10"]
)
def test_a_seed_trains_bit_for_bit_the_same_network_at_any_thread_count(text, techniques, sample):
    """The pieces are fixed by the shapes and partial sums added in order, so one and
    two threads learn exactly the same weights (batch norm, dropout and augmentation
    too; and with `techniques`, label smoothing, random erasing and the weights' average
    with batch norm's statistics recomputed)."""
    prep = Preprocessing()
    x, y = prep.apply(sample.images[:600]), sample.labels[:600]
    from digitnet.training.augment import augmentation_for

    weights = []
    for threads in (1, 2):
        network = Network.build(text, seed=3)
        extras = {"label_smoothing": 0.1, "ema": 0.9} if techniques else {}
        erase = 0.5 if techniques else 0.0
        config = TrainingConfig(0.05, 2, 64, momentum=0.9, seed=4,
                                augmentation=augmentation_for("digits", 0.0, erase),
                                **extras)  # fmt: skip
        with using_threads(threads):
            train(network, x, y, x[:100], y[:100], config, log=None, progress=False)
        weights.append(network.arrays())
    for name, array in weights[0].items():
        np.testing.assert_array_equal(weights[1][name], array, err_msg=name)


def test_a_thread_count_above_the_cores_is_capped_with_a_note():
    cores = available_cores()
    assert 1 <= capped(None)[0] <= cores and capped(None)[1] is None
    assert capped(1) == (1, None)
    count, note = capped(cores + 5)
    assert count == cores and note is not None and str(cores + 5) in note
    said = []
    with using_threads(cores + 5, say=said.append) as used:
        assert used == cores
    assert len(said) == 1


@pytest.mark.skipif(available_cores() < 2, reason="needs a second core for a helper thread")
def test_helper_threads_work_under_the_callers_floating_point_settings():
    """numpy's error settings are per thread: the trainer's silence about overflow
    must reach the helpers that run pieces of its batches."""
    import threading
    import time

    from digitnet.speed.workers import WORKERS

    def piece(_: int) -> tuple[str, str]:
        time.sleep(0.002)  # long enough that both threads take pieces
        return threading.current_thread().name, np.geterr()["over"]

    with using_threads(2), np.errstate(over="ignore"):
        seen = WORKERS.map(piece, list(range(40)))
    assert {name for name, _ in seen} >= {"MainThread", "digitnet-1"}
    assert {setting for _, setting in seen} == {"ignore"}


def test_the_split_depends_on_sizes_only():
    assert split(128, 8, 8) == [slice(i, i + 16) for i in range(0, 128, 16)]
    assert split(10, 8, 8) == [slice(0, 8), slice(8, 10)]
    assert split(3, 8, 1) == [slice(0, 1), slice(1, 2), slice(2, 3)]


@pytest.mark.skipif(available_cores() < 2, reason="needs two cores for two threads")
def test_passes_without_sums_are_cut_in_two_shares_for_each_thread():
    """ReLU, pooling and batch norm's affine map take two pieces per thread, none
    smaller than a piece worth a thread; the cut changes no number (the bit-for-bit
    test above trains with both cuts)."""
    for threads in (1, 2):
        with using_threads(threads):
            assert WORKERS.threads == threads
            cut = shares(128, 25_088)  # 28x28x32 feature maps
            assert len(cut) == 2 * threads
            assert cut[0].start == 0 and cut[-1].stop == 128
            assert all(a.stop == b.start for a, b in zip(cut, cut[1:]))
            few = shares(10, 25_088)  # too few rows for four pieces worth a thread
            assert all(piece.stop - piece.start >= rows_per_piece(25_088) for piece in few[:-1])


def test_inked_columns_round_trip():
    x = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    inked = InkedColumns.of(x)
    assert list(inked.columns) == [1, 2]
    np.testing.assert_array_equal(inked.dense(), x)


BLOCKED = [
    *("tqdm", "threadpoolctl", "matplotlib", "PIL", "pooch"),
    *("digitnet.data", "digitnet.training", "digitnet.recipes", "digitnet.interfaces"),
    "digitnet.speed",
]


def test_the_textbook_network_imports_with_numpy_alone(tmp_path):
    """The network core trains a step in a process where nothing else can be imported."""
    script = f"""
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in {BLOCKED!r}):
            raise ImportError("blocked: " + name)
        return None
sys.meta_path.insert(0, Blocker())
import numpy as np
from digitnet.network import Network
network = Network.build("conv2k3,bn,relu,pool2,dense10", seed=0)
x = np.random.default_rng(0).random((4, 784), dtype=np.float32)
network.gradient(x, np.arange(4))
loaded = sorted(m for m in sys.modules if m.startswith("digitnet"))
print(" ".join(loaded))
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert "digitnet.network" in loaded
    assert all(m.startswith(("digitnet.network", "digitnet.errors")) or m == "digitnet"
               for m in loaded), loaded  # fmt: skip


@pytest.mark.parametrize("name", ["sgd", "nesterov", "adam", "adamw"])
def test_the_optimizer_step_in_pieces_is_the_textbook_step(name):
    """Cut into pieces of rows (each with its own state), the step is exactly the same."""
    from digitnet.speed import accelerate_optimizer
    from digitnet.training.optimizer import make_optimizer

    rng = np.random.default_rng(0)
    shapes = [(1000, 300), (300,), (5, 5, 64, 128), (128,)]
    runs = []
    for piecewise in (False, True):
        params = [rng.normal(size=shape).astype(np.float32) for shape in shapes]
        grads = [np.zeros_like(p) for p in params]
        optimizer = make_optimizer(name, list(zip(params, grads)), 0.01, 0.9, 5e-4)
        if piecewise:
            optimizer = accelerate_optimizer(optimizer)
            assert len(optimizer.copies) > 1
        steps = np.random.default_rng(1)
        for step in range(3):
            for grad in grads:
                grad[...] = steps.normal(size=grad.shape)
            optimizer.learning_rate = 0.01 / (step + 1)
            with using_threads(2):
                optimizer.step()
        runs.append(params)
        rng = np.random.default_rng(0)
    for got, expected in zip(runs[1], runs[0]):
        np.testing.assert_array_equal(got, expected)


def test_the_command_line_says_when_it_lowers_threads(tmp_path):
    from conftest import run_cli

    asked = available_cores() + 62
    done = run_cli("train", "--epochs", "1", "--threads", str(asked), "--out",
                   str(tmp_path / "m.npz"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if f"--threads {asked}" in line]
    assert len(notes) == 1 and f"using {available_cores()}" in notes[0]


FAULTS_AFTER_FREEING = """
import resource, sys
import numpy as np
import digitnet.speed.memory as memory
kept = memory.keep_freed_memory() if sys.argv[1] == "keep" else None

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def batch():  # eight 3 MB arrays, written and freed, as a training step's are
    arrays = [np.empty(750_000, dtype=np.float32) for _ in range(8)]
    for array in arrays:
        array.fill(1.0)

batch()
before = faults()
for _ in range(10):
    batch()
print(kept, faults() - before)
"""


MAPPED_ARRAYS = """
import ctypes, sys
import numpy as np
import digitnet.speed.memory as memory
if sys.argv[1] == "keep":
    memory.keep_freed_memory()

class MallInfo2(ctypes.Structure):  # glibc's struct mallinfo2 (malloc.h)
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
mallinfo2.restype = MallInfo2
before = mallinfo2().hblks  # chunks glibc mapped on their own, given back when freed
array = np.ones(12_500_000, dtype=np.float32)  # 50 MB, a 500-image batch's feature map
print(mallinfo2().hblks - before)
"""


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc",
    reason="glibc's allocator settings",
)
def test_arrays_above_glibcs_heap_threshold_come_from_the_heap_too():
    """A 50 MB array (above the 32 MB that glibc's heap threshold can be raised to)
    is mapped on its own by default, and its pages are faulted in afresh for every
    batch; with keep_freed_memory it comes from the heap, whose freed pages are reused.
    (Counting page faults would not show it: numpy asks for huge pages for arrays this
    large, and a few faults of 2 MB each are as slow as thousands of 4 KB ones.)"""

    def mapped(mode: str) -> int:
        run = subprocess.run([sys.executable, "-c", MAPPED_ARRAYS, mode],
                             capture_output=True, text=True, check=True)  # fmt: skip
        return int(run.stdout)

    assert mapped("default") >= 1
    assert mapped("keep") == 0


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc",
    reason="glibc's allocator settings",
)
def test_freed_memory_is_kept_for_the_next_batch():
    """With keep_freed_memory (which accelerate calls), a batch's arrays reuse the
    last batch's pages: no page faults where glibc's defaults give the pages back
    and fault them in again (about 750 a batch of 24 MB)."""

    def faults(mode: str) -> tuple[str, int]:
        run = subprocess.run([sys.executable, "-c", FAULTS_AFTER_FREEING, mode],
                             capture_output=True, text=True, check=True)  # fmt: skip
        kept, count = run.stdout.split()
        return kept, int(count)

    _, default_faults = faults("default")
    kept, kept_faults = faults("keep")
    assert kept == "True"
    assert default_faults > 3_000  # the defaults fault the pages in again, batch after batch
    assert kept_faults < default_faults / 10


@pytest.mark.parametrize(
    "count, other_sides",
    [(800, 128 * 784), (784, 128 * 800), (520, 128 * 800), (3136, 128 * 256), (6272, 32768),
     (10, 1000), (1024, 128 * 1024), (97, 10**9)],
)  # fmt: skip
def test_dense_blocks_share_evenly_among_two_or_four_threads(count, other_sides):
    """A product's blocks: 1, 2, 4 or 8 of them, widths differing by the rounding alone,
    each worth a thread unless there is only one, covering every unit once."""
    from digitnet.speed.dense import NARROWEST_BLOCK, blocks
    from digitnet.speed.workers import SMALLEST_PRODUCT

    cut = blocks(count, other_sides)
    widths = [block.stop - block.start for block in cut]
    assert len(cut) in (1, 2, 4, 8)
    assert cut[0].start == 0 and cut[-1].stop == count
    assert all(a.stop == b.start for a, b in zip(cut, cut[1:]))
    assert max(widths) - min(widths) <= len(cut)
    narrowest = max(NARROWEST_BLOCK, -(-SMALLEST_PRODUCT // other_sides))
    assert len(cut) == 1 or min(widths) * 2 >= narrowest  # halving stopped in time
    if len(cut) < 8:  # one more halving would have made blocks too narrow
        assert count < 2 * len(cut) * narrowest
