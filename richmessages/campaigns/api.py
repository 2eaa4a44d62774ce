"""Campaigns under ``/api/v1/campaigns/``: write, submit, review, control, and follow progress.

Reads need ``view_campaign`` (API keys: ``campaigns:read``); writes, submitting, pausing, resuming and
cancelling ``add_campaign``/``change_campaign`` (``campaigns:write``); approving and sending back
``approve_campaign`` (``campaigns:approve``). Errors have the one API error shape; approving one's own
campaign is a 403 ``permission_denied``.
"""

from __future__ import annotations

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
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.permissions import IsAuthenticated, ModelPermissions
from core.pagination import LimitOffsetPagination
from richmessages.campaigns import cleaning, selectors, services
from richmessages.campaigns.models import Campaign

BIGINT = 9_223_372_036_854_775_807
_AUDIENCE_HELP = (
    'Who it reaches. {"type": "all_followers"}; {"type": "segment", "language": ["th"], "followed_after": '
    '"2030-01-01", "followed_before": ..., "active_within_days": 30, "tags": ["vip"], "engaged_with_campaign": 12, '
    '"engaged": true} (every condition given must hold); {"type": "users", "line_user_ids": ["U…"]}; '
    '{"type": "narrowcast", "audience_group_ids": [...], "exclude_audience_group_ids": [...], "demographic": '
    '{LINE demographic filter}, "limit": 1000}.'
)


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "The request is not valid; details name each field.",
        401: "Not signed in.",
        403: "Not allowed (role, API-key scope, or approving one's own campaign).",
        404: "No such campaign.",
        409: "The campaign is not in a state that allows this.",
        415: "The request body is not of a supported media type.",
    }
    # core.api_schema gives each one the API's error shape.
    return {code: OpenApiResponse(description=descriptions[code]) for code in codes}


@extend_schema_field(OpenApiTypes.OBJECT)
class AudienceField(serializers.JSONField):
    pass


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    pass


class VariantInput(serializers.Serializer):
    name = serializers.CharField(max_length=32)
    rich_message = serializers.IntegerField(min_value=1, max_value=BIGINT)
    weight = serializers.IntegerField(min_value=1, max_value=100, default=1)


class CampaignInput(serializers.Serializer):
    name = serializers.CharField(max_length=cleaning.NAME_MAX_CHARS)
    rich_message = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=BIGINT, help_text="The rich message to send."
    )
    variants = VariantInput(many=True, required=False, allow_null=True, help_text="A/B variants instead.")
    audience = AudienceField(help_text=_AUDIENCE_HELP)
    send_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Null: as soon as approved.")
    recurrence = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO."
    )
    timezone = serializers.CharField(required=False, max_length=64, help_text="IANA zone of send_at and recurrence.")
    local_time = serializers.BooleanField(required=False, help_text="At send_at's local time in each user's zone.")
    step_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=30, help_text="A step message N days after a follow."
    )
    holdout_percent = serializers.IntegerField(required=False, min_value=0, max_value=cleaning.MAX_HOLDOUT)
    frequency_cap_day = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=100)
    frequency_cap_week = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=100)
    cooldown = serializers.BooleanField(required=False, help_text="Respect richmessages.cooldown_minutes.")
    quiet_hours_start = serializers.TimeField(required=False, allow_null=True)
    quiet_hours_end = serializers.TimeField(required=False, allow_null=True)


class CampaignUpdateInput(CampaignInput):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class CommentInput(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=services.COMMENT_MAX_CHARS)


class AudienceUploadInput(serializers.Serializer):
    file = UploadField(help_text="CSV: one LINE user id (U…) per row in the first column; a header row is allowed.")


class CountsOutput(serializers.Serializer):
    recipients = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    held = serializers.IntegerField(help_text="Waiting for quiet hours to end or their local send time.")


class EstimateOutput(serializers.Serializer):
    audience = serializers.IntegerField(allow_null=True)
    unfollowed = serializers.IntegerField(allow_null=True)
    opted_out = serializers.IntegerField(allow_null=True)
    holdout = serializers.IntegerField(allow_null=True)
    recipients = serializers.IntegerField(allow_null=True, help_text="Null for a narrowcast: LINE chooses.")


class VariantOutput(serializers.Serializer):
    name = serializers.CharField()
    rich_message = serializers.IntegerField()
    weight = serializers.IntegerField()


class CampaignOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Campaign.Status.choices)
    rich_message = serializers.IntegerField(allow_null=True)
    variants = VariantOutput(many=True)
    audience = AudienceField()
    audience_report = serializers.DictField(help_text="Uploaded lists: unknown and unfollowed ids, skipped.")
    holdout_percent = serializers.IntegerField()
    send_at = serializers.DateTimeField(allow_null=True)
    recurrence = serializers.CharField(allow_blank=True)
    timezone = serializers.CharField()
    local_time = serializers.BooleanField()
    step_days = serializers.IntegerField(allow_null=True)
    frequency_cap_day = serializers.IntegerField(allow_null=True)
    frequency_cap_week = serializers.IntegerField(allow_null=True)
    cooldown = serializers.BooleanField()
    quiet_hours_start = serializers.TimeField(allow_null=True)
    quiet_hours_end = serializers.TimeField(allow_null=True)
    author = serializers.CharField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    review_comment = serializers.CharField(allow_blank=True)
    failure_reason = serializers.CharField(allow_blank=True)
    next_send_at = serializers.DateTimeField(allow_null=True, help_text="When the next or current send is due.")
    counts = CountsOutput()
    estimate = EstimateOutput(help_text="Recipients before sending, as shown for approval.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def campaign_data(campaign: Campaign) -> dict:
    send = selectors.current_send(campaign)
    return {
        **{name: getattr(campaign, name) for name in cleaning.FIELDS if name not in ("rich_message", "variants")},
        "id": campaign.pk,
        "status": campaign.status,
        "rich_message": campaign.rich_message_id,
        "variants": [
            {"name": v.name, "rich_message": v.rich_message_id, "weight": v.weight} for v in campaign.variants.all()
        ],
        "audience_report": campaign.audience_report,
        "author": _username(campaign.author),
        "approved_by": _username(campaign.approved_by),
        "approved_at": campaign.approved_at,
        "submitted_at": campaign.submitted_at,
        "review_comment": campaign.review_comment,
        "failure_reason": campaign.failure_reason,
        "next_send_at": send.due_at if send is not None else None,
        "counts": selectors.campaign_counts(campaign),
        "estimate": selectors.recipient_estimate(campaign),
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
    }


class CanApprove(permissions.BasePermission):
    message = "You may not approve or send back campaigns."

    def has_permission(self, request, view):
        return request.user.has_perm(services.APPROVE_PERMISSION)


class CanControl(permissions.BasePermission):
    message = "You may not pause, resume or cancel campaigns."

    def has_permission(self, request, view):
        return request.user.has_perm(services.CHANGE_PERMISSION) or request.user.has_perm(services.APPROVE_PERMISSION)


class CampaignPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


_READ, _WRITE, _APPROVE = "campaigns:read", "campaigns:write", "campaigns:approve"


def _detail(permission_classes, parser_classes=(JSONParser,), url_path=None):
    return action(
        detail=True,
        methods=["post"],
        parser_classes=list(parser_classes),
        permission_classes=[IsAuthenticated, *permission_classes],
        url_path=url_path,
    )


_STATE_CHANGE = {200: CampaignOutput, **_errors(400, 401, 403, 404, 409, 415)}


@extend_schema_view(
    list=extend_schema(responses={200: CampaignOutput(many=True), **_errors(401, 403)}),
    retrieve=extend_schema(responses={200: CampaignOutput, **_errors(401, 403, 404)}),
)
class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Campaigns: rich messages scheduled to LINE users, four-eyes approved."""

    serializer_class = CampaignOutput
    pagination_class = CampaignPagination
    permission_classes = [IsAuthenticated, ModelPermissions]
    parser_classes = [JSONParser]
    queryset = Campaign.objects.all()

    @property
    def required_scope(self):
        if self.action in ("approve", "reject"):
            return _APPROVE
        return {"GET": _READ, "HEAD": _READ, "POST": _WRITE, "PATCH": _WRITE}

    def get_queryset(self):
        return selectors.campaigns_list()

    def get_serializer(self, instance=None, *args, **kwargs):
        if isinstance(instance, Campaign):
            instance = campaign_data(instance)
        elif instance is not None:
            instance = [campaign_data(campaign) for campaign in instance]
        return super().get_serializer(instance, *args, **kwargs)

    def _answer(self, campaign: Campaign, code: int = status.HTTP_200_OK) -> Response:
        return Response(CampaignOutput(campaign_data(self.get_queryset().get(pk=campaign.pk))).data, status=code)

    @extend_schema(
        request=CampaignInput,
        responses={201: CampaignOutput, **_errors(400, 401, 403, 415)},
        examples=[
            OpenApiExample(
                "Weekly to Thai speakers",
                request_only=True,
                value={
                    "name": "Monday motivation",
                    "rich_message": 1,
                    "audience": {"type": "segment", "language": ["th"]},
                    "send_at": "2030-01-07T09:00:00+07:00",
                    "recurrence": "FREQ=WEEKLY;BYDAY=MO",
                    "timezone": "Asia/Bangkok",
                },
            )
        ],
    )
    def create(self, request):
        """A new campaign, in draft."""
        data = CampaignInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_create(author=request.user, request=request, **data.validated_data)
        return self._answer(campaign, status.HTTP_201_CREATED)

    @extend_schema(
        request=CampaignUpdateInput, responses={200: CampaignOutput, **_errors(400, 401, 403, 404, 409, 415)}
    )
    def partial_update(self, request, pk=None):
        """Edits a campaign; one in review or approved (not yet sending) returns to draft."""
        data = CampaignUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_update(
            campaign=self.get_object(), changes=dict(data.validated_data), actor=request.user, request=request
        )
        return self._answer(campaign)

    @extend_schema(request=None, responses=_STATE_CHANGE)
    @_detail([ModelPermissions])
    def submit(self, request, pk=None):
        """Sends a draft to review."""
        return self._answer(services.campaign_submit(campaign=self.get_object(), actor=request.user, request=request))

    @extend_schema(request=CommentInput, responses=_STATE_CHANGE)
    @_detail([CanApprove])
    def approve(self, request, pk=None):
        """Approves a campaign in review; not its author's to approve."""
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_approve(
            campaign=self.get_object(),
            approver=request.user,
            comment=data.validated_data.get("comment", ""),
            request=request,
        )
        return self._answer(campaign)

    @extend_schema(request=CommentInput, responses=_STATE_CHANGE)
    @_detail([CanApprove])
    def reject(self, request, pk=None):
        """Sends a campaign in review back to draft, with a comment (required)."""
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_reject(
            campaign=self.get_object(),
            approver=request.user,
            comment=data.validated_data.get("comment", ""),
            request=request,
        )
        return self._answer(campaign)

    @extend_schema(request=None, responses=_STATE_CHANGE)
    @_detail([CanControl])
    def pause(self, request, pk=None):
        """Pauses a scheduled or sending campaign; sending stops within one chunk."""
        return self._answer(services.campaign_pause(campaign=self.get_object(), actor=request.user, request=request))

    @extend_schema(request=None, responses=_STATE_CHANGE)
    @_detail([CanControl])
    def resume(self, request, pk=None):
        """Resumes a paused campaign."""
        return self._answer(services.campaign_resume(campaign=self.get_object(), actor=request.user, request=request))

    @extend_schema(request=None, responses=_STATE_CHANGE)
    @_detail([CanControl])
    def cancel(self, request, pk=None):
        """Cancels a campaign for good."""
        return self._answer(services.campaign_cancel(campaign=self.get_object(), actor=request.user, request=request))

    @extend_schema(request={"multipart/form-data": AudienceUploadInput}, responses=_STATE_CHANGE)
    @_detail([ModelPermissions], parser_classes=(MultiPartParser,), url_path="audience-upload")
    def audience_upload(self, request, pk=None):
        """Replaces the audience with an uploaded CSV of LINE user ids; unknown and unfollowed ids are reported."""
        data = AudienceUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_audience_upload(
            campaign=self.get_object(), data=data.validated_data["file"].read(), actor=request.user, request=request
        )
        return self._answer(campaign)
