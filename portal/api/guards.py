"""The API's own limits on what a request may carry, checked before anything else looks at it.

Registered by portal.create_app right after portal.security's hooks and ahead of the credential check and the
rate limiter, so an oversized request costs neither a token lookup nor an allowance, and is answered in the
envelope (portal.errors hands the API's paths to portal.api.errors).
"""
from flask import request
from werkzeug.exceptions import RequestHeaderFieldsTooLarge, RequestURITooLarge

from portal.api.errors import validation_error

PREFIX = "/api/v1"

# gunicorn answers a longer request line, a bigger header or more headers than its limits itself, in HTML and
# without a request id (deploy/gunicorn.conf.py: 4094, 8190, 100). The API refuses well before those, so a
# client meets its limits in the envelope. No URL or header of the API comes near them.
MAX_URL_BYTES = 2048
MAX_HEADER_BYTES = 4096
MAX_HEADERS = 50


def is_api_path(path):
    """Whether `path` is the API's: its prefix, or a path under it (an unknown one included)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def init_app(app):
    """Refuse an API request over the URL or header limits (414, 431), or with NUL in its query (400)."""
    app.before_request(refuse_oversized_requests)
    app.before_request(refuse_nul_in_query)


def refuse_oversized_requests():
    """Answer an API request whose URL or headers are over the API's limits with 414 or 431."""
    if not is_api_path(request.path):
        return
    environ = request.environ
    # gunicorn's RAW_URI is the request target as sent; PATH_INFO (decoded) and QUERY_STRING where it is absent.
    target = max(len(environ.get("RAW_URI") or ""),
                 len(environ.get("PATH_INFO", "")) + 1 + len(environ.get("QUERY_STRING", "")))
    if target > MAX_URL_BYTES:
        raise RequestURITooLarge()
    headers = list(request.headers.items())
    if len(headers) > MAX_HEADERS or any(len(name) + len(value) > MAX_HEADER_BYTES for name, value in headers):
        raise RequestHeaderFieldsTooLarge()


def refuse_nul_in_query():
    """Answer 400 to an API query string carrying a NUL character (see portal.security.refuse_nul_characters).

    The body is checked where the API reads it (portal.api.params.json_object), after authentication.
    """
    if is_api_path(request.path) and any("\x00" in value for _, values in request.args.lists() for value in values):
        raise validation_error({"query": "must not contain NUL characters"})
