"""``python -m digitlab`` runs the CLI."""

import sys

from digitlab.cli.main import main

sys.exit(main())
