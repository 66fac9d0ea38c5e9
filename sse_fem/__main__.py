"""``python -m sse_fem``: the ``sse-fem`` command."""

import sys

from sse_fem.cli import main

sys.exit(main())
