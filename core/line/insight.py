"""The LINE Insight calls of :class:`core.line.client.LineClient`; the insight SDK is imported on first use."""

from __future__ import annotations

from datetime import date
from typing import Any


def _line_date(day: date) -> str:
    return day.strftime("%Y%m%d")


class InsightCalls:
    # Figures come back as LINE's JSON (camelCase keys); a figure LINE withholds (fewer than 20 users) is None.
    # LINE allows 60 insight requests an hour: callers take each one from core.line.budget.insight_budget().
    def get_number_of_followers(self, day: date) -> dict[str, Any]:
        """``{"status": "ready" | "unready" | "out_of_service", "followers", "targetedReaches", "blocks"}``."""
        return self._insight_call("insight_followers", "get_number_of_followers_with_http_info", _line_date(day))

    def get_number_of_message_deliveries(self, day: date) -> dict[str, Any]:
        """``{"status", "broadcast", "targeting", …, "apiReply"}``: messages sent on a day (UTC+9)."""
        return self._insight_call(
            "insight_deliveries", "get_number_of_message_deliveries_with_http_info", _line_date(day)
        )

    def get_friends_demographics(self) -> dict[str, Any]:
        """``{"available", "genders", "ages", "areas", "appTypes", "subscriptionPeriods"}`` (percentages)."""
        return self._insight_call("insight_demographics", "get_friends_demographics_with_http_info")

    def get_message_event(self, request_id: str) -> dict[str, Any]:
        """``{"overview", "messages", "clicks"}`` of a broadcast or narrowcast, by its request id."""
        return self._insight_call("insight_message_event", "get_message_event_with_http_info", request_id)

    def get_statistics_per_unit(self, unit: str, date_from: date, date_to: date) -> dict[str, Any]:
        """``{"overview", "messages", "clicks"}`` of pushes and multicasts sent with ``customAggregationUnits``
        between two days (UTC+9), at most 30 days apart."""
        return self._insight_call(
            "insight_unit",
            "get_statistics_per_unit_with_http_info",
            unit,
            _line_date(date_from),
            _line_date(date_to),
        )

    def _insight_call(self, endpoint: str, method_name: str, *args) -> dict[str, Any]:
        response = self._call(endpoint, getattr(self._insight_api(), method_name), *args)
        return response.data.to_dict() if response.data is not None else {}

    def _insight_api(self):
        with self._insight_lock:
            if self._insight is None:
                from linebot.v3.insight import ApiClient as InsightApiClient
                from linebot.v3.insight import ApiException as InsightApiException
                from linebot.v3.insight import Configuration as InsightConfiguration
                from linebot.v3.insight import Insight

                configuration = InsightConfiguration(
                    host=self._api_base_url.rstrip("/"), access_token=self._access_token
                )
                configuration.retries = 0
                self._insight_client = InsightApiClient(configuration)
                self._api_errors = (*self._api_errors, InsightApiException)
                self._insight = Insight(self._insight_client)
            return self._insight
