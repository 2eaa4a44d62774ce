"""Rich messages under ``/api/v1/rich-messages/``: build one, read it, check it with LINE, send it as a test.

Reading and validating need ``view_richmessage``, building ``add_richmessage`` (Content editors), test sends
``send_test_richmessage`` (Operators, Administrators). API keys need ``richmessages:read`` for GET and
``richmessages:write`` for POST. Errors have the one API error shape.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from accounts.permissions import IsAuthenticated, ModelPermissions
from conversations.models import LineUser
from richmessages import copywriting, hosting, message_services
from richmessages.models import RichMessage, RichTemplate

_ERRORS = {
    400: "The request is not valid; details name each field (a title or body over the template's limits, an "
    "unknown language, a brief that is not an object of theme, tone and audience).",
    401: "Not signed in.",
    403: "Not allowed (role or API-key scope).",
    404: "No such rich message, template or LINE user.",
    409: "The template cannot build (archived, or no approved version), or the LINE user unfollowed the bot.",
    415: "The request body is not JSON.",
    502: "LINE could not be reached or failed; nothing was sent.",
}
BIGINT = 9_223_372_036_854_775_807
TEXT_MAX = 2000


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    # Described without a body: core.api_schema gives every error response the one error shape.
    return {code: OpenApiResponse(description=_ERRORS[code]) for code in codes}


class TextField(serializers.CharField):
    """Text, and only text: a number or a list is refused instead of being turned into a string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# Limits counted in characters as readers see them are checked by the services; these only bound the request.
class BriefInput(serializers.Serializer):
    theme = TextField(required=False, allow_blank=True, max_length=copywriting.BRIEF_FIELDS["theme"] * 4)
    tone = TextField(required=False, allow_blank=True, max_length=copywriting.BRIEF_FIELDS["tone"] * 4)
    audience = TextField(required=False, allow_blank=True, max_length=copywriting.BRIEF_FIELDS["audience"] * 4)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(f"Unknown key(s): {', '.join(unknown)}.")
        return super().to_internal_value(data)


class RichMessageCreateInput(serializers.Serializer):
    template = serializers.IntegerField(min_value=1, max_value=BIGINT, help_text="Id of the rich template.")
    language = serializers.ChoiceField(choices=list(copywriting.LANGUAGES), help_text="Language of the copy.")
    title = TextField(
        required=False,
        trim_whitespace=False,
        max_length=TEXT_MAX,
        help_text="At most the template's title_max_chars characters as readers count them; the AI writes it when "
        "left out.",
    )
    body = TextField(
        required=False,
        trim_whitespace=False,
        max_length=TEXT_MAX,
        help_text="At most the template's body_max_chars characters; the AI writes it when left out.",
    )
    brief = BriefInput(required=False, help_text="What the AI writes about, when it writes the copy.")
    link = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="An http(s) URL the message links to; it goes out as a tracked link (/r/<code>) that counts clicks.",
    )


class TestSendInput(serializers.Serializer):
    line_user_id = TextField(max_length=64, help_text="The LINE user id (U…) of a follower.")


@extend_schema_field(OpenApiTypes.OBJECT)
class FlexField(serializers.JSONField):
    """LINE's message object, as it is sent (described as an object)."""


class RichMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(help_text="The short id the message's postback buttons carry.")
    template = serializers.IntegerField(source="template_version.template_id")
    template_version = serializers.IntegerField(source="template_version.number")
    language = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    brief = serializers.DictField(child=serializers.CharField())
    copy_source = serializers.ChoiceField(choices=RichMessage.CopySource.choices)
    image_url = serializers.SerializerMethodField(help_text="Public, permanent URL of the composed hero image.")
    flex = FlexField(help_text="The exact message object sent to LINE.")
    created_at = serializers.DateTimeField()

    def get_image_url(self, message) -> str:
        return hosting.public_url(message.image.name)


class LineProblemOutput(serializers.Serializer):
    property = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)


class ValidateOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = LineProblemOutput(many=True, help_text="What LINE (or a limit checked first) refused.")


class TestSendOutput(serializers.Serializer):
    id = serializers.IntegerField(source="message.id")
    line_user_id = serializers.CharField(source="line_user.line_user_id")
    retry_key = serializers.UUIDField()
    line_request_id = serializers.CharField(source="request_id", allow_blank=True)
    duplicate = serializers.BooleanField()
    sent_at = serializers.DateTimeField()


class CanSendTests(permissions.BasePermission):
    message = "You may not send rich messages as a test."

    def has_permission(self, request, view):
        return request.user.has_perm(message_services.SEND_TEST_PERMISSION)


class CanView(permissions.BasePermission):
    message = "You may not read rich messages."

    def has_permission(self, request, view):
        return request.user.has_perm(message_services.VIEW_PERMISSION)


_SCOPES = {"GET": "richmessages:read", "HEAD": "richmessages:read", "POST": "richmessages:write"}


class RichMessageViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Rich messages: a template's composed picture with its copy and buttons, as one Flex message."""

    serializer_class = RichMessageOutput
    permission_classes = [IsAuthenticated, ModelPermissions]
    parser_classes = [JSONParser]
    required_scope = _SCOPES
    queryset = RichMessage.objects.select_related("template_version")

    @extend_schema(
        request=RichMessageCreateInput,
        responses={201: RichMessageOutput, **_errors(400, 401, 403, 404, 409, 415)},
        examples=[
            OpenApiExample(
                "Copy written by the AI, in Thai",
                request_only=True,
                value={"template": 1, "language": "th", "brief": {"theme": "rainy season", "tone": "caring"}},
            ),
            OpenApiExample(
                "Copy written by a person",
                request_only=True,
                value={"template": 1, "language": "en", "title": "Good morning", "body": "A fresh start."},
            ),
        ],
    )
    def create(self, request):
        """Builds a message from the template's approved version; what is not given, the AI writes."""
        data = RichMessageCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        template = get_object_or_404(RichTemplate, pk=data.validated_data["template"])
        message = message_services.rich_message_build(
            template=template,
            language=data.validated_data["language"],
            title=data.validated_data.get("title"),
            body=data.validated_data.get("body"),
            brief=data.validated_data.get("brief"),
            link=data.validated_data.get("link") or None,
            actor=request.user,
            request=request,
        )
        return Response(RichMessageOutput(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: RichMessageOutput, **_errors(401, 403, 404)})
    def retrieve(self, request, *args, **kwargs):
        """One rich message, with the Flex message LINE gets."""
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: ValidateOutput, **_errors(401, 403, 404, 502)})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, CanView])
    def validate(self, request, pk=None):
        """Asks LINE whether it would take the message (its validate endpoint); sends nothing to anyone."""
        message = self.get_object()
        check = message_services.rich_message_validate(message=message, actor=request.user)
        return Response(ValidateOutput({"valid": check.valid, "problems": check.problems}).data)

    @extend_schema(request=TestSendInput, responses={201: TestSendOutput, **_errors(400, 401, 403, 404, 409, 415, 502)})
    @action(detail=True, methods=["post"], url_path="test-send", permission_classes=[IsAuthenticated, CanSendTests])
    def test_send(self, request, pk=None):
        """Pushes the message to one LINE user now (with a retry key), and audits it."""
        data = TestSendInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = self.get_object()
        line_user = get_object_or_404(LineUser, line_user_id=data.validated_data["line_user_id"])
        sent = message_services.rich_message_test_send(
            message=message, line_user=line_user, actor=request.user, request=request
        )
        return Response(TestSendOutput(sent).data, status=status.HTTP_201_CREATED)
