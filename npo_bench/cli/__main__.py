"""``python -m npo_bench.cli`` is ``npo-bench``."""

import sys

from npo_bench.cli import main

sys.exit(main())
