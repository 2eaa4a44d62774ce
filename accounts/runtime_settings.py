"""The runtime settings of staff sign-in and the API: their rate limits."""

from __future__ import annotations

from core.config.registry import Definition, register

register(
    Definition(
        "ratelimit.login_attempts_per_minute",
        int,
        10,
        "Admin login and API token requests per client IP per minute (lowered automatically under attack).",
        critical=True,
        min_value=1,
        max_value=120,
    ),
    Definition(
        "ratelimit.api_requests_per_minute",
        int,
        120,
        "API requests per credential (or per IP without one) per minute.",
        critical=True,
        min_value=1,
        max_value=10_000,
    ),
)
