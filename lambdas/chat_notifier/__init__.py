"""The chat notifier: the notifications topic's messages, posted to a chat's incoming webhook.

`handler.py` is the function's whole code: CloudFormation inlines it (templates/_notifier.yaml.j2),
so it imports only the standard library and the runtime's boto3 (docs/notifications.md).
"""
