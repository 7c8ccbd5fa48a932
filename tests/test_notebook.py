"""notebooks/walkthrough.ipynb: it holds the cells of its source, notebooks/walkthrough.py,
and it runs from a fresh kernel, in time, to the accuracies its text speaks of."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCE = NOTEBOOKS / "walkthrough.py"
NOTEBOOK = NOTEBOOKS / "walkthrough.ipynb"
WALL_SECONDS = 180  # the whole notebook, on the bundled sample, on one core


def load_builder():
    """notebooks/build_notebook.py, imported from its path (notebooks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_notebook", NOTEBOOKS / "build_notebook.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook_cells(notebook: dict) -> list[tuple[str, str]]:
    """(cell type, source) of each cell of a notebook read as JSON."""
    return [
        (cell["cell_type"], "".join(cell["source"]) if isinstance(cell["source"], list)
         else cell["source"])
        for cell in notebook["cells"]
    ]  # fmt: skip


def test_the_notebook_holds_the_cells_of_its_source():
    """Edit walkthrough.py, then run build_notebook.py: the two never drift apart."""
    expected = load_builder().parse_percent(SOURCE.read_text(encoding="utf-8"))
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook_cells(notebook) == expected, (
        "notebooks/walkthrough.ipynb differs from walkthrough.py: "
        "run `python notebooks/build_notebook.py`"
    )


def test_the_committed_notebook_has_its_outputs():
    """GitHub shows the saved outputs: every code cell ran, and the pictures are images."""
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell["execution_count"] is not None for cell in code)
    outputs = [output for cell in code for output in cell["outputs"]]
    assert not [output for output in outputs if output["output_type"] == "error"]
    assert sum("image/png" in output.get("data", {}) for output in outputs) >= 8


def test_percent_format_parsing():
    parse = load_builder().parse_percent
    text = (
        "# %% [markdown]\n# # Title\n#\n# text\n\n"
        "# %%\n# %matplotlib inline\nx = 1\n\n\n"
        "# %%\ny = 2\n"
    )
    assert parse(text) == [
        ("markdown", "# Title\n\ntext"),
        ("code", "%matplotlib inline\nx = 1"),
        ("code", "y = 2"),
    ]
    with pytest.raises(ValueError, match="not commented"):
        parse("# %% [markdown]\ntext\n")
    with pytest.raises(ValueError, match="before the first"):
        parse("x = 1\n# %%\n")


def test_the_notebook_runs_in_a_fresh_kernel(tmp_path):
    """All cells, in a new kernel working in tmp_path, in under WALL_SECONDS; the loop,
    the fast recipe and the CNN reach the accuracies the notebook's text relies on."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    import nbformat

    builder = load_builder()
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    started = time.perf_counter()
    builder.execute(notebook, tmp_path)
    seconds = time.perf_counter() - started
    assert seconds < WALL_SECONDS, f"the notebook took {seconds:.0f} s"

    text = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
    )

    def accuracy(name: str) -> float:
        found = re.search(rf"^dev accuracy of {name}: (\d\.\d+)$", text, re.MULTILINE)
        assert found, f"no line 'dev accuracy of {name}: ...' in the outputs"
        return float(found.group(1))

    assert accuracy("the loop") >= 0.79  # the seed recipe's loop: about 80% on the sample
    assert accuracy("fast") >= 0.93
    assert accuracy("cnn") >= 0.95
    assert "the notebook's softmax: [[nan" in text
    assert "same predictions after loading: True" in text
    assert text.count("ImageId,Label") == 1
    pngs = sum("image/png" in output.get("data", {}) for cell in notebook.cells
               if cell.cell_type == "code" for output in cell.outputs)  # fmt: skip
    assert pngs >= 8, "the pictures did not render as images"
    assert not any(tmp_path.iterdir()), "the notebook left files in its working folder"
