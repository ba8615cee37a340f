"""IBAN-style account numbers with ISO 7064 mod-97-10 check digits."""
import re
import secrets

COUNTRY = "FI"
BANK_CODE = "4242"  # a made-up bank identifier; 10 account digits follow it


def _as_digits(text):
    """Letters become two-digit numbers (A=10 … Z=35), as ISO 13616 prescribes."""
    return "".join(str(int(ch, 36)) for ch in text)


def check_digits(country, bban):
    """Return the two check digits that make `country` + digits + `bban` valid under mod 97."""
    return f"{98 - int(_as_digits(bban + country + '00')) % 97:02d}"


def is_valid(number):
    """Whether `number` (spaces and case ignored) is IBAN-shaped with valid mod-97 check digits."""
    compact = normalize(number)
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", compact):
        return False
    return int(_as_digits(compact[4:] + compact[:4])) % 97 == 1


def normalize(number):
    """Strip spaces and upper-case, so "fi21 4242 …" finds "FI214242…"."""
    return re.sub(r"\s+", "", number or "").upper()


def generate():
    """Return a new random account number with valid check digits."""
    bban = BANK_CODE + f"{secrets.randbelow(10**10):010d}"
    return COUNTRY + check_digits(COUNTRY, bban) + bban


def display(number):
    """Group in fours for people: "FI21 4242 0000 0000 01"."""
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))
