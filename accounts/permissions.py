"""API permission classes. Every API view checks the role (Django model permissions) and,
for API-key clients, the key's scopes.

A view declares the scope an API key needs with ``required_scope`` (a string, or a
dict from HTTP method to scope). A view without one cannot be called with an API key.
"""

from __future__ import annotations

from rest_framework import permissions

from accounts import roles
from accounts.models import ApiKey


def _required_scope(request, view) -> str | None:
    scope = getattr(view, "required_scope", None)
    if isinstance(scope, dict):
        return scope.get(request.method) or scope.get("*")
    return scope


def api_key_of(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class HasScope(permissions.BasePermission):
    message = "This API key does not have the scope this endpoint needs."

    def has_permission(self, request, view):
        key = api_key_of(request)
        if key is None:
            return True
        scope = _required_scope(request, view)
        return scope is not None and scope in key.scopes


class IsAuthenticated(permissions.IsAuthenticated):
    """Signed in (session with MFA, JWT or API key) and, for API keys, holding the view's scope."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if not HasScope().has_permission(request, view):
            self.message = HasScope.message
            return False
        return True


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, with the view permission required for reads."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class IsAdministrator(permissions.BasePermission):
    message = "Only Administrators may do this."

    def has_permission(self, request, view):
        return roles.is_administrator(request.user)


class IsOwnerOrAdministrator(permissions.BasePermission):
    """Object-level: users act on their own objects (``obj.user``); Administrators on all."""

    message = "You may only act on your own objects."

    def has_object_permission(self, request, view, obj):
        return obj.user_id == request.user.pk or roles.is_administrator(request.user)
