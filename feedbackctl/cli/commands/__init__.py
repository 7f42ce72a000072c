"""One module per command (or command group); each exposes `register(app)` and has its line in
feedbackctl.cli.catalog (name, module, one-line summary), from which the root lists it.

Modules import their heavy dependencies inside the command body so `--help` stays instant.
"""
