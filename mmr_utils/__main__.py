"""``python -m mmr_utils <subcommand>``: see :mod:`mmr_utils.cli`."""

import sys

from mmr_utils.cli import main

sys.exit(main())
