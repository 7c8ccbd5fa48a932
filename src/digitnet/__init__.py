"""digitnet: a handwritten-digit neural network in plain numpy.

From a notebook:

    import digitnet
    model = digitnet.train("fast", data="sample")      # or a Kaggle train.csv
    model = digitnet.train("fast", epochs=5, verbose=False)  # quietly
    digitnet.save_model(model, "model.npz")
    test = digitnet.load_data("test.csv", need_labels=False)
    digitnet.write_submission("submission.csv", model.predict(test.images))
    model.predict(digitnet.read_digit_image("photo.jpg"))  # a photo or a drawing
    digitnet.export_model(model, "model.onnx")          # or .pt2, a folder/, page.html
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Imported on first use (PEP 562), so that `import digitnet.network` loads the
# textbook network alone, without the data, training and interface packages.
_HOMES = {
    "DEFAULT_RECIPE": "digitnet.recipes",
    "Dataset": "digitnet.data",
    "DigitClassifier": "digitnet.interfaces.classifier",
    "DigitnetError": "digitnet.errors",
    "export_model": "digitnet.interfaces.export",
    "Model": "digitnet.model",
    "Network": "digitnet.network",
    "RECIPES": "digitnet.recipes",
    "Recipe": "digitnet.recipes",
    "get_recipe": "digitnet.recipes",
    "load_data": "digitnet.data",
    "load_model": "digitnet.model_file",
    "pixel_rows": "digitnet.model",
    "read_digit_image": "digitnet.data.image_file",
    "read_kaggle_csv": "digitnet.data",
    "save_model": "digitnet.model_file",
    "train": "digitnet.api",
    "write_submission": "digitnet.data",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:  # a subpackage, as `digitnet.recipes.run`
        try:
            return importlib.import_module(f"digitnet.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module 'digitnet' has no attribute '{name}'") from None
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})  # once each, loaded or not


__all__ = [
    "DEFAULT_RECIPE",
    "Dataset",
    "DigitClassifier",
    "DigitnetError",
    "Model",
    "Network",
    "RECIPES",
    "Recipe",
    "export_model",
    "load_data",
    "load_model",
    "read_digit_image",
    "read_kaggle_csv",
    "save_model",
    "train",
    "write_submission",
]
