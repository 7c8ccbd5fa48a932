"""Debian's chromium for the browser tests (Playwright's own download fails here).

`chromium_or_skip()`, called at a test module's top: the browser's path, or the
module is skipped where none is installed, except under DIGITNET_REQUIRE_BROWSER=1
(as .ci/run sets), where a missing browser fails.
"""

from __future__ import annotations

import os
import shutil

import pytest


def chromium_or_skip() -> str:
    found = (
        os.environ.get("DIGITNET_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if found is None:
        if os.environ.get("DIGITNET_REQUIRE_BROWSER") == "1":
            pytest.fail("no chromium found (apt-get install chromium)", pytrace=False)
        pytest.skip("no chromium found (apt-get install chromium)", allow_module_level=True)
    return found
