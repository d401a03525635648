"""`python -m streams.cli`: the `harmony` command."""
import sys

from streams.cli.main import main

sys.exit(main())
