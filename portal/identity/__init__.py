"""Users and API tokens: creating them, checking passwords, issuing and revoking tokens."""
from portal.identity.passwords import hash_password, verify_password
from portal.identity.tokens import authenticate_token, hash_secret, issue_token, revoke_token
from portal.identity.users import create_user, find_user_by_email, normalize_email

__all__ = [
    "authenticate_token", "create_user", "find_user_by_email", "hash_password", "hash_secret", "issue_token",
    "normalize_email", "revoke_token", "verify_password",
]
