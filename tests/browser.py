"""What the browser tests share: Debian's chromium, a served page, a pen on its pad.

`chromium_or_skip()`, called at a test module's top: the browser's path, or the
module is skipped where none is installed, except under DIGITNET_REQUIRE_BROWSER=1
(as .ci/run sets), where a missing browser fails.  (Playwright's own download fails
here.)  `serving(...)` runs `digitnet serve` on 127.0.0.1 until it answers;
`draw(page, strokes)` draws with the mouse on the page's pad.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


@contextmanager
def serving(arguments: list[str], cwd: Path, ready: str, stop_seconds: float = 20) -> Iterator[str]:
    """`digitnet serve ARGUMENTS` on a free port of 127.0.0.1, run from `cwd`: its URL,
    once GET `ready` answers; stopped by Ctrl-C (SIGINT) afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "digitnet.interfaces.cli", "serve", "--port", str(port),
         *arguments],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + ready).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the server did not start: {server.stderr.read()}")
            time.sleep(0.2)
    try:
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=stop_seconds)


def draw(page, strokes: list[list[tuple[float, float]]]) -> None:
    """Draw `strokes` (points in 0..1 of the pad) with the mouse on the page's #pad."""
    page.locator("#pad").scroll_into_view_if_needed()
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        page.mouse.up()
