from django.urls import path

from conversations.webhook import line_webhook

urlpatterns = [
    path("line/webhook", line_webhook, name="line-webhook"),
]
