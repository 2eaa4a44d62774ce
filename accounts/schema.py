"""OpenAPI descriptions of our authentication classes and JWT serializers (found by drf-spectacular on import)."""

from django.contrib.auth import get_user_model
from drf_spectacular.contrib.rest_framework_simplejwt import TokenRefreshSerializerExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers


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


def _username_max_length() -> int:
    user_model = get_user_model()
    return user_model._meta.get_field(user_model.USERNAME_FIELD).max_length


class OTPTokenObtainPairScheme(OpenApiSerializerExtension):
    """What the token endpoint takes (credentials and, for staff, a TOTP code) and answers (the token pair).

    The serializer declares only its inputs; drf-spectacular would describe the answer as the inputs again.
    """

    target_class = "accounts.jwt.OTPTokenObtainPairSerializer"

    def map_serializer(self, auto_schema: AutoSchema, direction):
        pair = inline_serializer(
            "TokenObtainPair",
            fields={
                "username": serializers.CharField(write_only=True, max_length=_username_max_length()),
                "password": serializers.CharField(write_only=True),
                "otp": serializers.CharField(
                    write_only=True,
                    required=False,
                    allow_blank=True,
                    max_length=6,
                    help_text="The current TOTP code; staff and users with a device must give it.",
                ),
                "access": serializers.CharField(read_only=True),
                "refresh": serializers.CharField(read_only=True),
            },
        )
        return auto_schema._map_serializer(pair, direction)


class AuditedTokenRefreshScheme(TokenRefreshSerializerExtension):
    """Our refresh serializer answers as simplejwt's does (a new access token and, rotated, a new refresh token)."""

    target_class = "accounts.jwt.AuditedTokenRefreshSerializer"
