from django.apps import AppConfig


class RichMessagesConfig(AppConfig):
    name = "richmessages"
    verbose_name = "Rich messages"

    def ready(self):
        from richmessages import (
            runtime_settings,  # noqa: F401 - registers this app's runtime settings
            tasks,  # noqa: F401 - connects the campaign tasks to the campaign signals
        )
        from richmessages.campaigns import receivers  # noqa: F401 - step messages are enrolled on follow
