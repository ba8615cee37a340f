"""URL converters shared by every blueprint."""
from werkzeug.routing import IntegerConverter

# users.id and api_tokens.id are INTEGER columns: a larger number in a URL names nothing (and PostgreSQL would
# refuse the comparison), so it is a 404 at routing, before any query.
MAX_INTEGER_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """`<id:name>`: a positive whole number that fits an INTEGER primary key."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_INTEGER_ID)


def init_app(app):
    app.url_map.converters["id"] = RowIdConverter
