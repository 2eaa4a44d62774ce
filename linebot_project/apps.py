from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Ends start-up: last in INSTALLED_APPS, so its ready() runs after every other app's."""

    name = "linebot_project"
    verbose_name = "LINE bot platform"

    def ready(self):
        from core.startup import start_up_done

        start_up_done()
