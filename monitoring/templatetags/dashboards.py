from django import template

from monitoring.dashboards.registry import dashboards_for

register = template.Library()


@register.inclusion_tag("monitoring/_dashboard.html", takes_context=True)
def home_dashboard(context):
    """The first dashboard the signed-in user may see (operations before campaigns before analytics)."""
    allowed = dashboards_for(context["request"].user)
    return {"dashboard": allowed[0] if allowed else None, "dashboards": allowed}
