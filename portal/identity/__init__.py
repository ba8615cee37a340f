"""Users, API tokens and the one credential check: who a request acts as, and what it may do."""
from portal.identity.credentials import change_password, end_sessions, log_out, set_password
from portal.identity.passwords import hash_password, verify_password
from portal.identity.principals import Principal, Resolution, authenticate_token, resolve_bearer
from portal.identity.resets import issue_reset, reset_password, usable_reset
from portal.identity.tokens import find_token, hash_secret, issue_token, revoke_token, token_problem
from portal.identity.users import change_role, create_user, find_user_by_email, normalize_email, update_user

__all__ = [
    "Principal", "Resolution", "authenticate_token", "change_password", "change_role", "create_user",
    "end_sessions", "find_token", "find_user_by_email", "hash_password", "hash_secret", "issue_reset",
    "issue_token", "log_out", "normalize_email", "reset_password", "resolve_bearer", "revoke_token",
    "set_password", "token_problem", "update_user", "usable_reset", "verify_password",
]
