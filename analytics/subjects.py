"""What analytics reports on but does not own: campaigns and templates live in a higher app, which registers
how to look them up here (analytics never imports it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# campaign id -> {"name": str, ...} or None when there is no such campaign.
_campaign_lookup: Callable[[int], dict[str, Any] | None] | None = None
# template id -> {"name": str, "version_ids": [int, ...]} or None.
_template_lookup: Callable[[int], dict[str, Any] | None] | None = None


def register(
    *,
    campaign: Callable[[int], dict[str, Any] | None] | None = None,
    template: Callable[[int], dict[str, Any] | None] | None = None,
) -> None:
    global _campaign_lookup, _template_lookup
    if campaign is not None:
        _campaign_lookup = campaign
    if template is not None:
        _template_lookup = template


def campaign(campaign_id: int) -> dict[str, Any] | None:
    return _campaign_lookup(campaign_id) if _campaign_lookup else None


def template(template_id: int) -> dict[str, Any] | None:
    return _template_lookup(template_id) if _template_lookup else None
