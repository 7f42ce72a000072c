"""One module per command (or command group); each exposes `register(app)` and has its line in
feedbackctl.cli.catalog (name, module, one-line summary), from which the root lists it. A
command with a flow of its own is a package: its `__init__` registers it, and beside it
`run.py` holds the flow and `views.py` the renderers, so the whole command is in one place.

Modules import their heavy dependencies inside the command body so `--help` stays instant.
"""
