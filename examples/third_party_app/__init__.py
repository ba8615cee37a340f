"""A third-party app connecting with OAuth 2.0; run client.py (see README.md)."""
