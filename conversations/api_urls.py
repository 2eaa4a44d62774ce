from django.urls import path

from conversations.staff_api import TestMessageView

urlpatterns = [
    path("test-messages", TestMessageView.as_view(), name="test-message"),
]
