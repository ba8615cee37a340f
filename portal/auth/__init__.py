"""Logging in and out, for customers and staff alike."""
