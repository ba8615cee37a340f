"""OAuth 2.0 authorization server tests."""
