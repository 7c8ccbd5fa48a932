"""PyTorch export: the network as an nn.Module holding the same numbers.

Two forms (docs/export.md):
- a file (`.pt`, `.pt2`): a `torch.export` program, loaded with
  `torch.export.load(path).module()`, no Python class and no digitnet needed;
- a folder: model.py (torch_module.py, which builds the module), architecture.json
  (the steps) and state_dict.pt (the tensors, loadable with `weights_only=True`).

Both take stored pixels (m, 784) in 0..255 and give the logits; the model's
preprocessing (/ 255) is their first step.  torch is imported only here, only when
exporting (the `export` extra), and digitnet never learns with it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from digitnet.atomic import atomic_write
from digitnet.interfaces.export.layout import channels_first_steps
from digitnet.model import Model
from digitnet.network.network import Network

FOLDER_FILES = ("model.py", "architecture.json", "state_dict.pt", "README.txt")


def to_torch(network: Network, divide_by: float | None = None, dtype: Any = None) -> Any:
    """An nn.Sequential computing what `network` computes, with copies of its arrays.

    `divide_by`: the model's preprocessing as a first step (inputs 0..255), or None
    (inputs as the network reads them).  `dtype`: numpy's, default the network's."""
    import torch

    from digitnet.interfaces.export.torch_module import build_module

    dtype = np.dtype(dtype or network.dtype)
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    steps = channels_first_steps(network, divide_by)
    module = build_module([step.describe() for step in steps], torch_dtype)
    module.load_state_dict(_state_dict(steps, dtype))
    return module


def _state_dict(steps: list, dtype: np.dtype) -> dict[str, Any]:
    import torch

    state = {}
    for index, step in enumerate(steps):
        for name, array in step.arrays.items():
            state[f"{index}.{name}"] = torch.from_numpy(array.astype(dtype, copy=True))
        if step.kind == "batch_norm":  # PyTorch counts batches seen; evaluation ignores it
            state[f"{index}.num_batches_tracked"] = torch.tensor(0)
    return state


def write_program(model: Model, path: Path) -> None:
    """A `torch.export` program of the model (float32, any batch size) written to `path`."""
    import torch

    module = to_torch(model.network, model.preprocessing.divide_by, np.float32).eval()
    example = torch.zeros(2, model.network.inputs)
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(module, (example,), dynamic_shapes=({0: batch},))
    with atomic_write(path) as stream:
        torch.export.save(program, stream)


def write_folder(model: Model, folder: Path) -> None:
    """model.py, architecture.json, state_dict.pt and README.txt in `folder`, written
    whole: into a temporary folder beside it first, then each file moved in."""
    import torch

    network = model.network
    steps = channels_first_steps(network, model.preprocessing.divide_by)
    architecture = {
        "layers": network.layer_spec,
        "inputs": "stored pixels (m, 784), 0..255, rows of the 28x28 image",
        "outputs": "logits (m, 10); softmax gives the probabilities",
        "classes": list(model.class_names),
        "steps": [step.describe() for step in steps],
    }
    source = resources.files("digitnet.interfaces.export") / "torch_module.py"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".export.") as staging:
        staged = Path(staging)
        (staged / "model.py").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        (staged / "architecture.json").write_text(json.dumps(architecture, indent=1) + "\n")
        torch.save(_state_dict(steps, np.dtype(np.float32)), staged / "state_dict.pt")
        (staged / "README.txt").write_text(_readme(model))
        for name in FOLDER_FILES:  # each file is replaced whole, never half-written
            with atomic_write(folder / name) as stream, open(staged / name, "rb") as made:
                shutil.copyfileobj(made, stream)


def _readme(model: Model) -> str:
    return (
        f"A digitnet network ({model.network.layer_spec}) for PyTorch.\n\n"
        "    import json, torch\n"
        "    from model import build_module\n"
        "    net = build_module(json.load(open('architecture.json'))['steps'])\n"
        "    net.load_state_dict(torch.load('state_dict.pt', weights_only=True))\n"
        "    logits = net.eval()(pixels)  # pixels: float32 (m, 784), 0..255\n"
        "    probabilities = torch.softmax(logits, dim=1)\n\n"
        f"Classes, in output order: {', '.join(model.class_names)}\n"
    )
