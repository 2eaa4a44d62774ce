from django.urls import path

from conversations.api import line_webhook

urlpatterns = [
    path("line/webhook", line_webhook, name="line-webhook"),
]
