"""The feedback table's stream consumer."""
