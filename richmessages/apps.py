from django.apps import AppConfig


class RichMessagesConfig(AppConfig):
    name = "richmessages"
