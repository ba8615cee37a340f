"""Users and API tokens: creating them, checking passwords, issuing and revoking tokens."""
from portal.identity.passwords import hash_password, verify_password
from portal.identity.tokens import (
    authenticate_token,
    find_token,
    hash_secret,
    issue_token,
    revoke_token,
    token_problem,
)
from portal.identity.users import change_role, create_user, find_user_by_email, normalize_email, update_user

__all__ = [
    "authenticate_token", "change_role", "create_user", "find_token", "find_user_by_email",
    "hash_password", "hash_secret", "issue_token", "normalize_email", "revoke_token", "token_problem",
    "update_user", "verify_password",
]
