"""URL converters shared by every blueprint."""
from werkzeug.routing import IntegerConverter

from portal.database import MAX_INTEGER


class RowIdConverter(IntegerConverter):
    """`<id:name>`: a positive whole number that fits an INTEGER primary key (users.id, api_tokens.id).

    A larger number names nothing, so it is a 404 at routing, before any query.
    """

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_INTEGER)


def init_app(app):
    app.url_map.converters["id"] = RowIdConverter
