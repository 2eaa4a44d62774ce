from django.apps import AppConfig


class RichMessagesConfig(AppConfig):
    name = "richmessages"
    verbose_name = "Rich messages"

    def ready(self):
        # Checks, runtime settings, the rich-menu tap handler, tasks and admin in their own modules,
        # the campaign tasks connected to the campaign signals, and step-message enrolment on follow.
        from richmessages import (  # noqa: F401
            checks,
            richmenu_admin,
            richmenu_postbacks,
            richmenu_tasks,
            runtime_settings,
            tasks,
        )
        from richmessages.campaigns import receivers  # noqa: F401
