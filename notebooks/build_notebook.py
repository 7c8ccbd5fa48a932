"""Build notebooks/walkthrough.ipynb from its source, notebooks/walkthrough.py.

The .py file is the source: a script in jupytext's "percent" format, which reads
well in a diff.  A line `# %%` starts a code cell and `# %% [markdown]` a
markdown cell, whose lines are all comments (`# ` then the text).  A code line
`# %matplotlib inline` is a commented IPython magic, as jupytext writes them: it
becomes `%matplotlib inline` in the notebook.

This script parses that format (plain Python, no jupytext needed), executes the
notebook in a fresh kernel in a temporary folder (so the files it writes do not
land in the repository), and saves it with its outputs, which is what GitHub shows:

    python notebooks/build_notebook.py            # writes notebooks/walkthrough.ipynb

tests/test_notebook.py imports `parse_percent` from here to check that the
.ipynb and the .py hold the same cells.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "walkthrough.py"
NOTEBOOK = HERE / "walkthrough.ipynb"
CELL_TIMEOUT = 300  # seconds per cell

MARKER = re.compile(r"^# %%(?P<rest>.*)$")
MAGIC = re.compile(r"^# (?P<magic>%[A-Za-z]\w*(?:\s.*)?)$")  # '# %matplotlib inline'


def parse_percent(text: str) -> list[tuple[str, str]]:
    """The cells of a percent-format script, as (cell type, source) pairs.

    Cell type is 'code' or 'markdown'.  Blank lines around a cell's content are
    dropped; anything but blank lines before the first marker is an error, and
    so is a markdown line that is not a comment.
    """
    cells: list[tuple[str, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        marker = MARKER.match(line)
        if marker:
            rest = marker.group("rest").strip()
            if rest in ("[markdown]", "[md]"):
                cells.append(("markdown", []))
            elif rest == "":
                cells.append(("code", []))
            else:
                raise ValueError(f"line {number}: unknown cell marker {line!r}")
        elif not cells:
            if line.strip():
                raise ValueError(f"line {number}: text before the first '# %%' marker")
        else:
            cells[-1][1].append(line)
    return [(kind, _cell_source(kind, lines)) for kind, lines in cells]


def _cell_source(kind: str, lines: list[str]) -> str:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if kind == "code":
        return "\n".join(_uncomment_magic(line) for line in lines)
    text = []
    for line in lines:
        if line == "#":
            text.append("")
        elif line.startswith("# "):
            text.append(line[2:])
        else:
            raise ValueError(f"markdown cell: line not commented with '# ': {line!r}")
    return "\n".join(text)


def _uncomment_magic(line: str) -> str:
    magic = MAGIC.match(line)
    return magic.group("magic") if magic else line


def notebook_from_cells(cells: list[tuple[str, str]]) -> Any:
    """An nbformat v4 notebook of `cells`, with stable cell ids (diff-friendly)."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, source) in enumerate(cells):
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        notebook.cells.append(make(source, id=f"cell-{index:02d}"))
    return notebook


def execute(notebook: Any, folder: str | os.PathLike[str], timeout: int = CELL_TIMEOUT) -> Any:
    """Run every cell in a fresh kernel whose working folder is `folder`; the
    notebook, with its outputs, is changed in place and returned.  A cell that
    raises stops it with nbclient's CellExecutionError."""
    from nbclient import NotebookClient

    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no timestamps in the saved file: smaller diffs
        resources={"metadata": {"path": str(folder)}},
    )
    # One BLAS thread, as digitnet's own default: predictable on a shared machine.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    client.execute(env=env)
    return notebook


def main() -> int:
    import nbformat

    cells = parse_percent(SOURCE.read_text(encoding="utf-8"))
    notebook = notebook_from_cells(cells)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="walkthrough-") as folder:
        execute(notebook, folder)
    seconds = time.perf_counter() - started
    nbformat.validate(notebook)
    nbformat.write(notebook, str(NOTEBOOK))
    print(f"wrote {NOTEBOOK.relative_to(HERE.parent)}: {len(cells)} cells, run in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
