"""`python -m xrayctl` runs the command line."""

from xrayctl.cli import main

main()
