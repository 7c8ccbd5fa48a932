"""Ctrl-C as a polite request: training stops at the next step, never in the middle of one.

Python normally turns Ctrl-C (SIGINT) into a KeyboardInterrupt wherever the
program happens to be, for example halfway through an optimizer step, with some
layers updated and others not.  During training we instead record the request
and let the loop stop cleanly after the current batch, so the bookkeeping (the
history, the best weights so far) is always consistent.  A second Ctrl-C stops
at once.  The same works in Jupyter, whose "interrupt" sends SIGINT.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StopRequest:
    def __init__(self) -> None:
        self.requested = False


@contextmanager
def stop_on_ctrl_c() -> Iterator[StopRequest]:
    """Within this block, Ctrl-C sets `.requested` instead of raising (the first time)."""
    request = StopRequest()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if in_main_thread else None
    if previous in (None, signal.SIG_IGN):  # not ours to handle (thread, or Ctrl-C ignored)
        yield request
        return

    def handle(signum: int, frame: object) -> None:
        if request.requested:
            raise KeyboardInterrupt  # asked twice: stop now
        request.requested = True

    signal.signal(signal.SIGINT, handle)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)
