"""Dashboards and their panels.

A dashboard is a page of the ops console and a websocket group; a panel is one box on it, with a
``collect`` function that the ticker calls and that returns plain numbers keyed by name::

    from monitoring.dashboards import Field, register_panel

    def _in_flight(ctx):
        return {"campaigns_in_flight": Campaign.objects.filter(state="sending").count()}

    register_panel(
        "campaigns", "in_flight", _in_flight,
        title="Campaigns in flight",
        fields=[Field("campaigns_in_flight", "Sending now")],
        every=10,
    )

``collect`` receives a :class:`monitoring.dashboards.context.TickContext` (merged Prometheus
metrics of every process, their recent history, today's start).  It runs in the ticker process,
never in a producer: producers only increment counters.  ``every`` is how often it runs; anything
slower than a counter read (a database query, the broker) should say 5 or more, and runs in a
thread so that it never delays a tick.  A panel returns the keys of its ``fields``, or keys
starting with its ``rows`` prefix, shown as a table that grows and shrinks (errors by kind).
Register panels from an ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Number = int | float | None

# Who may see a dashboard is a permission of monitoring.Alert's model, granted per role in
# accounts/roles.py.
DASHBOARDS: dict[str, Dashboard] = {}


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    # How the page shows the number: "count", "rate" (per second), "ms", "usd", "percent".
    unit: str = "count"
    # Drawn as a chart of its recent values, besides the number.
    chart: bool = False


@dataclass
class Panel:
    dashboard: str
    name: str
    collect: Callable[[Any], dict[str, Number]]
    title: str
    fields: tuple[Field, ...] = ()
    rows: str | None = None
    every: float = 1.0
    order: int = 100

    def owns(self, key: str) -> bool:
        if self.rows is not None and key.startswith(self.rows):
            return True
        return any(f.key == key for f in self.fields)


@dataclass
class Dashboard:
    name: str
    title: str
    description: str
    panels: dict[str, Panel] = field(default_factory=dict)

    @property
    def permission(self) -> str:
        return f"monitoring.view_{self.name}_dashboard"

    @property
    def group(self) -> str:
        """The channel-layer group its sockets join and the ticker publishes to."""
        return f"dashboard.{self.name}"

    def ordered_panels(self) -> list[Panel]:
        return sorted(self.panels.values(), key=lambda p: (p.order, p.name))

    def may_view(self, user) -> bool:
        return bool(user is not None and user.is_active and user.is_staff and user.has_perm(self.permission))


def define_dashboard(name: str, title: str, description: str = "") -> Dashboard:
    if name not in DASHBOARDS:
        DASHBOARDS[name] = Dashboard(name, title, description)
    return DASHBOARDS[name]


def register_panel(
    dashboard: str,
    name: str,
    collect_fn: Callable[[Any], dict[str, Number]],
    *,
    title: str | None = None,
    fields: list[Field] | tuple[Field, ...] = (),
    rows: str | None = None,
    every: float = 1.0,
    order: int = 100,
) -> Panel:
    """Adds (or replaces) panel ``name`` of ``dashboard``.

    Without ``fields`` and ``rows`` the panel's keys must start with ``"<name>."`` and are shown
    as rows.
    """
    if dashboard not in DASHBOARDS:
        raise ValueError(f"unknown dashboard {dashboard!r}; known: {', '.join(sorted(DASHBOARDS))}")
    if every < 1:
        raise ValueError("a panel cannot be collected more than once per tick (every >= 1 second)")
    if not fields and rows is None:
        rows = f"{name}."
    panel = Panel(
        dashboard=dashboard,
        name=name,
        collect=collect_fn,
        title=title or name.replace("_", " ").capitalize(),
        fields=tuple(fields),
        rows=rows,
        every=float(every),
        order=order,
    )
    DASHBOARDS[dashboard].panels[name] = panel
    return panel


def unregister_panel(dashboard: str, name: str) -> None:
    DASHBOARDS[dashboard].panels.pop(name, None)


def dashboards_for(user) -> list[Dashboard]:
    return [d for d in DASHBOARDS.values() if d.may_view(user)]


define_dashboard("operations", "Operations", "Traffic, latency, errors, queues and costs, live.")
define_dashboard("campaigns", "Campaigns", "Rich messages and campaigns being delivered today.")
define_dashboard("analytics", "Analytics", "Today's engagement of LINE users.")
