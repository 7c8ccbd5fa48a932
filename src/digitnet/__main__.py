"""`python -m digitnet` is the `digitnet` command."""

import sys

from digitnet.command import main

sys.exit(main())
