"""``python -m shoprec``: the CLI (used to start child servers with this interpreter)."""

from shoprec.cli import main

main()
