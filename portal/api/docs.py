"""Helpers that keep the OpenAPI document complete: every operation declares its errors and security."""
from portal.api.errors import ERROR_SCHEMA

ERROR_DESCRIPTIONS = {
    400: "validation_error: malformed JSON, unknown or bad fields or query parameters",
    401: "unauthorized: missing, malformed, unknown, expired or revoked token",
    403: "forbidden: the token lacks the scope",
    404: "not_found: no such account or transaction, or not granted to this token",
    406: "not_acceptable: the Accept header allows none of the media types the operation produces",
    409: "insufficient_funds, account_frozen, account_closed or idempotency_conflict",
    413: "payload_too_large: a body over the limit (MAX_CONTENT_LENGTH)",
    414: "uri_too_long: a URL over 2048 bytes",
    415: "unsupported_media_type: a body not sent as application/json",
    429: "rate_limited: per token over all endpoints, or per address without a usable token; see Retry-After",
    431: "headers_too_large: a header over 4096 bytes, or more than 50 headers",
    500: "internal_error",
    503: "service_unavailable: the database is briefly unreachable; retry",
}


def nullable(schema):
    """Mark a property as possibly null (Swagger 2.0 has only the x-nullable extension for it)."""
    return {**schema, "x-nullable": True}


def documented(ns, status, model, *, errors=(), description="Success", headers=None):
    """Declare a success response and the given error responses (plus 414, 429, 431 and 500: any call can get them)."""
    error_model = ns.schema_model("Error", ERROR_SCHEMA)

    def decorator(method):
        method = ns.response(status, description, model, headers=headers)(method)
        for code in sorted({*errors, 414, 429, 431, 500}):
            method = ns.response(code, ERROR_DESCRIPTIONS[code], error_model)(method)
        return method
    return decorator
