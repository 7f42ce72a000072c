"""Code shared by every function: responses, validation, logging, config, sentiment, DynamoDB."""
