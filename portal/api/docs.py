"""Helpers that keep the OpenAPI document complete: every operation declares its errors and security."""
from portal.api.errors import ERROR_SCHEMA, MESSAGES, STATEMENT_NOT_ACCEPTABLE

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

# The body each documented error status really answers with (409: the commonest of its four codes). Swagger UI
# shows a response's own example before the schema's, so each error reads with its code rather than the Error
# model's one example for all of them.
EXAMPLE_REQUEST_ID = "7f3b9c2e51d84a6b9e0c4d2a18f6b350"
ERROR_EXAMPLES = {
    400: {"code": "validation_error", "message": "must not be zero", "errors": {"amount": "must not be zero"}},
    401: {"code": "unauthorized", "message": MESSAGES[401]},
    403: {"code": "forbidden", "message": MESSAGES[403]},
    404: {"code": "not_found", "message": "No such account."},
    406: {"code": "not_acceptable", "message": STATEMENT_NOT_ACCEPTABLE},
    409: {"code": "insufficient_funds", "message": "The account's balance would go below zero."},
    413: {"code": "payload_too_large", "message": MESSAGES[413]},
    414: {"code": "uri_too_long", "message": MESSAGES[414]},
    415: {"code": "unsupported_media_type", "message": MESSAGES[415]},
    429: {"code": "rate_limited", "message": "Rate limit exceeded (120 per 1 minute)."},
    431: {"code": "headers_too_large", "message": MESSAGES[431]},
    500: {"code": "internal_error", "message": "Something went wrong on our side; the request id identifies it."},
    503: {"code": "service_unavailable", "message": "The service is briefly unavailable; retry shortly."},
}


def with_error_examples(paths):
    """Return the document's paths with each documented error response showing the body its status carries.

    Flask-RESTX has no way to give a response an example, so the finished document gets them.
    """
    return {path: {method: with_examples(operation) if isinstance(operation, dict) and "responses" in operation
                   else operation for method, operation in operations.items()}
            for path, operations in paths.items()}


def with_examples(operation):
    """Return the operation with an example body on every error response it documents."""
    responses = {}
    for status, response in operation["responses"].items():
        example = ERROR_EXAMPLES.get(int(status))
        if example is not None:
            body = {**example, "request_id": EXAMPLE_REQUEST_ID}
            response = {**response, "examples": {"application/json": body}}
        responses[status] = response
    return {**operation, "responses": responses}


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
