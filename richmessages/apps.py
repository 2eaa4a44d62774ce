from django.apps import AppConfig


class RichMessagesConfig(AppConfig):
    name = "richmessages"
    verbose_name = "Rich messages"

    def ready(self):
        # The rich-menu tap handler, tasks and admin, kept in their own modules.
        from richmessages import (  # noqa: F401
            richmenu_admin,
            richmenu_postbacks,
            richmenu_tasks,
            runtime_settings,
        )
