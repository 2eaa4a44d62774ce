"""What conversations announces to other apps, so that they react without conversations importing them."""

from django.dispatch import Signal

# Sent after a follow event made the user active: ``user`` (a LineUser) and ``followed_at``.
line_user_followed = Signal()
