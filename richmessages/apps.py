from django.apps import AppConfig


class RichMessagesConfig(AppConfig):
    name = "richmessages"
    verbose_name = "Rich messages"

    def ready(self):
        # Checks, runtime settings, the tap handlers of rich menus and rich messages, tasks and admin.
        from richmessages import (  # noqa: F401
            checks,
            message_postbacks,
            richmenu_admin,
            richmenu_postbacks,
            richmenu_tasks,
            runtime_settings,
        )
