"""Accounts API: who am I, the audit log (Administrators), and API-key management (owners)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import api_keys, roles
from accounts.models import ApiKey, AuditEvent
from accounts.permissions import IsAdministrator, IsAuthenticated, IsOwnerOrAdministrator, api_key_of
from core.errors import ValidationError
from core.moments import parse_moment
from core.pagination import LimitOffsetPagination


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_staff = serializers.BooleanField()
    roles = serializers.ListField(child=serializers.CharField())
    auth = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField(), allow_null=True)


class MeView(APIView):
    required_scope = "me:read"

    @extend_schema(responses=MeOutput)
    def get(self, request):
        key = api_key_of(request)
        if key is not None:
            auth = "api_key"
        elif request.auth is not None:
            auth = "jwt"
        else:
            auth = "session"
        user = request.user
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "is_staff": user.is_staff,
            "roles": roles.user_roles(user),
            "auth": auth,
            "scopes": key.scopes if key else None,
        }
        return Response(MeOutput(data).data)


class AuditEventOutput(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_username",
            "action",
            "target",
            "ip_address",
            "user_agent",
            "correlation_id",
            "details",
        ]


class AuditEventPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("action", str, enum=AuditEvent.Action.values, description="Only events of this action."),
            OpenApiParameter("actor", str, description="Only events by this username."),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Only events at or after this moment."),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Only events before this moment."),
        ]
    )
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log, newest first; filter with ``action``, ``actor`` (username), ``since`` and ``until``."""

    serializer_class = AuditEventOutput
    pagination_class = AuditEventPagination
    permission_classes = [IsAuthenticated, IsAdministrator]
    required_scope = "audit:read"

    def get_queryset(self):
        qs = AuditEvent.objects.all()
        params = self.request.query_params
        # A filter that is given is applied, even empty: "?action=" is an unknown action, not "any action".
        if (action_name := _single(params, "action")) is not None:
            if action_name not in AuditEvent.Action.values:
                raise ValidationError("unknown action", details={"action": [f"unknown action {action_name!r}"]})
            qs = qs.filter(action=action_name)
        if (actor := _single(params, "actor")) is not None:
            qs = qs.filter(actor_username=actor)
        for name, lookup in (("since", "created_at__gte"), ("until", "created_at__lt")):
            if (raw := _single(params, name)) is not None:
                qs = qs.filter(**{lookup: _moment(name, raw)})
        return qs


def _single(params, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise ValidationError(f"{name} is given more than once", details={name: ["Give it once."]})
    return values[0] if values else None


def _moment(name: str, raw: str) -> datetime:
    moment = parse_moment(raw, naive_zone=timezone.get_current_timezone())
    if moment is None:
        raise ValidationError("bad date", details={name: ["expected an ISO 8601 date-time"]})
    return moment


class ApiKeyOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="user.username", read_only=True)
    status = serializers.CharField(read_only=True)
    replaced_by = serializers.CharField(source="replaced_by.prefix", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "owner",
            "scopes",
            "status",
            "created_at",
            "expires_at",
            "last_used_at",
            "rotated_at",
            "revoked_at",
            "replaced_by",
        ]


class IssuedKeyOutput(ApiKeyOutput):
    key = serializers.SerializerMethodField()

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key"]

    def get_key(self, obj) -> str:
        return self.context["plaintext"]


class ApiKeyCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=sorted(api_keys.SCOPES)), min_length=1)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    # Administrators may issue a key for another user.
    owner = serializers.CharField(required=False, max_length=150)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your API keys (Administrators see everyone's). The full key appears only in the create/rotate response.

    Managing keys needs a signed-in person: an API key cannot mint or revoke keys.
    """

    serializer_class = ApiKeyOutput
    permission_classes = [IsAuthenticated, IsOwnerOrAdministrator]
    # For the schema only; requests use get_queryset, which applies the owner rule.
    queryset = ApiKey.objects.none()

    def get_queryset(self):
        qs = ApiKey.objects.select_related("user", "replaced_by")
        if roles.is_administrator(self.request.user):
            return qs
        return qs.filter(user=self.request.user)

    @extend_schema(request=ApiKeyCreateInput, responses={201: IssuedKeyOutput})
    def create(self, request):
        data = ApiKeyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        owner = request.user
        if data.validated_data.get("owner") and data.validated_data["owner"] != request.user.get_username():
            if not roles.is_administrator(request.user):
                raise exceptions.PermissionDenied("Only Administrators may issue keys for other users.")
            owner = get_user_model().objects.filter(username=data.validated_data["owner"]).first()
            if owner is None:
                raise ValidationError("unknown owner", details={"owner": ["no such user"]})
        issued = api_keys.api_key_create(
            user=owner,
            name=data.validated_data["name"],
            scopes=data.validated_data["scopes"],
            expires_at=data.validated_data.get("expires_at"),
            actor=request.user,
            request=request,
        )
        body = IssuedKeyOutput(issued.api_key, context={"plaintext": issued.plaintext}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ApiKeyOutput})
    def destroy(self, request, pk=None):
        key = api_keys.api_key_revoke(api_key=self.get_object(), actor=request.user, request=request)
        return Response(ApiKeyOutput(key).data)

    @extend_schema(request=None, responses={201: IssuedKeyOutput})
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        issued = api_keys.api_key_rotate(api_key=self.get_object(), actor=request.user, request=request)
        body = IssuedKeyOutput(issued.api_key, context={"plaintext": issued.plaintext}).data
        return Response(body, status=status.HTTP_201_CREATED)


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI for signed-in (MFA-verified) staff; everyone else is sent to the login page."""

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
