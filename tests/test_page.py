"""The drawing page in a real browser: Playwright driving Debian's chromium.

The mouse draws the strokes of a few digits and the page must show each guess; a
photo is uploaded; clear and the keyboard work; the page fits a phone's width.
Skipped where no chromium is installed, unless DIGITNET_REQUIRE_BROWSER=1 (as .ci/run
sets, after installing it), so CI cannot pass it by skipping.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from browser import chromium_or_skip, draw, serving
from photo_fakes import grey_paper

pytest.importorskip("uvicorn")
playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = chromium_or_skip()

# Strokes in 0..1 of the drawing area: the way a person draws these digits.
STROKES = {
    "7": [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]],
    "1": [[(0.5, 0.15), (0.5, 0.85)]],
    "4": [[(0.6, 0.15), (0.25, 0.6), (0.75, 0.6)], [(0.6, 0.35), (0.6, 0.85)]],
    "0": [[(0.5, 0.15), (0.25, 0.35), (0.25, 0.65), (0.5, 0.85), (0.75, 0.65), (0.75, 0.35),
           (0.5, 0.15)]],
}  # fmt: skip


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    with serving([], tmp_path_factory.mktemp("serve"), "/api/models") as url:
        yield url


@pytest.fixture(scope="module")
def page(server_url):
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 1000})
        # Everything the browser complains about: failed requests (a 404 for
        # /favicon.ico) and errors in the console.
        page.problems = []
        page.on("response", lambda response: response.status >= 400
                and page.problems.append(f"{response.status} {response.url}"))  # fmt: skip
        page.on("console", lambda message: message.type == "error"
                and page.problems.append(f"console: {message.text}"))  # fmt: skip
        page.on("pageerror", lambda error: page.problems.append(f"script: {error}"))
        page.goto(server_url)
        page.wait_for_selector("body[data-ready=yes]")
        yield page
        browser.close()


def _guess_becomes(page, text):
    page.wait_for_function(f"document.getElementById('guess').textContent === {text!r}",
                           timeout=10_000)  # fmt: skip


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_a_digit_drawn_with_the_mouse_is_read(page, digit):
    page.click("#clear")
    _guess_becomes(page, "–")
    draw(page, STROKES[digit])
    _guess_becomes(page, digit)
    # The 28x28 input and the ten bars are shown, the guess's bar the highest.
    assert page.locator("#bars li").count() == 10
    assert page.locator("#bars li.top .name").text_content() == digit
    assert page.locator("#inside figure").count() >= 1
    lit = page.evaluate("""() => {
        const data = document.getElementById('seen').getContext('2d')
            .getImageData(0, 0, 28, 28).data;
        let lit = 0; for (let i = 0; i < data.length; i += 4) if (data[i] > 128) lit++;
        return lit; }""")
    assert lit > 20  # the digit, as the network saw it
    assert page.locator("#status").text_content().startswith(f"Your drawing reads as {digit} (")


def _shown_probabilities(page) -> np.ndarray:
    """The ten percentages the page prints beside its bars, as fractions."""
    texts = page.locator("#bars li .value").all_text_contents()
    return np.array([float(text.rstrip("%")) / 100 for text in texts])


def test_each_bar_is_as_long_as_its_probability(page):
    """The layout: each bar's drawn fill spans its probability's share of the track."""
    page.click("#clear")
    draw(page, STROKES["1"])
    _guess_becomes(page, "1")
    widths = page.evaluate("""() => [...document.querySelectorAll('#bars li')].map((item) => [
        item.querySelector('.fill').getBoundingClientRect().width,
        item.querySelector('.bar').getBoundingClientRect().width])""")
    drawn = np.array([fill / track for fill, track in widths])
    shown = _shown_probabilities(page)
    assert shown.max() > 0.5  # a clear guess, so that the top bar is long
    np.testing.assert_allclose(drawn, shown, atol=0.01)


def test_the_top_bar_is_seen_filled_in_a_screenshot(page):
    """The pixels: the top bar is green over its probability's share of its track,
    the rest of the track its pale grey (what a person sees, not what the DOM says)."""
    page.click("#clear")
    draw(page, STROKES["7"])
    _guess_becomes(page, "7")
    top = page.locator("#bars li.top .bar")
    pixels = np.asarray(Image.open(io.BytesIO(top.screenshot())).convert("RGB"))
    middle = pixels[pixels.shape[0] // 2].astype(int)  # one row across the bar
    green = np.all(np.abs(middle - (0x1A, 0x7F, 0x37)) < 40, axis=1)
    probability = _shown_probabilities(page)[7]
    assert probability > 0.5
    assert abs(green.mean() - probability) < 0.03, (green.mean(), probability)
    assert not green[-3:].any() or probability > 0.97  # the end of the track stays grey


def test_the_browser_reports_no_failed_request_nor_error(page):
    page.reload()
    page.wait_for_selector("body[data-ready=yes]")
    page.click("#clear")
    draw(page, STROKES["0"])
    _guess_becomes(page, "0")
    page.wait_for_timeout(300)  # a favicon is asked for after the page has loaded
    assert page.problems == []


def test_undo_and_the_keyboard(page):
    page.click("#clear")
    draw(page, STROKES["4"])
    _guess_becomes(page, "4")
    page.click("#undo")  # the vertical stroke goes: what is left is not a 4
    page.wait_for_function("document.getElementById('guess').textContent !== '4'")
    page.focus("#pad")
    page.keyboard.press("Escape")
    _guess_becomes(page, "–")


def test_a_photo_is_uploaded_and_read(page, sample):
    seven = sample.images[sample.labels == 7][0]
    page.set_input_files("#photo", files=[{"name": "seven.jpg", "mimeType": "image/jpeg",
                                           "buffer": grey_paper(seven)}])  # fmt: skip
    _guess_becomes(page, "7")
    assert page.locator("#status").text_content().startswith("The photo seven.jpg reads as 7 (")


def test_a_bad_upload_says_so_on_the_page(page):
    page.set_input_files("#photo", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                           "buffer": b"not a picture"}])  # fmt: skip
    page.wait_for_function(
        "document.getElementById('status').textContent.includes('Could not read it')"
    )
    assert page.locator("#guess").text_content() == "–"


def test_the_model_is_described_and_the_controls_are_labelled(page):
    assert "recipe cnn" in page.locator("#model-info").text_content()
    for control in ("#pad", "#seen"):
        assert page.locator(control).get_attribute("aria-label")
    for control in ("#pen", "#photo", "#model"):
        assert page.locator(f"label[for={control[1:]}]").count() == 1


def test_it_fits_a_phone(page):
    page.set_viewport_size({"width": 375, "height": 800})
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375  # nothing wider than the screen: no sideways scrolling
    finally:
        page.set_viewport_size({"width": 1000, "height": 1000})


def test_a_screenshot_for_the_docs(page):
    """With DIGITNET_SCREENSHOT=docs/serve.png, also keep a picture of the page."""
    page.click("#clear")
    draw(page, STROKES["7"])
    _guess_becomes(page, "7")
    target = os.environ.get("DIGITNET_SCREENSHOT")
    if target:
        page.screenshot(path=target, full_page=True)
    assert page.locator("#guess").is_visible()
