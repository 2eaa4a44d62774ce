"""What rich messages and campaigns hold on a LINE user: reactions, a rich-menu link, sends, step enrolments.

Registered with :mod:`core.personal_data` from ``RichMessagesConfig.ready``. Campaign recipients stay
on erasure (they point at the user's tombstone), so a campaign's figures do not change; what was still
waiting to be sent to the user is skipped, and uploaded audience lists lose the user's id.
"""

from __future__ import annotations

from core import personal_data
from richmessages.campaigns.models import Campaign, CampaignRecipient, StepEnrolment
from richmessages.models import RichMessageReaction
from richmessages.richmenu_models import RichMenuUserLink
from richmessages.richmenu_tasks import richmenu_erased_user_unlink_enqueue


def export(subject: personal_data.Subject) -> dict:
    link = RichMenuUserLink.objects.filter(line_user_id=subject.pk).select_related("menu").first()
    return {
        "reactions": [
            {"rich_message": r.rich_message_id, "kind": r.kind, "created_at": r.created_at.isoformat()}
            for r in RichMessageReaction.objects.filter(line_user_id=subject.pk).order_by("created_at")
        ],
        "rich_menu": str(link.menu) if link is not None and link.menu is not None else None,
        "campaign_messages": [
            {
                "campaign": r.send.campaign_id,
                "variant": r.variant,
                "status": r.status,
                "reason": r.reason,
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            }
            for r in CampaignRecipient.objects.filter(line_user_id=subject.pk).select_related("send").order_by("id")
        ],
        "step_enrolments": [
            {"campaign": e.campaign_id, "status": e.status, "due_at": e.due_at.isoformat()}
            for e in StepEnrolment.objects.filter(line_user_id=subject.pk).order_by("id")
        ],
    }


def erase(subject: personal_data.Subject) -> dict[str, int]:
    links = RichMenuUserLink.objects.filter(line_user_id=subject.pk)
    if links.exclude(line_rich_menu_id="").exists():
        # LINE still shows the user our menu for them: take it away once the erasure has committed.
        richmenu_erased_user_unlink_enqueue(line_user_id=subject.line_user_id)
    waiting = CampaignRecipient.objects.filter(
        line_user_id=subject.pk, status__in=[CampaignRecipient.Status.HELD, CampaignRecipient.Status.PENDING]
    )
    return {
        "reactions": RichMessageReaction.objects.filter(line_user_id=subject.pk).delete()[0],
        "rich_menu_links": links.delete()[0],
        "step_enrolments": StepEnrolment.objects.filter(
            line_user_id=subject.pk, status=StepEnrolment.Status.WAITING
        ).delete()[0],
        "campaign_recipients_skipped": waiting.update(
            status=CampaignRecipient.Status.SKIPPED, reason=CampaignRecipient.Reason.CANCELLED, release_at=None
        ),
        "campaign_audiences_redacted": personal_data.redact(
            Campaign.objects.all(), ["audience", "audience_report"], subject.line_user_id, subject.replacement
        ),
    }


def register() -> None:
    personal_data.register(personal_data.Provider("richmessages", export=export, erase=erase, order=20))
