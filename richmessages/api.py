"""The template library under ``/api/v1/rich-templates/``: upload, list, read, approve.

Reads need ``view_richtemplate`` (API keys: ``richmessages:read``); uploads ``add_richtemplate``
and approvals ``approve_richtemplate`` (API keys: ``richmessages:write``). Errors have the one
API error shape; a self-approval is a 403 ``permission_denied``.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.permissions import IsAuthenticated, ModelPermissions
from core.pagination import LimitOffsetPagination
from richmessages import backgrounds, hosting, selectors, services
from richmessages.metadata import BUTTONS, FIELDS, UPSTREAM_FIELDS
from richmessages.models import RichTemplate, RichTemplateVersion

_METADATA_HELP = (
    "Optional JSON object, sent as a string. Either our field names "
    f"({', '.join(FIELDS)}) or one entry of the upstream bot's metadata.json "
    f"({', '.join(UPSTREAM_FIELDS)}; text_areas.primary is the title area, text_areas.secondary the body "
    "area, energy_level and content_type are not kept). A text area is an object with x, y, width, height "
    "(pixels of the image; the box must lie inside it) and optionally font_min, font_max, color (#RRGGBB), "
    "line_height, overlay_color, overlay_opacity, stroke_width, stroke_color, shadow. Missing fields get "
    f"defaults. buttons is a list of some of {', '.join(BUTTONS)}; curated_copy maps a language code to "
    '{"title": ..., "body": ...}.'
)


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "The request is not valid; details name each field.",
        401: "Not signed in.",
        403: "Not allowed (role, API-key scope, or approving one's own version).",
        404: "No such template.",
        409: "The template or version is not in a state that allows this.",
        415: "The request body is not of a supported media type.",
    }
    # core.api_schema gives each one the API's error shape.
    return {code: OpenApiResponse(description=descriptions[code]) for code in codes}


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """A file part of a multipart request (described as binary, not as a URL)."""


class RichTemplateCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=services.NAME_MAX_CHARS)
    slug = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=services.SLUG_MAX_CHARS,
        help_text="Lower-case letters, digits, hyphens, underscores; made from the name when left out.",
    )
    image = UploadField(
        help_text=(
            f"The background: JPEG or PNG (judged by content), at most {backgrounds.MAX_BYTES} bytes, each side "
            f"{backgrounds.MIN_SIDE} to {backgrounds.MAX_SIDE} pixels."
        )
    )
    metadata = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, help_text=_METADATA_HELP)


class RichTemplateApproveInput(serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2_147_483_647,
        help_text="The version number to approve; the newest version when left out.",
    )


class RichTemplateOutput(serializers.Serializer):
    """A template with the content of its newest version."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    version = serializers.IntegerField(help_text="Number of the newest version.")
    status = serializers.ChoiceField(choices=RichTemplateVersion.Status.choices, help_text="Of the newest version.")
    approved_version = serializers.IntegerField(
        allow_null=True, help_text="Number of the approved version: the one new messages are built from."
    )
    image_url = serializers.URLField(help_text="Public, permanent URL of the newest version's background.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    theme = serializers.CharField(allow_blank=True)
    mood = serializers.CharField(allow_blank=True)
    best_for = serializers.ListField(child=serializers.CharField())
    times_of_day = serializers.ListField(child=serializers.CharField())
    title_area = serializers.DictField()
    body_area = serializers.DictField()
    title_max_chars = serializers.IntegerField()
    body_max_chars = serializers.IntegerField()
    buttons = serializers.ListField(child=serializers.ChoiceField(choices=BUTTONS))
    curated_copy = serializers.DictField(child=serializers.DictField(child=serializers.CharField()))
    author = serializers.CharField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def template_data(template: RichTemplate) -> dict:
    latest = selectors.latest_version(template)
    approved = selectors.approved_version(template)
    return {
        "id": template.pk,
        "name": template.name,
        "slug": template.slug,
        "version": latest.number,
        "status": latest.status,
        "approved_version": approved.number if approved else None,
        "image_url": hosting.public_url(latest.background.name),
        "width": latest.width,
        "height": latest.height,
        **{field: getattr(latest, field) for field in FIELDS},
        "author": _username(latest.author),
        "approved_by": _username(latest.approved_by),
        "approved_at": latest.approved_at,
        "created_at": template.created_at,
        "updated_at": latest.updated_at,
        "archived_at": template.archived_at,
    }


class RichTemplatePagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


class CanApprove(permissions.BasePermission):
    message = "You may not approve rich templates."

    def has_permission(self, request, view):
        return request.user.has_perm(services.APPROVE_PERMISSION)


_SCOPES = {"GET": "richmessages:read", "HEAD": "richmessages:read", "POST": "richmessages:write"}


@extend_schema_view(
    list=extend_schema(responses={200: RichTemplateOutput(many=True), **_errors(401, 403)}),
    retrieve=extend_schema(responses={200: RichTemplateOutput, **_errors(401, 403, 404)}),
)
class RichTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The library of rich-message templates, each shown with its newest version."""

    serializer_class = RichTemplateOutput
    pagination_class = RichTemplatePagination
    permission_classes = [IsAuthenticated, ModelPermissions]
    parser_classes = [MultiPartParser, FormParser]
    required_scope = _SCOPES
    queryset = RichTemplate.objects.all()

    def get_queryset(self):
        return selectors.rich_templates_with_versions()

    def get_serializer(self, instance=None, *args, **kwargs):
        if isinstance(instance, RichTemplate):
            instance = template_data(instance)
        elif instance is not None:
            instance = [template_data(template) for template in instance]
        return super().get_serializer(instance, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": RichTemplateCreateInput},
        responses={201: RichTemplateOutput, **_errors(400, 401, 403, 415)},
        examples=[
            OpenApiExample(
                "Upstream-shaped metadata",
                request_only=True,
                value={
                    "name": "Morning run",
                    "metadata": '{"theme": "motivation", "mood": "energetic", "time_of_day": ["morning"], '
                    '"text_areas": {"primary": {"x": 150, "y": 200, "width": 2200, "height": 400}, '
                    '"secondary": {"x": 250, "y": 1200, "width": 2000, "height": 200}}}',
                },
            )
        ],
    )
    def create(self, request):
        """Uploads a background with its metadata: a new template whose version 1 is a draft."""
        data = RichTemplateCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        template = services.rich_template_create(
            name=data.validated_data["name"],
            slug=data.validated_data.get("slug") or None,
            image=data.validated_data["image"],
            metadata=data.validated_data.get("metadata") or None,
            author=request.user,
            request=request,
        )
        template = selectors.rich_templates_with_versions().get(pk=template.pk)
        return Response(RichTemplateOutput(template_data(template)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"application/json": RichTemplateApproveInput},
        responses={200: RichTemplateOutput, **_errors(400, 401, 403, 404, 409, 415)},
    )
    @action(
        detail=True, methods=["post"], parser_classes=[JSONParser], permission_classes=[IsAuthenticated, CanApprove]
    )
    def approve(self, request, pk=None):
        """Approves a draft version (the newest unless ``version`` is given). Not its author's to approve."""
        data = RichTemplateApproveInput(data=request.data)
        data.is_valid(raise_exception=True)
        template = self.get_object()
        number = data.validated_data.get("version")
        if number is None:
            version = selectors.latest_version(template)
        else:
            version = get_object_or_404(RichTemplateVersion, template=template, number=number)
        services.rich_template_approve(version=version, approver=request.user, request=request)
        template = self.get_queryset().get(pk=template.pk)
        return Response(RichTemplateOutput(template_data(template)).data)
