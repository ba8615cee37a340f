"""Password hashing with Argon2id (memory-hard), via argon2-cffi."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_strong = PasswordHasher()  # argon2-cffi's defaults follow RFC 9106's recommendation
_fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # the test suite only: same code path, cheap

# Verified against when no user matches, so an unknown email costs as much time as a wrong password.
_DUMMY_HASH = _strong.hash("not a real password")


def _hasher():
    return _fast if current_app.config.get("PASSWORD_HASH_FAST") else _strong


def hash_password(password):
    """Return an Argon2id hash of `password`."""
    return _hasher().hash(password)


def verify_password(password_hash, password):
    """Whether `password` matches `password_hash`; with no hash, spend the same time and say no."""
    try:
        return _hasher().verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
