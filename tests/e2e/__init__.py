"""End-to-end tests: the local platform and the web app in a real browser."""
