"""OpenAPI descriptions of our authentication classes (found by drf-spectacular on import)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: AutoSchema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <prefix>.<secret>`; the key's scopes limit the endpoints it may call.",
        }


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.VerifiedSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: AutoSchema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "Ops console session after MFA."}
