"""The runtime settings of rich messages."""

from __future__ import annotations

from core.config.registry import Definition, register

register(
    Definition(
        "richmessages.cooldown_minutes",
        int,
        60,
        "Minimum minutes between two rich messages sent to the same user.",
        min_value=0,
        max_value=10_080,
    ),
)
