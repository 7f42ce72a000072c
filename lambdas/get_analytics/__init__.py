"""GET /analytics."""
