"""``python -m scicmr.cli``: the ``scicmr`` command."""

import sys

from scicmr.cli import main

sys.exit(main())
