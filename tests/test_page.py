"""The drawing page in a real browser: Playwright driving Debian's chromium.

The mouse draws the strokes of a few digits and the page must show each guess; a
photo is uploaded; clear and the keyboard work; the page fits a phone's width.
Skipped where no chromium is installed, unless DIGITNET_REQUIRE_BROWSER=1 (as .ci/run
sets, after installing it), so CI cannot pass it by skipping.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from photo_fakes import grey_paper

pytest.importorskip("uvicorn")
playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = (
    os.environ.get("DIGITNET_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)
if CHROMIUM is None:
    if os.environ.get("DIGITNET_REQUIRE_BROWSER") == "1":
        pytest.fail("no chromium found (apt-get install chromium)", pytrace=False)
    pytest.skip("no chromium found (apt-get install chromium)", allow_module_level=True)

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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "digitnet.interfaces.cli", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path_factory.mktemp("serve"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/api/models").close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the server did not start: {server.stderr.read()}")
            time.sleep(0.2)
    yield url
    server.send_signal(signal.SIGINT)
    server.communicate(timeout=20)


@pytest.fixture(scope="module")
def page(server_url):
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 1000})
        page.goto(server_url)
        page.wait_for_selector("body[data-ready=yes]")
        yield page
        browser.close()


def _draw(page, strokes):
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        page.mouse.up()


def _guess_becomes(page, text):
    page.wait_for_function(f"document.getElementById('guess').textContent === {text!r}",
                           timeout=10_000)  # fmt: skip


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_a_digit_drawn_with_the_mouse_is_read(page, digit):
    page.click("#clear")
    _guess_becomes(page, "–")
    _draw(page, STROKES[digit])
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


def test_undo_and_the_keyboard(page):
    page.click("#clear")
    _draw(page, STROKES["4"])
    _guess_becomes(page, "4")
    page.click("#undo")  # the vertical stroke goes: what is left is not a 4
    page.wait_for_function("document.getElementById('guess').textContent !== '4'")
    page.focus("#pad")
    page.keyboard.press("Escape")
    _guess_becomes(page, "–")


def test_a_photo_is_uploaded_and_read(page, sample):
    seven = sample.images[sample.labels == 7][0]
    page.set_input_files("#photo", files=[{"name": "photo.jpg", "mimeType": "image/jpeg",
                                           "buffer": grey_paper(seven)}])  # fmt: skip
    _guess_becomes(page, "7")
    assert "photo.jpg reads as 7" in page.locator("#status").text_content()


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
    _draw(page, STROKES["7"])
    _guess_becomes(page, "7")
    target = os.environ.get("DIGITNET_SCREENSHOT")
    if target:
        page.screenshot(path=target, full_page=True)
    assert page.locator("#guess").is_visible()
