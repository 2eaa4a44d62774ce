"""A URL whose view fails, for the tests of error capture."""

from django.urls import path


def broken_view(request):
    raise RuntimeError("the view broke")


urlpatterns = [path("broken", broken_view)]
