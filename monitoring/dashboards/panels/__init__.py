"""The built-in panels of the three dashboards; other apps add theirs with ``register_panel``."""

from monitoring.dashboards.panels import analytics, campaigns, operations

__all__ = ["analytics", "campaigns", "operations"]
