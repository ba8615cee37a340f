"""The canonical bytes of an audit event: the one serialisation its chain link is computed over.

Computed in Python when the event is inserted (in the same INSERT) and kept in `audit_events.canonical`, so a
link never depends on how the database renders a value (JSONB reorders keys, a driver may render a timestamp in
its own way). `audit verify` recomputes them from the row's columns and compares: an edited column shows.

Format 1, fixed (a change is a new format number, never an edit of this one):

- a JSON object with one member per field in `FIELDS` (null when empty) plus `"format": 1`;
- keys sorted, no whitespace (separators `,` and `:`), ASCII only (any other character as a `\\uXXXX` escape),
  so the bytes are the same whatever the locale or the database's encoding; NaN and infinities are refused;
- `occurred_at` in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six digits of microseconds);
- `changes` as stored (`{field: [old, new]}`), keys sorted too; a float with an integral value is written as
  the integer (JSONB may give `1e20` back as an integer, and the two must not differ).

Not included: `id` (the database assigns it after the bytes are made; the chain's order is `position`), and
`canonical`, `position` and `link` themselves.
"""
import datetime as dt
import json

FORMAT = 1

FIELDS = (
    "occurred_at", "actor_type", "actor_user_id", "actor_token_id", "actor_app_id", "actor_consent_id",
    "maker_user_id", "correction_request_id", "ip", "user_agent", "request_id", "client_request_id", "action",
    "object_type", "object_id", "subject_user_id", "changes", "reason", "outcome", "refusal_code",
    "refusal_message",
)


def _timestamp(value):
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives back the stored UTC time without its zone
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_PLAIN = frozenset({str, int, bool, type(None)})


def _json_value(value):
    if type(value) in _PLAIN:  # most values: the fast path (verify recomputes this for every event)
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    return value


def canonical_bytes(values):
    """Return the canonical bytes (format 1) of an event given as a mapping of its fields."""
    document = {name: values.get(name) for name in FIELDS}
    document["occurred_at"] = _timestamp(document["occurred_at"])
    document["changes"] = _json_value(document["changes"])
    document["format"] = FORMAT
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")
