"""The release and rollback engine: pure planning plus executors over injected AWS clients.

This package is shipped inside the rollback-orchestrator's zip, so it imports only the standard
library and boto3 (never typer, rich, jinja2 or the CLI), and the Lambda runs the same code.
"""
