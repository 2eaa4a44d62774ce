from django.apps import AppConfig


class RichMessagesConfig(AppConfig):
    name = "richmessages"
    verbose_name = "Rich messages"

    def ready(self):
        # Checks, runtime settings, the tap handlers of rich menus and rich messages, tasks and admin,
        # the campaign tasks connected to the campaign signals, and step-message enrolment on follow.
        from richmessages import (  # noqa: F401
            analytics_subjects,
            checks,
            message_postbacks,
            personal_data,
            richmenu_admin,
            richmenu_postbacks,
            richmenu_tasks,
            runtime_settings,
            tasks,
        )
        from richmessages.campaigns import receivers  # noqa: F401

        personal_data.register()
