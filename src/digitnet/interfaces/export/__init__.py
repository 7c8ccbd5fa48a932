"""`digitnet export`: a trained model in a form that runs without digitnet.

    onnx          one .onnx file: onnxruntime, or any ONNX runtime (onnx_export.py)
    torch         one .pt/.pt2 file: a torch.export program (torch_export.py)
    torch-folder  a folder: model.py + architecture.json + state_dict.pt (torch_export.py)
    html          one self-contained drawing page: no server, no network (page_export.py)

Every form reads stored pixels (rows of 784 values, 0..255) and applies the model's
own preprocessing first; docs/export.md says what each holds and how to load it.
onnx and torch are the optional extra `pip install "digitnet[export]"`; they are
imported only here, only to export, and never learn anything.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

from digitnet.atomic import check_output, refuse_an_input
from digitnet.errors import DigitnetError, check_path, check_type
from digitnet.model import Model
from digitnet.model_file import check_outputs

FORMATS = {
    "onnx": "an ONNX file",
    "torch": "a PyTorch program file (torch.export)",
    "torch-folder": "a folder with a PyTorch module, its architecture and its state_dict",
    "html": "one self-contained HTML drawing page",
}
SUFFIXES = {".onnx": "onnx", ".pt": "torch", ".pt2": "torch", ".html": "html", ".htm": "html"}
NEEDS = {"onnx": ("onnx",), "torch": ("torch",), "torch-folder": ("torch",), "html": ()}
EXTRA_HINT = 'pip install "digitnet[export]", or ".[export]" in a checkout'


def export_format(out: str | os.PathLike[str], to: str | None = None) -> str:
    """The format to write `out` in: `to` if given, else what the name says
    (.onnx, .pt/.pt2, .html, or a folder: an existing one or a name ending in /)."""
    text = os.fspath(out)
    if text in ("", "-"):  # '' is the current folder; '-' the standard output elsewhere
        raise DigitnetError(f"'{text}': give the file (or FOLDER/) to export to; an export "
                            "is never written to the standard output")  # fmt: skip
    if to is not None:
        if to not in FORMATS:
            raise DigitnetError(f"unknown export format '{to}' (choose from {', '.join(FORMATS)})")
        return to
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return "torch-folder"
    suffix = Path(text).suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    shown = f"'{suffix}'" if suffix else "no suffix"
    raise DigitnetError(
        f"{text}: cannot tell the format from its name ({shown}); name it .onnx, "
        f".pt2 (or .pt), .html or FOLDER/, or give --to ({', '.join(FORMATS)})"
    )


def require_extra(fmt: str) -> None:
    """DigitnetError naming the extra, in one line, if a package `fmt` needs is missing."""
    for package in NEEDS[fmt]:
        try:
            importlib.import_module(package)
        except ImportError:
            raise DigitnetError(
                f"exporting to {fmt} needs the export extra ({package} is not installed): "
                f"{EXTRA_HINT}"
            ) from None


def check_destination(out: str | os.PathLike[str], fmt: str,
                      inputs: list[str | os.PathLike[str]]) -> Path:  # fmt: skip
    """The checked destination, before any work: not one of `inputs`, writable."""
    path = Path(out)
    if fmt != "torch-folder":
        if Path(os.fspath(out)).is_dir() or os.fspath(out).endswith(("/", os.sep)):
            raise DigitnetError(f"{out}: is a folder; {FORMATS[fmt]} is one file: give a file name")
        return check_output(path, inputs)
    from digitnet.interfaces.export.torch_export import FOLDER_FILES

    if path.exists() and not path.is_dir():
        raise DigitnetError(
            f"{out}: exists and is not a folder (a torch-folder export is a folder)"
        )
    if not path.exists():
        parent = path.resolve().parent
        if not parent.is_dir():
            raise DigitnetError(f"{out}: folder {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise DigitnetError(f"{out}: cannot create it in {parent} (permission denied)")
        return path
    for name in FOLDER_FILES:
        check_output(path / name, inputs)
    taken = [name for name in FOLDER_FILES if (path / name).exists()]
    if taken and not _an_earlier_export(path):  # the user's own model.py, README.txt...
        raise DigitnetError(
            f"{out}: already holds {', '.join(taken)}, not from a digitnet export; an export "
            f"writes {', '.join(FOLDER_FILES)} there: give a new or empty folder"
        )
    return path


def _an_earlier_export(folder: Path) -> bool:
    """Whether `folder` holds what a torch-folder export wrote (then it is updated)."""
    try:
        written = json.loads((folder / "architecture.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeError):
        return False
    return isinstance(written, dict) and {"layers", "steps", "classes"} <= set(written)


def export_model(model: Model, out: str | os.PathLike[str], to: str | None = None,
                 inputs: list[str | os.PathLike[str]] | None = None) -> str:  # fmt: skip
    """Write `model` to `out` in format `to` (else the one its name says); returns the
    format.  Everything is checked before anything is written; files are written
    atomically.  `inputs`: files that must not be overwritten (the model's own)."""
    check_type(model, Model, "model", "a digitnet Model (digitnet.train or load_model makes one)")
    check_path(out, "out")
    check_outputs(model, out)
    refuse_an_input(out, list(inputs or []))
    fmt = export_format(out, to)
    require_extra(fmt)
    destination = check_destination(out, fmt, list(inputs or []))
    if fmt == "onnx":
        from digitnet.interfaces.export.onnx_export import write_onnx

        write_onnx(model, destination)
    elif fmt == "torch":
        from digitnet.interfaces.export.torch_export import write_program

        write_program(model, destination)
    elif fmt == "torch-folder":
        from digitnet.interfaces.export.torch_export import write_folder

        write_folder(model, destination)
    else:
        from digitnet.interfaces.export.page_export import write_page

        write_page(model, destination)
    return fmt
