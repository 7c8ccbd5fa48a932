"""Ctrl-C and SIGTERM as polite requests: training stops at the next step, never in
the middle of one.

Python normally turns Ctrl-C (SIGINT) into a KeyboardInterrupt wherever the
program happens to be, for example halfway through an optimizer step, with some
layers updated and others not, and SIGTERM (what `timeout`, `kill`, container
stops and notebook kernels send) ends the program on the spot.  During training
we instead record the request and let the loop stop cleanly after the current
batch, so the bookkeeping (the history, the best weights so far) is always
consistent and the best model can be saved.  A second signal stops at once.
The same works in Jupyter, whose "interrupt" sends SIGINT.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    def __init__(self) -> None:
        self.requested = False
        self.signal_number: int | None = None  # which signal asked


@contextmanager
def stop_on_ctrl_c() -> Iterator[StopRequest]:
    """Within this block, Ctrl-C or SIGTERM sets `.requested` instead of stopping the
    program (the first time); a second one raises KeyboardInterrupt."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request  # only the main thread may handle signals
        return

    def handle(signum: int, frame: object) -> None:
        if request.requested:
            raise KeyboardInterrupt  # asked twice: stop now
        request.requested, request.signal_number = True, signum

    previous = {}
    for number in STOP_SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:  # an ignored signal stays ignored
            previous[number] = signal.signal(number, handle)
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
