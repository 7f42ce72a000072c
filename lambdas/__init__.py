"""The platform's Lambda functions; each `lambdas/<name>/handler.py` exposes `lambda_handler`."""
