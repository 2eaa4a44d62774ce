from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"

    def ready(self):
        from conversations import personal_data, runtime_settings  # noqa: F401 - registers this app's runtime settings

        personal_data.register()
