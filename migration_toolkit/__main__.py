"""`python -m migration_toolkit ...`: the toolkit's own commands (cli.py)."""

from migration_toolkit.cli import main

raise SystemExit(main())
