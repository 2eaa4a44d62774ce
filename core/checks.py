from django.conf import settings
from django.core.checks import Error, Tags, register

from core.env import simulator_credentials_problems


def _problems():
    yield from getattr(settings, "ENV_PROBLEMS", [])
    # Whatever the settings module, not only the one that sets the simulator's defaults.
    yield from simulator_credentials_problems(
        channel_secret=getattr(settings, "LINE_CHANNEL_SECRET", None),
        access_token=getattr(settings, "LINE_CHANNEL_ACCESS_TOKEN", None),
        api_base_url=getattr(settings, "LINE_API_BASE_URL", None),
        data_api_base_url=getattr(settings, "LINE_DATA_API_BASE_URL", None),
    )


@register(Tags.compatibility)
def check_environment(app_configs=None, **kwargs):
    """One error per missing, malformed or unsafe environment variable."""
    seen: dict[str, str] = {}
    for problem in _problems():
        seen.setdefault(problem.name, problem.message)
    return [Error(message, id="core.E001", obj=name) for name, message in seen.items()]


def environment_errors() -> list[str]:
    return [str(error) for error in check_environment()]
