"""Public URLs of analytics: tracked links."""

from django.urls import path

from analytics import links

urlpatterns = [
    path("r/<str:code>", links.redirect, name="tracked-link"),
]
