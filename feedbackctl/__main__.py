"""`python -m feedbackctl` runs the CLI."""

from feedbackctl.cli.entry import main

main()
