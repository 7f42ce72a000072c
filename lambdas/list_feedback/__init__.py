"""GET /feedback."""
