"""Public URLs of rich messages: the images LINE fetches. Everything under /media/ goes to one view,
which answers only for names of stored rich images."""

from django.urls import re_path

from richmessages import hosting

urlpatterns = [
    re_path(r"^media/(?P<name>.*)$", hosting.serve, name="rich-image"),
]
