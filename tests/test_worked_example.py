"""docs/worked_example.md holds the numbers digitnet's own layers compute.

Every array is parsed from the page, so a wrong digit on the page fails this test;
the page's numbers are rounded to six decimals, and must be that rounding.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
HALF_OF_LAST_DIGIT = 0.5e-6 + 1e-12  # six decimals, correctly rounded


def _numbers_module():
    path = ROOT / "docs" / "pictures" / "worked_example.py"
    spec = importlib.util.spec_from_file_location("worked_example_numbers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


numbers = _numbers_module()


@pytest.fixture(scope="module")
def page():
    return numbers.read_page()


def test_page_gives_every_input_and_every_result_once(page):
    assert set(page) == set(numbers.INPUTS) | set(numbers.RESULTS)
    assert page["x"].shape == (2, 3) and page["W1"].shape == (3, 2)  # 3-2-2, two examples
    assert page["W2"].shape == (2, 2) and page["y"].shape == (2,)


@pytest.mark.parametrize("name", numbers.RESULTS)
def test_page_number_equals_digitnet(page, name):
    computed = numbers.forward_backward(page)[name]
    written = page[name]
    assert written.shape == computed.shape, f"{name}: the page's shape {written.shape}"
    np.testing.assert_allclose(written, computed, rtol=0, atol=HALF_OF_LAST_DIGIT,
                               err_msg=f"{name} on docs/worked_example.md")  # fmt: skip


def test_every_worked_step_on_the_page_equals_digitnet(page):
    """The hand computations (`z1[0, 1] = 1(-1) + ... = -0.5`) end at digitnet's numbers."""
    steps = numbers.read_steps(numbers.PAGE.read_text(encoding="utf-8"))
    computed = numbers.forward_backward(page)
    assert len(steps) >= 25 and {name for name, _, _ in steps} >= {"z1", "z2", "dW1", "dW2"}
    for name, index, value in steps:
        where = f"{name}{list(index)} on docs/worked_example.md"
        np.testing.assert_allclose(value, computed[name][index], rtol=0,
                                   atol=HALF_OF_LAST_DIGIT, err_msg=where)  # fmt: skip


def test_a_wrong_digit_on_the_page_is_caught():
    """The check can fail: change one digit of dW1 and the numbers no longer agree."""
    text = numbers.PAGE.read_text(encoding="utf-8")
    good = "dW1 = [[0.952574, 0.0], [1.82929, 0.056894]"
    assert good in text
    wrong = numbers.read_arrays(text.replace(good, good.replace("1.82929", "1.82939")))
    computed = numbers.forward_backward(wrong)["dW1"]
    assert np.abs(wrong["dW1"] - computed).max() > HALF_OF_LAST_DIGIT


def test_gradient_of_the_example_matches_central_differences(page):
    """The page's backward pass is the true derivative of its forward pass."""
    from digitnet.network import SoftmaxCrossEntropy

    def loss(arrays):
        hidden = np.maximum(arrays["x"] @ arrays["W1"] + arrays["b1"], 0)
        return SoftmaxCrossEntropy.fn(hidden @ arrays["W2"] + arrays["b2"], arrays["y"])

    step = 1e-6
    for name in ("W1", "b1", "W2", "b2"):
        numeric = np.zeros_like(page[name])
        for index in np.ndindex(page[name].shape):
            moved = {key: value.copy() for key, value in page.items()}
            moved[name][index] += step
            up = loss(moved)
            moved[name][index] -= 2 * step
            numeric[index] = (up - loss(moved)) / (2 * step)
        np.testing.assert_allclose(page["d" + name], numeric, atol=HALF_OF_LAST_DIGIT + 1e-8)
