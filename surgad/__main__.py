"""Run the surgad CLI with ``python -m surgad``."""

from surgad import cli

cli.main()
