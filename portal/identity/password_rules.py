"""What makes a password acceptable: long enough, not a known-breached one, not trivially guessable.

Checked offline: `common_passwords.txt` beside this file ships the 5,000 most common leaked passwords. A
password is refused when it is one of them, or one of them with digits or symbols added before or after
("Password123!", "2024sunshine"), the way cracking tools try them first.
"""
import functools
import re
import string
from pathlib import Path

from portal.kernel import errors

MIN_LENGTH = 12
MAX_LENGTH = 1024  # the login form reads no more
MIN_DISTINCT = 5
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
_PADDING = string.digits + string.punctuation + " "
# Runs of keys people type as a "password": the alphabet, digits, keyboard rows and columns (doubled, so a
# run may wrap around: "7890123456789").
_SEQUENCES = [run * 2 for run in (string.ascii_lowercase, "0123456789", "qwertyuiopasdfghjklzxcvbnm",
                                  "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp",
                                  "1q2w3e4r5t6y7u8i9o0p", "q1w2e3r4t5y6u7i8o9p0")]
_REPEATED = re.compile(r"(.+?)\1+", re.DOTALL)


@functools.cache
def common_passwords():
    """Return the shipped list of common passwords, lower-cased, as a frozenset (read once per process)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _is_sequence(text):
    return any(text in run or text[::-1] in run for run in _SEQUENCES)


def problem(password, *, email=None, name=None):
    """Return why `password` may not be used (one short sentence), or None when it may.

    `email` and `name` are the user's: a password that is just one of them is refused too.
    """
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    lowered = password.lower()
    core = lowered.strip(_PADDING)
    personal = {value.lower() for value in (email, (email or "").split("@")[0], name, (name or "").replace(" ", ""))
                if value}
    if lowered in personal or core in personal:
        return "must not be your email address or name"
    if len(set(lowered)) < MIN_DISTINCT:
        return f"must use at least {MIN_DISTINCT} different characters"
    if any(_REPEATED.fullmatch(text) or _is_sequence(text) for text in (lowered, core) if text):
        return "must not be a repeated pattern or a run of keys such as 123456 or qwerty"
    if lowered in common_passwords() or core in common_passwords():
        return "is too common: it appears in lists of leaked passwords"
    return None


def check(password, *, email=None, name=None, field="password"):
    """Raise ValidationError on `field` if `password` may not be used (see `problem`)."""
    reason = problem(password, email=email, name=name)
    if reason is not None:
        raise errors.ValidationError(reason, field=field)
