"""Strict parsing of the API's inputs: query parameters, dates, JSON bodies."""
import datetime as dt
import json
import re

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from portal.api.errors import http_error, validation_error

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


def query_date(name):
    """Parse query parameter `name` as a YYYY-MM-DD date; return None when it is absent."""
    value = request.args.get(name)
    return None if value is None else parse_date(value, name)


def only_query(*allowed):
    """Refuse a query parameter the endpoint does not take, or one given twice (400 naming each).

    A misspelt or misplaced filter (`date` on the transactions list) would otherwise be ignored and answer
    something the client did not ask for; a repeated one would be resolved by a guess.
    """
    problems = {}
    for name, values in request.args.lists():
        if name not in allowed:
            problems[name] = "is not a parameter of this endpoint"
        elif len(values) > 1:
            problems[name] = "must be given once"
    if problems:
        raise validation_error(dict(sorted(problems.items())))


def query_int(name, *, default, low, high):
    """Parse query parameter `name` as a whole number from `low` to `high`; return `default` when it is absent."""
    value = request.args.get(name)
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,4}", value) or not low <= int(value) <= high:
        raise validation_error({name: f"must be an integer from {low} to {high}"})
    return int(value)


def json_object(allowed):
    """Read the request's JSON object; refuse another media type, an oversized, malformed or nested-too-deep body,
    a non-object, a NUL character and fields not in `allowed`.

    Resources call this after authenticating, so an unauthenticated caller's body is never read, let alone parsed.
    """
    if request.mimetype != "application/json":  # parameters such as `; charset=utf-8` are fine
        raise http_error(415)
    try:
        raw = request.get_data(cache=True)  # never past MAX_CONTENT_LENGTH, also when the body is streamed
    except RequestEntityTooLarge:
        raise http_error(413) from None
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # Werkzeug stops reading a streamed (chunked) body at the limit without saying whether more was sent.
        raise http_error(413)
    try:
        body = json.loads(raw, object_pairs_hook=_object_without_repeats)
    except _RepeatedKey as exc:
        raise validation_error({"body": f"has the key {exc.key!r} more than once"}) from None
    except RecursionError:  # the parser recurses once per level of nesting: `[[[[…` would otherwise be a 500
        raise validation_error({"body": "is nested too deeply"}, "The body is nested too deeply.") from None
    except ValueError:  # also bytes that are not UTF-8
        raise validation_error({"body": "must be valid JSON"}, "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise validation_error({"body": "must be a JSON object"})
    # No field has a use for NUL, and PostgreSQL cannot store it in text: refuse it here, not as a 500 there.
    if any("\x00" in text for text in _strings(body)):
        raise validation_error({"body": "must not contain NUL characters"})
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise validation_error(dict.fromkeys(unknown, "is not a known field"))
    return body


class _RepeatedKey(Exception):
    def __init__(self, key):
        super().__init__(key)
        self.key = key[:64]


def _object_without_repeats(pairs):
    """A JSON object as a dict; a key given twice is refused rather than resolved by taking the last one."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        raise _RepeatedKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return result


def _strings(document):
    """Every string in a parsed JSON document, keys included; a loop, not recursion, whatever the nesting."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
