"""What conversations announces to other apps, so that they react without conversations importing them."""

from django.dispatch import Signal

# Sent after a follow event made the user active: ``user`` (a LineUser) and ``followed_at``.
line_user_followed = Signal()

# Sent by the worker for each message, follow and unfollow it handles, once the user is known: ``event_type``,
# ``user`` (a LineUser), ``occurred_at`` (LINE's timestamp) and ``props`` (message type, source type). A retried
# event sends it again with the same ``occurred_at`` and ``first_attempt`` False (no earlier attempt can have
# been announced when it is True); receivers must not break the handling (send_robust).
line_event_handled = Signal()
