"""The OpenAPI description of what every API operation can answer besides success: the one error shape.

drf-spectacular describes the successful responses a view declares. Errors come from
:func:`core.api.exception_handler`, the rate limiter and the lockout, all in one JSON shape; this
post-processing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) adds them to every operation,
so an endpoint added later is described with them too. A view documents errors of its own with
``extend_schema(responses={409: OpenApiResponse(description="...")})``: its description is kept, and an
error response declared without a body gets the error shape.
"""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "Error"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every API error: a machine-readable code, a message for people and the request's correlation id.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "e.g. invalid, not_authenticated, permission_denied"},
                "message": {"type": "string"},
                "correlation_id": {"type": "string", "nullable": True},
                "details": {"description": "Per-field messages for a request that is not valid, when there are any."},
            },
            "required": ["code", "message", "correlation_id"],
        }
    },
    "required": ["error"],
}

UNAUTHENTICATED = "Not signed in, or the credentials (API key, token, password) are not valid."
FORBIDDEN = "Signed in, but the role or the API key's scopes do not allow this."
INVALID = "The request is not valid; `details` says why, field by field."
UNSUPPORTED_MEDIA_TYPE = "The body is in a media type this operation does not accept."
NOT_FOUND = "There is no such object, or it is not yours to see."
TOO_MANY_REQUESTS = "Too many requests, or too many failed sign-ins; `Retry-After` says when to try again."

_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
    }


def errors_of(path: str, operation: dict[str, Any]) -> dict[str, str]:
    """The error statuses an operation can answer, each with what it means."""
    errors = {"401": UNAUTHENTICATED, "429": TOO_MANY_REQUESTS}
    if operation.get("security"):
        errors["403"] = FORBIDDEN
    takes_query = any(parameter.get("in") == "query" for parameter in operation.get("parameters", []))
    if operation.get("requestBody") or takes_query:
        errors["400"] = INVALID
    if operation.get("requestBody"):
        errors["415"] = UNSUPPORTED_MEDIA_TYPE
    if "{" in path:
        errors["404"] = NOT_FOUND
    return errors


def document_errors(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in errors_of(path, operation).items():
                responses.setdefault(status, error_response(description))
            for status, response in responses.items():
                if str(status)[:1] in ("4", "5") and not response.get("content"):
                    response["content"] = error_response("")["content"]
    return result
