"""`python -m feedbackctl` runs the CLI."""

from feedbackctl.cli.app import main

main()
