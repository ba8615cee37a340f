"""The API's one error envelope, and the translation of every failure into it.

`{"code", "message", "errors" (validation only), "request_id"}`, whatever went wrong: a refusal of the
domain, an HTTP error raised by Flask, Werkzeug or Flask-RESTX, a rate limit, or an unexpected exception
(logged with the request id; the client sees no internals).
"""
import logging

from flask import jsonify
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from portal import unit_of_work
from portal.database import is_unavailable
from portal.errors import seconds_until_reset
from portal.ledger import LedgerError
from portal.ledger import ValidationError as LedgerValidationError
from portal.observability import current_request_id

log = logging.getLogger("portal.api")

ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message", "request_id"],
    "properties": {
        "code": {"type": "string", "example": "insufficient_funds"},
        "message": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "validation errors only: a message per field"},
        "request_id": {"type": "string"},
    },
}

# Codes of HTTP errors raised outside our code (routing, Werkzeug, Flask-RESTX).
HTTP_CODES = {400: "validation_error", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large", 414: "uri_too_long",
              415: "unsupported_media_type", 429: "rate_limited", 431: "headers_too_large"}

MESSAGES = {401: "A valid bearer token is required.", 403: "The token does not allow this.",
            404: "Not found.", 405: "Method not allowed.", 413: "The request body is larger than the API accepts.",
            414: "The URL is longer than the API accepts.",
            415: "The body must be JSON, sent with Content-Type: application/json.",
            429: "Too many requests; slow down.", 431: "The request's headers are larger than the API accepts."}
# The one resource with more than one media type says which it has (a 406 of the statement endpoint).
STATEMENT_NOT_ACCEPTABLE = "A statement is available as application/json, text/csv or application/pdf."


class ApiError(Exception):
    """An error to answer with the envelope."""

    def __init__(self, status, code, message, errors=None, headers=None):
        """Keep the status, code and message to answer with, and any per-field errors and extra headers."""
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors, self.headers = errors, headers or {}


def not_found(what="account"):
    """Build the 404 error for a `what` (an account unless told) that does not exist or is not the caller's."""
    return ApiError(404, "not_found", f"No such {what}.")


def validation_error(errors, message="The request is not valid."):
    """Build the 400 error carrying a message per invalid field."""
    return ApiError(400, "validation_error", message, errors=errors)


def http_error(status):
    """The envelope's error for an HTTP status the API raises itself (413, 415)."""
    return ApiError(status, HTTP_CODES[status], MESSAGES[status])


def from_ledger_error(exc):
    """400 for invalid input, 409 for a valid request the current state refuses."""
    if isinstance(exc, LedgerValidationError):
        return validation_error({exc.field or "request": exc.message}, exc.message)
    return ApiError(409, exc.code, exc.message)


def envelope(error):
    """Render `error` as the JSON envelope, with its status, its headers and the request id."""
    body = {"code": error.code, "message": error.message}
    if error.errors is not None:
        body["errors"] = error.errors
    body["request_id"] = current_request_id()
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def to_api_error(exc):
    """Translate any exception into an ApiError, logging the unexpected ones."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, LedgerError):
        return from_ledger_error(exc)
    if isinstance(exc, RateLimitExceeded):
        return ApiError(429, "rate_limited", f"Rate limit exceeded ({exc.description}).",
                        headers={"Retry-After": str(seconds_until_reset())})
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        code = HTTP_CODES.get(status, "internal_error" if status >= 500 else "http_error")
        message = MESSAGES.get(status) or "The request is not valid."
        headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else {}
        errors = {"body": "is not valid JSON"} if status == 400 else None
        return ApiError(status, code, message, errors=errors, headers=headers)
    if is_unavailable(exc):
        log.error("database unavailable", exc_info=exc, extra={"fields": {"request_id": current_request_id()}})
        return ApiError(503, "service_unavailable", "The service is briefly unavailable; retry shortly.",
                        headers={"Retry-After": "1"})
    log.error("unhandled error", exc_info=exc, extra={"fields": {"request_id": current_request_id()}})
    return ApiError(500, "internal_error", "Something went wrong on our side; the request id identifies it.")


def error_response(exc):
    """Answer `exc` with the envelope; the request's work is rolled back (its refusal records are kept)."""
    unit_of_work.fail()
    return envelope(to_api_error(exc))
