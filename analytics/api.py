"""Analytics under ``/api/v1/analytics/``: campaign and template measures, user profiles and the events.

Every endpoint needs ``analytics.view_event`` (Analysts, Operators, Administrators); API keys need
``analytics:read``. Lists also come as CSV with ``?format=csv``, streamed. Errors have the one API error shape:
an id that is not a number or a bad date is a 400 naming the parameter, an unknown id a 404.
"""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAuthenticated, ModelPermissions
from analytics import measures, profiles, subjects
from analytics.csv_export import CHUNK_SIZE, csv_response
from analytics.models import Event
from conversations.models import LineUser
from core.errors import NotFoundError, ValidationError
from core.moments import parse_moment

BIGINT = 9_223_372_036_854_775_807
FORMAT = OpenApiParameter("format", str, enum=["json", "csv"], description="csv: the list as streamed CSV.")
# With ?format=csv the answer is text/csv instead of JSON.
CSV = OpenApiResponse(OpenApiTypes.STR, description="The list as streamed CSV (?format=csv).")
ROLLUP_COLUMNS = [
    "day",
    "type",
    "campaign_id",
    "variant",
    "template_version_id",
    "button",
    "events",
    "users",
    "new_users",
    "engaged_24h",
    "blocked_24h",
]
EVENT_COLUMNS = [
    "id",
    "occurred_at",
    "type",
    "line_user_id",
    "campaign_id",
    "variant",
    "rich_message_id",
    "template_version_id",
    "button",
    "props",
]


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "A parameter is not valid; details name it.",
        401: "Not signed in.",
        403: "Not allowed (role or API-key scope).",
        404: "No such campaign, template or LINE user.",
    }
    return {code: OpenApiResponse(description=descriptions[code]) for code in codes}


class JsonNegotiation(BaseContentNegotiation):
    """JSON always; ``?format=csv`` is the view's business (a streamed response), not a renderer's."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _wants_csv(request) -> bool:
    value = request.query_params.get("format", "json")
    if value not in ("json", "csv"):
        raise ValidationError("format is not valid: json or csv.", details={"format": ["json or csv"]})
    return value == "csv"


def _id(value: str, name: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise ValidationError(f"{name} is not valid: a whole number is required.", details={name: ["a number"]})
    number = int(value)
    if number > BIGINT:
        raise NotFoundError(f"There is no {name.replace('_', ' ')} {value}.")
    return number


def _moment(request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    # Present but empty is refused too: the schema says a date and time.
    moment = parse_moment(raw)
    if moment is None:
        message = "an ISO 8601 date and time is required, e.g. 2026-11-30T00:00:00+07:00"
        raise ValidationError(f"{name} is not valid: {message}.", details={name: [message]})
    return moment


class AnalyticsView(APIView):
    permission_classes = [IsAuthenticated, ModelPermissions]
    required_scope = "analytics:read"
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonNegotiation
    queryset = Event.objects.none()


class CampaignAnalyticsView(AnalyticsView):
    @extend_schema(
        parameters=[FORMAT],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): CSV,
            **_errors(400, 401, 403, 404),
        },
    )
    def get(self, request, campaign_id: str):
        """A campaign's measures, each rate with its denominator; CSV: its rollup rows day by day."""
        pk = _id(campaign_id, "campaign_id")
        csv = _wants_csv(request)
        subject = subjects.campaign(pk)
        if subject is None:
            raise NotFoundError(f"There is no campaign {pk}.")
        if csv:
            rows = measures.daily_rows(campaign_id=pk).values_list(*ROLLUP_COLUMNS)
            return csv_response(filename=f"campaign-{pk}.csv", header=ROLLUP_COLUMNS, rows=rows.iterator(CHUNK_SIZE))
        return Response(measures.campaign_report(pk, subject))


class TemplateAnalyticsView(AnalyticsView):
    @extend_schema(
        parameters=[FORMAT],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): CSV,
            **_errors(400, 401, 403, 404),
        },
    )
    def get(self, request, template_id: str):
        """A template's measures over every message built from it; CSV: its rollup rows day by day."""
        pk = _id(template_id, "template_id")
        csv = _wants_csv(request)
        subject = subjects.template(pk)
        if subject is None:
            raise NotFoundError(f"There is no template {pk}.")
        if csv:
            rows = measures.daily_rows(version_ids=subject["version_ids"]).values_list(*ROLLUP_COLUMNS)
            return csv_response(filename=f"template-{pk}.csv", header=ROLLUP_COLUMNS, rows=rows.iterator(CHUNK_SIZE))
        return Response(measures.template_report(subject))


class UserAnalyticsView(AnalyticsView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **_errors(400, 401, 403, 404)})
    def get(self, request, line_user_id: str):
        """A LINE user's engagement profile: heatmap, streaks, last engaged, cohort (in the user's zone)."""
        if _wants_csv(request):
            raise ValidationError("format is not valid: a profile is not a list.", details={"format": ["json"]})
        user = LineUser.objects.filter(line_user_id=line_user_id[:64]).first()
        if user is None:
            raise NotFoundError("There is no LINE user with this id.")
        return Response(profiles.user_profile(user))


class EventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    type = serializers.CharField()
    line_user_id = serializers.CharField(source="line_user.line_user_id", default=None)
    campaign_id = serializers.IntegerField(allow_null=True)
    variant = serializers.CharField()
    rich_message_id = serializers.IntegerField(allow_null=True)
    template_version_id = serializers.IntegerField(allow_null=True)
    button = serializers.CharField()
    props = serializers.JSONField()


class EventCursor(CursorPagination):
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "limit"
    ordering = ("-occurred_at", "-id")

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            message = f"a whole number from 1 to {self.max_page_size}"
            raise ValidationError(f"limit is not valid: {message}.", details={"limit": [message]})
        return int(raw)


_EVENT_FILTERS = [
    OpenApiParameter("type", str, enum=Event.Type.values, description="Only events of this type."),
    OpenApiParameter("campaign", int, description="Only events of this campaign id."),
    OpenApiParameter("user", str, description="Only events of this LINE user id (U…)."),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="From this instant (inclusive)."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Before this instant."),
    FORMAT,
]


class EventListView(AnalyticsView):
    pagination_class = EventCursor

    def _events(self, request):
        params = request.query_params
        events = Event.objects.all()
        kind = params.get("type")
        # Present but empty is refused too: the schema names the values it may take.
        if kind is not None:
            if kind not in Event.Type.values:
                message = "one of " + ", ".join(Event.Type.values)
                raise ValidationError(f"type is not valid: {message}.", details={"type": [message]})
            events = events.filter(type=kind)
        if "campaign" in params:
            events = events.filter(campaign_id=_id(params["campaign"], "campaign"))
        if "user" in params:
            user = LineUser.objects.filter(line_user_id=params["user"][:64]).values_list("pk", flat=True).first()
            if user is None:
                raise NotFoundError("There is no LINE user with this id.")
            events = events.filter(line_user_id=user)
        since, until = _moment(request, "since"), _moment(request, "until")
        if since and until and until <= since:
            message = "must be after since"
            raise ValidationError(f"until is not valid: {message}.", details={"until": [message]})
        if since:
            events = events.filter(occurred_at__gte=since)
        if until:
            events = events.filter(occurred_at__lt=until)
        return events

    @extend_schema(
        parameters=_EVENT_FILTERS,
        responses={
            (200, "application/json"): EventOutput(many=True),
            (200, "text/csv"): CSV,
            **_errors(400, 401, 403, 404),
        },
    )
    def get(self, request):
        """Events, newest first, with a cursor (``next``/``previous``); CSV: every matching event, streamed."""
        csv = _wants_csv(request)
        events = self._events(request)
        if csv:
            rows = events.order_by("-occurred_at", "-id").values_list(
                "id",
                "occurred_at",
                "type",
                "line_user__line_user_id",
                "campaign_id",
                "variant",
                "rich_message_id",
                "template_version_id",
                "button",
                "props",
            )
            return csv_response(filename="events.csv", header=EVENT_COLUMNS, rows=rows.iterator(CHUNK_SIZE))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events.select_related("line_user"), request, view=self)
        return paginator.get_paginated_response(EventOutput(page, many=True).data)
