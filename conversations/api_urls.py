from django.urls import path

from conversations.api import TestMessageView
from conversations.privacy_api import PersonalDataView

urlpatterns = [
    path("test-messages", TestMessageView.as_view(), name="test-message"),
    path("line-users/<str:line_user_id>/personal-data", PersonalDataView.as_view(), name="personal-data"),
]
