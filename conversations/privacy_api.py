"""``/api/v1/line-users/{line_user_id}/personal-data``: export (GET) and erase (DELETE) one LINE user's data."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAuthenticated
from conversations import privacy
from conversations.models import LineUser


class MayExportOrErase(permissions.BasePermission):
    message = "You may not do this with personal data."

    def has_permission(self, request, view):
        needed = privacy.ERASE_PERMISSION if request.method == "DELETE" else privacy.EXPORT_PERMISSION
        return request.user.has_perm(needed)


class ErasureOutput(serializers.Serializer):
    line_user = serializers.IntegerField(source="line_user_pk")
    replaced_by = serializers.CharField(source="replacement")
    counts = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))


class PersonalDataView(APIView):
    """Everything held about one LINE user (Operators, Administrators), or its erasure (Administrators)."""

    permission_classes = [IsAuthenticated, MayExportOrErase]
    required_scope = {"GET": "personal_data:export", "DELETE": "personal_data:erase"}

    @extend_schema(
        operation_id="line_user_personal_data_export",
        responses={
            200: OpenApiResponse(description="The export: one section per app, as JSON."),
            404: OpenApiResponse(description="There is no LINE user with this id."),
        },
    )
    def get(self, request, line_user_id: str):
        line_user = get_object_or_404(LineUser, line_user_id=line_user_id)
        return Response(privacy.line_user_export(line_user=line_user, actor=request.user, request=request))

    @extend_schema(
        operation_id="line_user_personal_data_erase",
        responses={
            200: ErasureOutput,
            404: OpenApiResponse(description="There is no LINE user with this id (or it was erased already)."),
        },
    )
    def delete(self, request, line_user_id: str):
        line_user = get_object_or_404(LineUser, line_user_id=line_user_id)
        erasure = privacy.line_user_erase(line_user=line_user, actor=request.user, request=request)
        return Response(ErasureOutput(erasure).data)
