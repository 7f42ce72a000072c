"""feedbackctl: the operator CLI of the feedback platform (render, deploy, release, observe)."""

__version__ = "0.1.0"
