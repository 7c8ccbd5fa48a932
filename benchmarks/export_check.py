"""Exported models against digitnet, and the one-file drawing page's size and speed, as tables.

1. Agreement: the shipped CNN and each recipe's network (after one gradient step on
   the bundled sample) exported to ONNX (run by onnxruntime) and to a torch.export
   program (run by PyTorch); on the 5,000 real digits of the bundled sample, the
   largest difference from digitnet's float32 logits and probabilities, and the
   share of equal predictions.
2. The page (`digitnet export MODEL page.html`): its size for each network, and for
   the shipped CNN, opened from disk in headless chromium (Debian's), the time from
   opening to ready (weights decoded, first paint done), and from lifting the pen to
   the guess (preprocessing, the network and the bars: the page's own clock), the
   median of ROUNDS openings with four digits drawn in each.

Usage: python benchmarks/export_check.py     (needs: pip install ".[export]" playwright,
and chromium: apt-get install chromium)
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from digitnet.data import load_sample  # noqa: E402
from digitnet.data.bundled import served_model_path  # noqa: E402
from digitnet.interfaces.export import export_model  # noqa: E402
from digitnet.model import Model  # noqa: E402
from digitnet.model_file import load_model  # noqa: E402
from digitnet.network import Network, SoftmaxCrossEntropy  # noqa: E402
from digitnet.recipes import RECIPES  # noqa: E402
from drawings import STROKES  # noqa: E402

ROUNDS = 5


def one_step(layers: str, sample) -> Model:
    network = Network.build(layers, seed=0)
    x = sample.images[:128].astype(np.float32) / 255
    network.backward(SoftmaxCrossEntropy.delta(network.forward(x, training=True),
                                               sample.labels[:128]))  # fmt: skip
    for parameter, gradient in network.parameters():
        parameter -= 0.1 * gradient
    return Model(network, recipe={"name": "one step"})


def models(sample) -> dict[str, Model]:
    with served_model_path() as path:
        chosen = {"shipped cnn (digits-cnn.npz)": load_model(path)}
    for name, recipe in RECIPES.items():
        chosen[f"recipe {name}, 1 step"] = one_step(recipe.layers, sample)
    return chosen


def agreement(chosen: dict[str, Model], sample, folder: Path) -> None:
    import onnxruntime
    import torch

    images = sample.images
    print(f"Agreement on the {len(images)} digits of the bundled sample (float32):\n")
    print("| network | runtime | max abs diff, logits | max abs diff, probabilities | same |")
    print("| --- | --- | --- | --- | --- |")
    for name, model in chosen.items():
        logits = model.network.logits(model.preprocessing.apply(images, np.float32))
        probabilities = model.predict_proba(images)
        export_model(model, folder / "net.onnx")
        session = onnxruntime.InferenceSession(str(folder / "net.onnx"),
                                               providers=["CPUExecutionProvider"])  # fmt: skip
        runs = {"onnxruntime": session.run(None, {"pixels": images.astype(np.float32)})}
        export_model(model, folder / "net.pt2")
        program = torch.export.load(str(folder / "net.pt2")).module()
        with torch.no_grad():
            their_logits = program(torch.from_numpy(images.astype(np.float32)))
        runs["PyTorch"] = [their_logits.numpy(), torch.softmax(their_logits, 1).numpy()]
        for runtime, (their_logits, their_probabilities) in runs.items():
            same = np.mean(their_probabilities.argmax(1) == probabilities.argmax(1))
            logits_gap = np.abs(their_logits - logits).max()
            probabilities_gap = np.abs(their_probabilities - probabilities).max()
            largest = np.abs(logits).max()
            print(f"| {name} | {runtime} | {logits_gap:.1e} (largest logit {largest:.0f}) | "
                  f"{probabilities_gap:.1e} | {same:.2%} |")  # fmt: skip


def page_figures(chosen: dict[str, Model], folder: Path, sample) -> None:
    print("\nThe one-file page:\n")
    print("| network | page size | ONNX size |")
    print("| --- | --- | --- |")
    for name, model in chosen.items():
        export_model(model, folder / "page.html")
        export_model(model, folder / "net.onnx")
        print(
            f"| {name} | {(folder / 'page.html').stat().st_size / 1e3:,.0f} kB | "
            f"{(folder / 'net.onnx').stat().st_size / 1e3:,.0f} kB |"
        )
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("DIGITNET_CHROMIUM") or shutil.which("chromium")
    shipped = next(iter(chosen.values()))
    export_model(shipped, folder / "page.html")
    ready, outside, readings = [], [], []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto((folder / "page.html").as_uri())
        page.wait_for_selector("body[data-ready=yes]")
        answers = page.evaluate(
            "(rows) => rows.map((row) => window.digitnet.classify(row))", sample.images.tolist()
        )
        page.close()
        their_logits = np.array([answer["logits"] for answer in answers])
        their_probabilities = np.array([answer["probabilities"] for answer in answers])
        logits = shipped.network.logits(shipped.preprocessing.apply(sample.images, np.float32))
        probabilities = shipped.predict_proba(sample.images)
        same = np.mean(their_probabilities.argmax(1) == probabilities.argmax(1))
        print(
            f"\nThe page's JavaScript network against digitnet, shipped CNN, "
            f"{len(answers)} sample digits:\n"
        )
        print("| max abs diff, logits | max abs diff, probabilities | same |")
        print("| --- | --- | --- |")
        print(
            f"| {np.abs(their_logits - logits).max():.1e} | "
            f"{np.abs(their_probabilities - probabilities).max():.1e} | {same:.2%} |"
        )
        for _ in range(ROUNDS):
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            started = time.perf_counter()
            page.goto((folder / "page.html").as_uri())
            page.wait_for_selector("body[data-ready=yes]")
            outside.append(1000 * (time.perf_counter() - started))
            ready.append(page.evaluate("window.digitnet.ready"))
            for digit in ("7", "1", "4", "0"):
                page.click("#clear")
                _draw(page, STROKES[digit])
                page.wait_for_function(
                    f"document.getElementById('guess').textContent === '{digit}'"
                )
                page.wait_for_timeout(50)
                readings.append(page.evaluate("window.digitnet.readingMs"))
            page.close()
        browser.close()
    median = statistics.median
    print(f"\nThe shipped CNN's page in headless chromium, median of {ROUNDS} openings:\n")
    rows = [
        ("opening the file (navigation start)", "ready to read a drawing", median(ready)),
        ("goto() called by the test driver", "ready, as the driver sees it", median(outside)),
        ("lifting the pen", f"the guess and bars shown ({len(readings)} drawings)",
         median(readings)),
        ("opening the file", "the first guess, drawing aside", median(ready) + median(readings)),
    ]  # fmt: skip
    print("| from | to | time |")
    print("| --- | --- | --- |")
    for start, end, milliseconds in rows:
        print(f"| {start} | {end} | {milliseconds:.1f} ms |")
    print(f"(slowest reading of a drawing: {max(readings):.1f} ms)")


def _draw(page, strokes) -> None:
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        page.mouse.up()


def main() -> None:
    sample = load_sample()
    chosen = models(sample)
    with tempfile.TemporaryDirectory() as temporary:
        agreement(chosen, sample, Path(temporary))
        page_figures(chosen, Path(temporary), sample)


if __name__ == "__main__":
    if len(sys.argv) > 1:  # it takes no arguments: --help (or anything) shows what it does
        sys.exit(__doc__)
    main()
