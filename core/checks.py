from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility)
def check_environment(app_configs=None, **kwargs):
    """One error per missing or malformed environment variable."""
    seen: dict[str, str] = {}
    for problem in getattr(settings, "ENV_PROBLEMS", []):
        seen.setdefault(problem.name, problem.message)
    return [Error(message, id="core.E001", obj=name) for name, message in seen.items()]


def environment_errors() -> list[str]:
    return [str(error) for error in check_environment()]
