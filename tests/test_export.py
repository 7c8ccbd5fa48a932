"""`digitnet export`: formats, bad input, the page's file, the drawing path (no extras needed).

The runtimes' agreement (onnxruntime, PyTorch) is tests/test_export_runtimes.py; the
page in a real browser is tests/test_export_page.py.
"""

from __future__ import annotations

import re
import shutil
import sys

import numpy as np
import pytest

from conftest import run_cli
from digitnet.data.bundled import served_model_path
from digitnet.data.digit_photo import prepare_digit
from digitnet.errors import DigitnetError
from digitnet.interfaces import cli
from digitnet.interfaces.export import export_format
from digitnet.interfaces.export.drawing import prepare_drawing, round_half_even
from digitnet.interfaces.export.page_export import page_html
from digitnet.model_file import load_model
from drawings import sample_drawings


@pytest.fixture(scope="module")
def shipped():
    with served_model_path() as path:
        return load_model(path)


@pytest.fixture
def model_file(tmp_path):
    with served_model_path() as path:
        return shutil.copy(path, tmp_path / "digits.npz")


@pytest.mark.parametrize(("name", "expected"), [
    ("net.onnx", "onnx"), ("NET.ONNX", "onnx"), ("net.pt", "torch"), ("net.pt2", "torch"),
    ("page.html", "html"), ("page.htm", "html"), ("folder/", "torch-folder"),
])  # fmt: skip
def test_the_format_follows_the_name(name, expected):
    assert export_format(name) == expected


def test_an_existing_folder_is_a_torch_folder_and_to_overrides_the_name(tmp_path):
    assert export_format(tmp_path) == "torch-folder"
    assert export_format("page.html", to="onnx") == "onnx"
    with pytest.raises(DigitnetError, match="unknown export format 'tflite'"):
        export_format("x.onnx", to="tflite")


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_an_unknown_format_is_one_line_and_writes_nothing(tmp_path, model_file, capsys):
    before = sorted(tmp_path.iterdir())
    assert cli.main(["export", str(model_file), str(tmp_path / "net.tflite")]) == 2
    assert "cannot tell the format from its name ('.tflite')" in _one_error_line(capsys)
    assert sorted(tmp_path.iterdir()) == before


def test_a_model_that_is_not_digitnets_is_refused_and_a_good_output_kept(tmp_path, capsys):
    stranger = tmp_path / "other.npz"
    np.savez(stranger, weights=np.ones((3, 3)))
    out = tmp_path / "page.html"
    out.write_text("a good page")
    assert cli.main(["export", str(stranger), str(out)]) == 2
    assert "not a digitnet model file" in _one_error_line(capsys)
    assert out.read_text() == "a good page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.npz", "page.html"]


def test_an_output_onto_the_input_is_refused(tmp_path, model_file, capsys):
    original = model_file.read_bytes()
    assert cli.main(["export", str(model_file), str(model_file), "--to", "html"]) == 2
    assert "is also an input" in _one_error_line(capsys)
    assert model_file.read_bytes() == original
    folder = tmp_path / "torch"
    folder.mkdir()
    inside = shutil.copy(model_file, folder / "state_dict.pt")  # the folder's own file name
    if "torch" in sys.modules or _has("torch"):
        assert cli.main(["export", str(inside), str(folder)]) == 2
        assert "is also an input" in _one_error_line(capsys)
        assert sorted(p.name for p in folder.iterdir()) == ["state_dict.pt"]


def _has(package: str) -> bool:
    try:
        __import__(package)
    except ImportError:
        return False
    return True


def test_a_file_format_onto_a_folder_is_refused(tmp_path, model_file, capsys):
    assert cli.main(["export", str(model_file), str(tmp_path), "--to", "html"]) == 2
    assert "is a folder" in _one_error_line(capsys)


@pytest.mark.parametrize(("out", "package"), [("net.onnx", "onnx"), ("net.pt", "torch"),
                                              ("folder/", "torch")])  # fmt: skip
def test_without_the_extra_export_names_it_in_one_line(tmp_path, model_file, monkeypatch,
                                                       capsys, out, package):  # fmt: skip
    monkeypatch.setitem(sys.modules, package, None)  # import fails as if not installed
    before = sorted(tmp_path.iterdir())
    assert cli.main(["export", str(model_file), f"{tmp_path}/{out}"]) == 2
    line = _one_error_line(capsys)
    assert f"{package} is not installed" in line and 'pip install "digitnet[export]"' in line
    assert sorted(tmp_path.iterdir()) == before


def test_the_page_is_written_by_the_command_and_holds_everything(tmp_path, model_file):
    out = tmp_path / "page.html"
    done = run_cli("export", str(model_file), str(out))
    assert done.returncode == 0, done.stderr
    assert f"wrote {out} (html" in done.stdout
    text = out.read_text(encoding="utf-8")
    # Nothing fetched: no external script, style sheet, image or font; no fetch() at all.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "fetch(" not in text and "@import" not in text and "XMLHttpRequest" not in text
    assert text.count("<script") == 2  # the network's JSON and the one inline script
    assert "Reading a photo is not offered in this file" in text


def test_the_page_cannot_be_broken_by_a_class_name(shipped):
    shipped.info["classes"] = ["</script><script>alert(1)</script>", *map(str, range(1, 10))]
    try:
        text = page_html(shipped)
    finally:
        del shipped.info["classes"]
    assert text.count("</script>") == 2  # the name's own are escaped: <\/script>
    assert "<\\/script><script>alert(1)<\\/script>" in text


TIES = [(6.5, 6), (7.5, 8), (-6.5, -6), (-7.5, -8), (2.4999999999, 2), (6.49, 6), (6.51, 7)]


@pytest.mark.parametrize(("value", "expected"), TIES)
def test_centring_rounds_ties_to_even_like_pythons_round(value, expected):
    assert round_half_even(value) == expected


def test_the_drawing_path_reads_drawings_as_the_server_does(shipped, sample):
    """The page's preprocessing (drawing.py, ported by drawing.js) against the server's
    (data/digit_photo.py) on the same drawings: the same 28x28 up to resampling."""
    for label, drawing in sample_drawings(sample):
        ours = prepare_drawing(drawing).astype(np.float64)
        servers = prepare_digit(drawing).astype(np.float64)
        assert ours.shape == servers.shape == (784,)
        assert np.corrcoef(ours, servers)[0, 1] > 0.95, label
        # grey levels of 0..255: measured at most 6.1 (mean 1.3) over these 22 drawings
        # since the server works pictures at 512 px; different resampling, same digit
        assert np.abs(ours - servers).mean() < 7, label
        assert shipped.predict(ours[None])[0] == shipped.predict(servers[None])[0], label


def test_a_blank_drawing_is_refused():
    with pytest.raises(DigitnetError, match="no digit found"):
        prepare_drawing(np.full((280, 280), 255.0))


def test_a_model_trained_without_a_dev_set_exports_a_page_whose_data_parses(tmp_path):
    """With no dev set every epoch records NaN: json.dumps wrote it as NaN, which the
    page's JSON.parse refuses (a blank page). It is 'not measured' (null) instead."""
    import json
    import re

    import digitnet
    from digitnet.interfaces.export.page_export import page_html

    model = digitnet.train("fast", epochs=1, dev_size=0, log=None)
    assert "nan" not in repr(model).lower()
    page = page_html(model)
    data = re.search(r'<script[^>]*id="network"[^>]*>(.*?)</script>', page, re.S)
    assert data is not None
    described = json.loads(data.group(1), parse_constant=lambda name: pytest.fail(name))
    assert described["dev_accuracy"] is None
