"""What drf-spectacular cannot infer: the key scheme, and the error shape on every operation."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "Stable, for programs."},
                "message": {"type": "string", "description": "A sentence, for people."},
                "details": {
                    "description": "Per-field problems, or retry_after (seconds) when throttled.",
                    "oneOf": [{"type": "object"}, {"type": "array"}],
                },
            },
        }
    },
}
ERRORS = {
    "400": "The request is not valid (see details).",
    "401": "No API key, or an unknown or revoked one.",
    "403": "The key lacks the scope this endpoint needs.",
    "404": "No such resource.",
    "405": "The method is not allowed here.",
    "406": "The requested media type cannot be served.",
    "409": "The resource's state does not allow this (e.g. already closed).",
    "415": "The body's media type is not supported.",
    "429": "Too many requests for this key: retry after details.retry_after seconds.",
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "chatbot.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from the admin (API keys): `Authorization: Bearer KEY`.",
        }


def add_error_responses(result, generator, request, public):
    """Every operation may answer with the one error shape; document each such status."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status_code, description in ERRORS.items():
                responses.setdefault(
                    status_code, {"description": description, "content": reference}
                )
    return result
