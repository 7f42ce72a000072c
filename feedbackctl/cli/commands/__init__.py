"""One module per command (or command group); each exposes `register(app)`.

Modules import their heavy dependencies inside the command body so `--help` stays instant.
"""
