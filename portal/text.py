r"""The characters free text (names, descriptions, reasons) may hold, and making any text storable.

Refused everywhere:
- control characters (Unicode category Cc: C0, DEL, C1): an ANSI escape recolours or rewrites the terminal of
  whoever reads the logs, a CSV export or `psql` output; NUL cannot be stored in PostgreSQL text at all;
- the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): "invoice \u202egnp.exe"
  displays as "invoice exe.png" (the "Trojan Source" trick, CVE-2021-42574). The direction *marks* (U+200E,
  U+200F, U+061C) stay allowed: Hebrew and Arabic text needs them, and they cannot reorder a run of text;
- lone surrogates (category Cs): not text at all, and no database can encode them. JSON's "\ud800" and a
  command-line argument that is not UTF-8 (Python's surrogateescape) both produce them.
One-line fields (names, descriptions) also refuse line breaks, tabs included: they are shown in one table cell
and one log line. Multi-line fields (reasons) keep newlines and tabs, with a textarea's CRLF read as LF.
"""
import re

_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
_NOT_IN_A_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI_CONTROLS}{_SURROGATES}]")
_NOT_IN_A_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_CONTROLS}{_SURROGATES}]")
_UNSTORABLE = re.compile(f"[\x00{_SURROGATES}]")


def problem(text, *, multiline=False):
    """Say what is wrong with the characters of `text` (a str), or return None when there is nothing."""
    found = (_NOT_IN_A_TEXT if multiline else _NOT_IN_A_LINE).search(text)
    if found is None:
        return None
    if "\ud800" <= found.group() <= "\udfff":
        return "must be valid Unicode text"
    if multiline:
        return "must not contain control or text-direction characters"
    return "must be one line, without control or text-direction characters"


def normalise_line_ends(text):
    """CRLF and lone CR become LF: what a browser's textarea sends is the same text as what a shell sends."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def storable(text):
    r"""`text` with what no database can store (NUL, lone surrogates) spelled as escapes, e.g. "\ud800".

    For the audit log, which records refused input too: the record of a refusal must not fail to be written.
    """
    if not isinstance(text, str) or _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


# A spreadsheet runs a cell that starts with one of these; prefixing a quote makes it text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal number (a negative amount) is a number to a spreadsheet, not a formula: it stays as it is.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralise_formula(value):
    """Make a CSV cell safe to open in a spreadsheet (no formula injection); plain numbers stay numbers.

    Shared by every CSV the bank writes: the back-office exports and the statements.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
