"""What campaigns do when conversations announce something."""

from __future__ import annotations

from django.dispatch import receiver

from conversations.signals import line_user_followed
from richmessages.campaigns.dispatch import step_enrol


@receiver(line_user_followed, dispatch_uid="campaigns-step-enrol-on-follow")
def _enrol_in_step_campaigns(sender, user, followed_at, **kwargs) -> None:
    step_enrol(user=user, followed_at=followed_at)
