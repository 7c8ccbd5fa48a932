"""The exported drawing page (`digitnet export MODEL page.html`) in a real browser.

Playwright drives Debian's chromium on the file opened from disk (file://), every
request that is not the file itself refused and recorded.  Checked: the page's network
gives digitnet's probabilities for real digits (1e-4); its preprocessing (drawing.js)
gives drawing.py's 28x28 for sample drawings; drawn digits are read, with bars as wide
as their probabilities (measured on the laid-out page); it fits a phone's width.
Skipped where no chromium is installed, unless DIGITNET_REQUIRE_BROWSER=1 (.ci/run).
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from browser import chromium_or_skip, draw
from digitnet.data.bundled import served_model_path
from digitnet.interfaces.export import export_model
from digitnet.interfaces.export.drawing import prepare_drawing
from digitnet.model_file import load_model
from drawings import SIDE, STROKES, sample_drawings

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = chromium_or_skip()


@pytest.fixture(scope="module")
def shipped():
    with served_model_path() as path:
        return load_model(path)


@pytest.fixture(scope="module")
def page_file(shipped, tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "digits.html"
    export_model(shipped, path)
    return path


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_page(browser, page_file, **options):
    """The page opened from disk; `page.elsewhere` lists any request for anything else."""
    context = browser.new_context(**options)
    page = context.new_page()
    page.elsewhere, page.problems = [], []

    def refuse(route):
        if route.request.url != page_file.as_uri():
            page.elsewhere.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", refuse)
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on(
        "console", lambda message: message.type == "error" and page.problems.append(message.text)
    )
    page.goto(page_file.as_uri())
    page.wait_for_selector("body[data-ready=yes]", timeout=20_000)
    return page


@pytest.fixture(scope="module")
def page(browser, page_file):
    page = open_page(browser, page_file, viewport={"width": 1000, "height": 1000})
    yield page
    page.context.close()


def _guess_becomes(page, text):
    page.wait_for_function(f"document.getElementById('guess').textContent === {text!r}",
                           timeout=10_000)  # fmt: skip


def test_it_opens_from_disk_and_asks_for_nothing_else(page):
    assert page.elsewhere == [] and page.problems == []
    assert page.locator("#bars li").count() == 10
    assert "recipe cnn" in page.locator("#model-info").text_content()
    assert "Reading a photo is not offered" in page.locator("main").text_content()


def test_its_network_gives_digitnets_probabilities_for_real_digits(page, shipped, sample):
    picked = np.concatenate([np.flatnonzero(sample.labels == c)[:30] for c in range(10)])
    digits = sample.images[picked]
    theirs = np.array(page.evaluate(
        "(rows) => rows.map((row) => window.digitnet.classify(row).probabilities)",
        digits.tolist()))  # fmt: skip
    ours = shipped.predict_proba(digits)
    assert theirs.shape == ours.shape == (300, 10)
    assert np.abs(theirs - ours).max() < 1e-4
    assert np.array_equal(theirs.argmax(axis=1), ours.argmax(axis=1))


def _prepared_by_the_page(page, drawing: np.ndarray) -> np.ndarray:
    """drawing.js's 28x28 for a drawing (sent as base64 bytes: a list of 78,400 numbers
    takes the driver a second to pass)."""
    text = base64.b64encode(drawing.astype(np.uint8).tobytes()).decode("ascii")
    return np.array(
        page.evaluate(
            f"""(text) => window.digitnet.prepareDrawing(
        Uint8Array.from(atob(text), (c) => c.charCodeAt(0)), {SIDE}, {SIDE})""",
            text,
        )
    )


def _canvas(page) -> np.ndarray:
    """The page's canvas as the gray levels it reads (canvasGray), SIDE x SIDE."""
    text = page.evaluate("""() => {
        const bytes = Uint8Array.from(window.digitnet.canvasGray());
        let text = "";
        for (let i = 0; i < bytes.length; i += 8192)  // in pieces: arguments are limited
            text += String.fromCharCode(...bytes.subarray(i, i + 8192));
        return btoa(text); }""")
    return np.frombuffer(base64.b64decode(text), np.uint8).reshape(SIDE, SIDE).astype(float)


def test_its_preprocessing_equals_the_python_drawing_path(page, sample):
    for label, drawing in sample_drawings(sample):
        assert np.array_equal(drawing, np.rint(drawing))  # whole grey levels, as a canvas
        theirs = _prepared_by_the_page(page, drawing)
        ours = prepare_drawing(drawing).astype(int)
        difference = np.abs(theirs - ours)
        assert difference.max() <= 1, label  # a rounding of x.5 the other way, at most
        assert (difference == 0).mean() > 0.99, label


def _bars(page) -> list[tuple[float, float]]:
    """(width of the fill, width of the bar) of each of the ten bars, as laid out."""
    sizes = []
    for item in page.locator("#bars li").all():
        fill = item.locator(".fill").bounding_box()
        bar = item.locator(".bar").bounding_box()
        sizes.append((fill["width"] if fill else 0.0, bar["width"]))
    return sizes


def _seen_pixels(page) -> np.ndarray:
    return np.array(
        page.evaluate("""() => Array.from(document.getElementById('seen')
        .getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))""")
    )


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_a_digit_drawn_with_the_mouse_is_read_as_digitnet_reads_it(page, shipped, digit):
    page.click("#clear")
    _guess_becomes(page, "–")
    draw(page, STROKES[digit])
    _guess_becomes(page, digit)
    page.wait_for_function(  # the reading when the pen is lifted, the last one, says so
        f"document.getElementById('status').textContent.includes('reads as {digit}')"
    )
    answer = page.evaluate("window.digitnet.answer")
    canvas = _canvas(page)
    # What the network read is what the Python drawing path makes of the canvas...
    expected_input = prepare_drawing(canvas).astype(int)
    assert np.abs(np.array(answer["input"]) - expected_input).max() <= 1
    # ... it is what the 28x28 view shows, and digitnet gives it the same probabilities.
    assert np.array_equal(_seen_pixels(page), np.array(answer["input"]))
    probabilities = np.array(answer["probabilities"])
    ours = shipped.predict_proba(np.array(answer["input"], np.uint8)[None])[0]
    assert np.abs(probabilities - ours).max() < 1e-4
    # The bars, as laid out: each as wide as its probability, the guess's the widest.
    sizes = _bars(page)
    for (fill, bar), p in zip(sizes, probabilities):
        assert bar > 100 and abs(fill - p * bar) <= 1.5
    assert int(np.argmax([fill for fill, _ in sizes])) == int(digit)
    assert page.locator("#bars li.top .name").text_content() == digit


def test_clear_and_undo_empty_the_bars(page):
    page.click("#clear")
    draw(page, STROKES["4"])
    _guess_becomes(page, "4")
    page.click("#undo")  # the vertical stroke goes: what is left is not a 4
    page.wait_for_function("document.getElementById('guess').textContent !== '4'")
    page.focus("#pad")
    page.keyboard.press("Escape")
    _guess_becomes(page, "–")
    assert all(fill < 0.5 for fill, _ in _bars(page))
    assert _seen_pixels(page).max() == 0


def test_it_works_at_a_phones_width(browser, page_file):
    phone = open_page(browser, page_file, viewport={"width": 375, "height": 740},
                      device_scale_factor=2, has_touch=True, is_mobile=True)  # fmt: skip
    try:
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll
        pad = phone.locator("#pad").bounding_box()
        assert pad["x"] >= 0 and pad["x"] + pad["width"] <= 375 and pad["width"] >= 250
        draw(phone, STROKES["7"])
        _guess_becomes(phone, "7")
        seen = phone.locator("#seen").bounding_box()
        assert seen["width"] >= 100 and seen["x"] + seen["width"] <= 375
        assert all(bar > 100 for _, bar in _bars(phone))
        assert phone.elsewhere == [] and phone.problems == []
    finally:
        phone.context.close()
