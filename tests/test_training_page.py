"""The training view in a real browser (Playwright driving Debian's chromium, as
test_page.py): a CNN trained on the sample from the page for two epochs, watched.

It checks what a person sees: the curves have two points drawn, the filters'
pictures changed (pixels), the drawing pad reads with the model in training, and
a saved model joins the model list (and is a file).  With DIGITNET_TRAINING_SCREENSHOT
set, it also keeps a picture of the view in progress (docs/training_view.png).
"""

from __future__ import annotations

import os

import pytest

import digitnet
from browser import chromium_or_skip, draw, serving

pytest.importorskip("uvicorn")
playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = chromium_or_skip()

SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]  # in 0..1 of the drawing area
PIXELS_OF = """(id) => Array.from(document.getElementById(id).getContext('2d')
    .getImageData(0, 0, document.getElementById(id).width,
                  document.getElementById(id).height).data)"""


@pytest.fixture(scope="module")
def saved_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("saved")


@pytest.fixture(scope="module")
def server_url(saved_dir):
    with serving(["--save-dir", str(saved_dir)], saved_dir, "/api/training", 60) as url:
        yield url


@pytest.fixture(scope="module")
def page(server_url):
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 1000})
        page.goto(server_url)
        page.wait_for_selector("body[data-ready=yes][data-training-ready=yes]")
        yield page
        browser.close()


def _coloured(pixels, rgb, tolerance=40):
    """How many pixels (RGBA, flat) are near the colour `rgb`."""
    return sum(
        1
        for i in range(0, len(pixels), 4)
        if all(abs(pixels[i + k] - rgb[k]) <= tolerance for k in range(3))
    )


def test_a_bad_layer_spec_is_shown_beside_its_field(page):
    page.fill("#train-layers", "dense32,relu,bogus")
    page.click("#train-start")
    page.wait_for_function("document.getElementById('err-layers').textContent.includes('bogus')")
    assert page.locator("#err-layers").is_visible()
    assert page.locator("#err-epochs").text_content() == ""
    assert page.evaluate("document.body.dataset.training") == "idle"  # nothing started


def test_a_cnn_trained_from_the_page_is_watched_read_and_saved(page, saved_dir, server_url):
    page.select_option("#train-recipe", "cnn")
    assert page.input_value("#train-layers").startswith("image,conv32k3same")
    page.fill("#train-epochs", "2")
    page.click("#train-start")
    # The first snapshot (after the first step): the filters, nearly as initialised.
    page.wait_for_function("document.body.dataset.training === 'running' && "
                           "document.getElementById('train-save').disabled === false",
                           timeout=60_000)  # fmt: skip
    before = page.evaluate(PIXELS_OF, "train-weights")
    assert "32 filters, 3x3" in page.locator("#weights-title").text_content()
    # Draw while it trains: the pad reads with the model in training.
    page.wait_for_function("document.getElementById('model').value === 'in training'")
    with page.expect_response(lambda r: "/api/predict" in r.url and "in%20training" in r.url,
                              timeout=60_000) as reading:  # fmt: skip
        draw(page, SEVEN)
    answer = reading.value.json()
    assert answer["model"] == "in training"
    # A newer snapshot reads the same drawing again, with no hand on the pad: the bars
    # change as it learns.
    with page.expect_response(lambda r: "/api/predict" in r.url and "in%20training" in r.url,
                              timeout=120_000) as again:  # fmt: skip
        pass
    assert again.value.json()["model"] == "in training"
    page.wait_for_function("/^[0-9]$/.test(document.getElementById('guess').textContent)")
    if os.environ.get("DIGITNET_TRAINING_SCREENSHOT"):  # a picture of it in progress
        page.wait_for_function("document.getElementById('chart-loss').dataset.points >= 1",
                               timeout=300_000)  # fmt: skip
        page.locator("#training").screenshot(path=os.environ["DIGITNET_TRAINING_SCREENSHOT"])
    # Two epochs: two points on each curve, and the run says it has finished.
    page.wait_for_function("document.body.dataset.training === 'finished'", timeout=600_000)
    assert page.get_attribute("#chart-rate", "data-points") == "2"
    for chart in ("chart-loss", "chart-accuracy"):
        assert page.get_attribute(f"#{chart}", "data-points") == "2"
        pixels = page.evaluate(PIXELS_OF, chart)
        assert _coloured(pixels, (0x0B, 0x63, 0xC5)) > 50  # the train curve's blue
        assert _coloured(pixels, (0xD1, 0x24, 0x2F)) > 50  # the dev curve's red
    assert "Epoch 2/2" in page.locator("#train-progress").text_content()
    after = page.evaluate(PIXELS_OF, "train-weights")
    # Red positive, blue negative, as the report draws weights (the page had them the
    # other way round): both shades are there, and the legend says which is which.
    assert "(red positive, blue negative)" in page.locator("#weights-title").text_content()
    assert _coloured(after, (255, 60, 60), tolerance=70) > 20
    assert _coloured(after, (60, 60, 255), tolerance=70) > 20
    changed = sum(1 for a, b in zip(before, after) if abs(a - b) > 8)
    assert changed > 0.05 * len(before), changed  # the filters' pictures moved
    page.select_option("#weights-show", "change")  # what training added to the start
    moved = page.evaluate(PIXELS_OF, "train-weights")
    assert sum(1 for a, b in zip(after, moved) if abs(a - b) > 8) > 0.05 * len(after)
    assert "less its start" in page.locator("#weights-title").text_content()
    # A page opened now (a reconnecting one too) picks up where the training is.
    other = page.context.browser.new_page()
    other.goto(server_url)
    other.wait_for_selector("body[data-training-ready=yes]")
    assert other.get_attribute("#chart-loss", "data-points") == "2"
    assert other.evaluate("document.body.dataset.training") == "finished"
    other.close()
    cells = page.locator("#train-confusion td")
    assert cells.count() == 100
    diagonal = sum(int(cells.nth(11 * i).text_content() or 0) for i in range(10))
    assert diagonal > 500  # of the 1,000 dev rows, most now on the diagonal
    # Save: the file is written, and the model joins the list.
    page.click("#train-save")
    page.wait_for_function("document.getElementById('train-status').textContent"
                           ".startsWith('Saved')")  # fmt: skip
    name = page.locator("#train-status").text_content().split()[1]
    assert (saved_dir / name).exists()
    assert digitnet.load_model(saved_dir / name).history["epoch"] == [1, 2]
    page.wait_for_selector(f"#model option[value='{name}']", state="attached")
    page.select_option("#model", name)
    with page.expect_response(lambda r: "/api/predict" in r.url and name in r.url) as saved:
        page.click("#undo")  # the pad is empty: draw again
        draw(page, SEVEN)
    assert saved.value.json()["model"] == name


def test_the_training_view_fits_a_phone(page):
    page.set_viewport_size({"width": 375, "height": 800})
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = page.locator("#training").bounding_box()
        assert box["width"] <= 375
    finally:
        page.set_viewport_size({"width": 1000, "height": 1000})
