"""System checks of rich messages: the fonts their images are drawn with are installed."""

from __future__ import annotations

from django.core.checks import Tags, Warning, register

from core.errors import ConfigurationError
from richmessages import fonts


@register(Tags.compatibility)
def check_fonts(app_configs=None, **kwargs):
    """A warning (not an error: everything else still runs) per problem with the configured fonts."""
    try:
        fonts.font_set()
    except ConfigurationError as error:
        return [
            Warning(
                error.message,
                hint="Run scripts/lib/fonts.sh as root, or set RICHMESSAGES_FONT_* to installed families.",
                id="richmessages.W001",
            )
        ]
    return []
