"""`python -m hoso.cli` runs the `hoso` command (as the console script does)."""

from hoso.cli.main import main

main()
