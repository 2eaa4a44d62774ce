"""The conversations part of ``/api/v1/``: what staff and their machine clients may do."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAuthenticated
from conversations import staff_messages
from conversations.line_messages import MAX_UTF16_UNITS
from conversations.models import LineUser


class CanSendTestMessages(permissions.BasePermission):
    message = "You may not send test messages."

    def has_permission(self, request, view):
        return request.user.has_perm(staff_messages.PERMISSION)


class TestMessageInput(serializers.Serializer):
    line_user_id = serializers.CharField(max_length=64)
    # Trimmed neither here nor in the service: the text goes out as typed. The service counts UTF-16 units.
    text = serializers.CharField(trim_whitespace=False, max_length=MAX_UTF16_UNITS)


class TestMessageOutput(serializers.Serializer):
    id = serializers.IntegerField(source="message.id")
    line_user_id = serializers.CharField(source="message.line_user.line_user_id")
    text = serializers.CharField(source="message.content")
    sent_at = serializers.DateTimeField(source="message.created_at")
    retry_key = serializers.UUIDField()
    line_request_id = serializers.CharField(source="request_id")


class TestMessageView(APIView):
    """Pushes a text message to one LINE user (Operators and Administrators; API keys need ``messages:send``)."""

    permission_classes = [IsAuthenticated, CanSendTestMessages]
    required_scope = "messages:send"

    @extend_schema(
        request=TestMessageInput,
        responses={
            201: TestMessageOutput,
            404: OpenApiResponse(description="There is no LINE user with this id."),
            409: OpenApiResponse(description="The LINE user has unfollowed the bot (`line_user_inactive`)."),
            502: OpenApiResponse(description="LINE refused the push or could not be reached (`line_api_error`)."),
        },
    )
    def post(self, request):
        data = TestMessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        line_user = get_object_or_404(LineUser, line_user_id=data.validated_data["line_user_id"])
        sent = staff_messages.staff_message_send(
            line_user=line_user, text=data.validated_data["text"], actor=request.user, request=request
        )
        return Response(TestMessageOutput(sent).data, status=status.HTTP_201_CREATED)
