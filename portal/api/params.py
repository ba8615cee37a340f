"""Strict parsing of the API's inputs: query parameters, dates, JSON bodies."""
import datetime as dt
import re

from flask import request

from portal import converters
from portal.api.errors import validation_error

# ASCII digits, matched whole: \d takes any script's digits, and "$" matches before a trailing newline.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text, field):
    """Parse YYYY-MM-DD exactly, or raise a validation error naming `field`."""
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise validation_error({field: "must be a date in YYYY-MM-DD format"})
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise validation_error({field: "is not a valid calendar date"}) from None


def parse_uuid(text):
    """Return the UUID `text` spells in canonical form, or None (braces, "urn:uuid:", no hyphens: None)."""
    return converters.parse_uuid(text)


def query_date(name):
    value = request.args.get(name)
    return None if value is None else parse_date(value, name)


def query_int(name, *, default, low, high):
    value = request.args.get(name)
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,4}", value) or not low <= int(value) <= high:
        raise validation_error({name: f"must be an integer from {low} to {high}"})
    return int(value)


def json_object(allowed):
    """Return the request's JSON object; refuse malformed JSON, non-objects and fields not in `allowed`."""
    body = request.get_json(silent=True, force=True)
    if body is None:
        raise validation_error({"body": "must be valid JSON"}, "The body is not valid JSON.")
    if not isinstance(body, dict):
        raise validation_error({"body": "must be a JSON object"})
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise validation_error(dict.fromkeys(unknown, "is not a known field"))
    return body
