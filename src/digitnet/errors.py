"""The one exception type that reaches users.

Anything a user can cause (a malformed CSV, a truncated model file, a missing
path) is raised as `DigitnetError` with a message that names the file and the
problem in one line.  The command line prints that line and exits with status 2;
Python callers can catch it.  Every other exception is a bug in digitnet.
"""

from __future__ import annotations


class DigitnetError(Exception):
    """A problem with the user's input, described in one line."""


class DownloadError(DigitnetError):
    """A named dataset could not be fetched (offline, mirrors down, bad checksums)."""


class TrainingDiverged(DigitnetError):
    """The loss became NaN or infinite: the steps were too large for the network
    (a learning rate too high, or layers that amplify without bound)."""
