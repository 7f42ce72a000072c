"""CloudWatch alarm → SNS → automatic rollback."""
