"""Runnable examples of using the bank from outside: not part of the portal package."""
