"""`python -m digitnet` is the `digitnet` command."""

import sys

from digitnet.interfaces.cli import main

sys.exit(main())
