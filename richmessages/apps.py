from django.apps import AppConfig


class RichMessagesConfig(AppConfig):
    name = "richmessages"

    def ready(self):
        from richmessages import checks, runtime_settings  # noqa: F401 - registers this app's checks and runtime settings
