from django.urls import path

from conversations.api import TestMessageView

urlpatterns = [
    path("test-messages", TestMessageView.as_view(), name="test-message"),
]
