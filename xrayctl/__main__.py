"""`python -m xrayctl` runs the command line."""

from xrayctl.cli import console_main

console_main()
