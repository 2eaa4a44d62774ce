from django.apps import AppConfig


class RichMessagesConfig(AppConfig):
    name = "richmessages"
    verbose_name = "Rich messages"

    def ready(self):
        from richmessages import runtime_settings  # noqa: F401 - registers this app's runtime settings
