"""The photo preprocessing as it was before scipy.ndimage (for side-by-side runs).

`old_digit_photo()` loads `src/digitnet/data/digit_photo.py` from a git revision of
this repository (by default the last one with the hand-written numpy version) as a
module of its own, so that one run can time or compare the old code and the new.
"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

BEFORE = "6462949"  # the last commit of the hand-written digit_photo.py (on main)
ROOT = Path(__file__).resolve().parent.parent


def old_digit_photo(revision: str = BEFORE) -> types.ModuleType:
    """digit_photo.py as it was at `revision`, imported as `digit_photo_before`."""
    source = subprocess.run(
        ["git", "show", f"{revision}:src/digitnet/data/digit_photo.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    module = types.ModuleType("digit_photo_before")
    module.__file__ = f"{revision}:src/digitnet/data/digit_photo.py"
    sys.modules[module.__name__] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # our own repository's code
    return module


def photo_fakes() -> types.ModuleType:
    """tests/photo_fakes.py: the test photos, made from the bundled sample's digits."""
    sys.path.insert(0, str(ROOT / "tests"))
    import photo_fakes

    return photo_fakes
