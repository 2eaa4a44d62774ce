"""Settings of the LINE double: CLI flags, each with a LINESIM_* environment fallback."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from linesim.line.spec import default_spec_dir

# LINE's documented per-endpoint limits (requests per window in seconds), keyed by operationId.
# Endpoints not listed share DEFAULT_RATE_LIMIT.
LINE_RATE_LIMITS: dict[str, tuple[int, float]] = {
    "replyMessage": (2000, 1.0),
    "pushMessage": (2000, 1.0),
    "multicast": (200, 1.0),
    "narrowcast": (60, 3600.0),
    "broadcast": (60, 3600.0),
    "getNarrowcastProgress": (2000, 1.0),
    "createRichMenu": (100, 3600.0),
    "deleteRichMenu": (100, 3600.0),
    "showLoadingAnimation": (100, 1.0),
    # The insight endpoints.
    "getNumberOfFollowers": (60, 3600.0),
    "getNumberOfMessageDeliveries": (60, 3600.0),
    "getFriendsDemographics": (60, 3600.0),
    "getMessageEvent": (60, 3600.0),
    "getStatisticsPerUnit": (60, 3600.0),
}
DEFAULT_RATE_LIMIT: tuple[int, float] = (2000, 1.0)


@dataclass
class LineDoubleConfig:
    host: str = "127.0.0.1"
    port: int = 8081
    channel_secret: str = "simulator-channel-secret"  # noqa: S105 - the simulator's published default
    access_token: str = "simulator-access-token"  # noqa: S105 - the simulator's published default
    accept_any_token: bool = False
    webhook_url: str = ""
    bot_user_id: str = "U0000000000000000000000000000b07"
    reply_token_ttl: float = 60.0
    retry_key_ttl: float = 24 * 3600.0
    spec_checks: bool = True
    rate_limits: bool = True
    monthly_quota: int = 0  # 0: no limit (quota type "none")
    seed: int = 0
    spec_dir: Path | None = None
    workers: int = 1
    webhook_timeout: float = 10.0
    rate_limit_overrides: dict[str, tuple[int, float]] = field(default_factory=dict)

    def public(self) -> dict:
        """What the control API shows: never the secret or the token."""
        return {
            "webhookUrl": self.webhook_url,
            "botUserId": self.bot_user_id,
            "replyTokenTtl": self.reply_token_ttl,
            "specChecks": self.spec_checks,
            "rateLimits": self.rate_limits,
            "acceptAnyToken": self.accept_any_token,
            "monthlyQuota": self.monthly_quota,
        }


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def parse_args(argv: list[str] | None = None) -> LineDoubleConfig:
    defaults = LineDoubleConfig()
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m linesim.line",
        description="LINE Platform double: Messaging API, webhook sender and the LINE simulator page.",
    )
    parser.add_argument("--host", default=env("LINESIM_HOST", defaults.host))
    parser.add_argument("--port", type=int, default=env("LINESIM_PORT", str(defaults.port)))
    parser.add_argument(
        "--channel-secret",
        default=env("LINESIM_CHANNEL_SECRET", defaults.channel_secret),
        help="key of the X-Line-Signature HMAC on webhooks",
    )
    parser.add_argument(
        "--access-token",
        default=env("LINESIM_ACCESS_TOKEN", defaults.access_token),
        help="the Bearer token the API accepts",
    )
    parser.add_argument(
        "--accept-any-token",
        action=argparse.BooleanOptionalAction,
        default=_env_bool("LINESIM_ACCEPT_ANY_TOKEN", defaults.accept_any_token),
        help="accept any non-empty Bearer token",
    )
    parser.add_argument(
        "--webhook-url", default=env("LINESIM_WEBHOOK_URL", defaults.webhook_url), help="where webhooks are posted"
    )
    parser.add_argument("--bot-user-id", default=env("LINESIM_BOT_USER_ID", defaults.bot_user_id))
    parser.add_argument(
        "--reply-token-ttl", type=float, default=env("LINESIM_REPLY_TOKEN_TTL", str(defaults.reply_token_ttl))
    )
    parser.add_argument(
        "--spec-checks",
        action=argparse.BooleanOptionalAction,
        default=_env_bool("LINESIM_SPEC_CHECKS", defaults.spec_checks),
        help="validate requests against LINE's OpenAPI specs (default on)",
    )
    parser.add_argument(
        "--rate-limits",
        action=argparse.BooleanOptionalAction,
        default=_env_bool("LINESIM_RATE_LIMITS", defaults.rate_limits),
        help="enforce LINE's per-endpoint rate limits (default on)",
    )
    parser.add_argument(
        "--monthly-quota",
        type=int,
        default=env("LINESIM_MONTHLY_QUOTA", str(defaults.monthly_quota)),
        help="messages per month before 429; 0 means no limit",
    )
    parser.add_argument(
        "--seed", type=int, default=env("LINESIM_SEED", str(defaults.seed)), help="seed of the fault injection"
    )
    parser.add_argument("--spec-dir", type=Path, default=env("LINESIM_SPEC_DIR") or None)
    parser.add_argument(
        "--workers",
        type=int,
        default=env("LINESIM_WORKERS", str(defaults.workers)),
        help="processes sharing the port with SO_REUSEPORT; each keeps its own state (for load tests)",
    )
    # String defaults (from the environment) go through each flag's type, so a bad value is a usage error.
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    spec_dir = args.spec_dir or default_spec_dir()
    if not (Path(spec_dir) / "messaging-api.yml").is_file():
        parser.error(f"no LINE OpenAPI specs in {spec_dir} (give --spec-dir or LINESIM_SPEC_DIR)")
    return LineDoubleConfig(
        host=args.host,
        port=args.port,
        channel_secret=args.channel_secret,
        access_token=args.access_token,
        accept_any_token=args.accept_any_token,
        webhook_url=args.webhook_url,
        bot_user_id=args.bot_user_id,
        reply_token_ttl=args.reply_token_ttl,
        spec_checks=args.spec_checks,
        rate_limits=args.rate_limits,
        monthly_quota=args.monthly_quota,
        seed=args.seed,
        spec_dir=args.spec_dir,
        workers=args.workers,
    )
