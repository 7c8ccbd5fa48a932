"""The `digitnet` command's entry point: the command line, once it has been imported.

Importing it (numpy, the interfaces) takes a moment; a Ctrl-C in that moment
would print Python's traceback, before `interfaces.cli.main` could say
"interrupted".  So the import happens here, where that is caught too.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as interfaces/cli.py exits after a Ctrl-C


def main() -> int:
    try:
        from digitnet.interfaces.cli import main as command_line
    except KeyboardInterrupt:
        print("digitnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return command_line()
