"""Live dashboards of the ops console: a registry of panels, one ticker, websocket consumers.

See docs/ops-console.md ("Live dashboards") and :mod:`monitoring.dashboards.registry`.
"""

from monitoring.dashboards.registry import (
    DASHBOARDS,
    Dashboard,
    Field,
    Panel,
    dashboards_for,
    register_panel,
    unregister_panel,
)

__all__ = ["DASHBOARDS", "Dashboard", "Field", "Panel", "dashboards_for", "register_panel", "unregister_panel"]
