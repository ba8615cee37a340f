"""Identifiers from URLs, query strings and bodies, read one strict way by every door."""
import re
import uuid

from werkzeug.routing import IntegerConverter

from portal.database import MAX_INTEGER, largest_value

# The canonical 8-4-4-4-12 form only (either case, as RFC 4122 allows): no braces, no "urn:uuid:", no missing
# or extra hyphens, nothing around it. The same form Werkzeug's <uuid:…> converter takes in a path.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# ASCII digits only: \d and str.isdigit() also take "٣" or "²", which int() then reads (or chokes on).
_ROW_ID = re.compile(r"[0-9]{1,19}")


def parse_uuid(text):
    """Return the UUID `text` spells in canonical form, or None for anything else."""
    if not isinstance(text, str) or not _UUID.fullmatch(text):
        return None
    return uuid.UUID(text)


def parse_row_id(text, column):
    """Return `text` as a positive whole number that integer `column` can hold, or None for anything else."""
    if not isinstance(text, str) or not _ROW_ID.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= largest_value(column) else None


class RowIdConverter(IntegerConverter):
    """`<id:name>`: a positive whole number that fits an INTEGER primary key (users.id, api_tokens.id).

    A larger number names nothing, so it is a 404 at routing, before any query.
    """

    def __init__(self, url_map):
        """Accept only whole numbers from 1 to the largest INTEGER."""
        super().__init__(url_map, min=1, max=MAX_INTEGER)


def init_app(app):
    """Register the `id` URL converter."""
    app.url_map.converters["id"] = RowIdConverter
