"""Limit/offset pagination that refuses a limit or offset it cannot read, instead of quietly using its default.

    class AuditEventPagination(LimitOffsetPagination):
        default_limit = 100
        max_limit = 1000

``?limit=abc``, ``?limit=0``, ``?limit=5000`` (over ``max_limit``), ``?offset=-1`` or a parameter given twice
answer 400 in the API's error shape, and the schema states the bounds.
"""

from __future__ import annotations

from rest_framework import pagination

from core.errors import ValidationError


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    def get_limit(self, request) -> int | None:
        limit = _whole_number(request, self.limit_query_param, minimum=1, maximum=self.max_limit)
        return self.default_limit if limit is None else limit

    def get_offset(self, request) -> int:
        offset = _whole_number(request, self.offset_query_param, minimum=0)
        return 0 if offset is None else offset

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update(minimum=1, **({"maximum": self.max_limit} if self.max_limit else {}))
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"]["minimum"] = 0
        return parameters


def _whole_number(request, name: str, *, minimum: int, maximum: int | None = None) -> int | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        _refuse(name, "Give it once.")
    raw = values[0].strip()
    if not raw.isascii() or not raw.isdigit():
        _refuse(name, "A whole number is required.")
    number = int(raw)
    if number < minimum:
        _refuse(name, f"At least {minimum}.")
    if maximum is not None and number > maximum:
        _refuse(name, f"At most {maximum}.")
    return number


def _refuse(name: str, message: str) -> None:
    raise ValidationError(f"{name} is not valid: {message}", details={name: [message]})
