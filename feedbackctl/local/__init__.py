"""The local platform: moto as control plane and storage, feedbackctl as data plane (invoke
service, API gateway, stream poller, metrics and alarms, SNS delivery). See docs/local.md.
"""
