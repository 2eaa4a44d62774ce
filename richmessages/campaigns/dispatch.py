"""The per-minute work of campaigns, for every campaign at once (no beat entry per campaign).

* :func:`sends_claim_due` claims due sends with ``SELECT … FOR UPDATE SKIP LOCKED``: two beats, a beat
  restarted at the due minute or the claim run twice all claim each send once, because the claim moves it
  out of ``pending`` in the same transaction that locked it. The next occurrence of a recurrence is created
  then (one row per occurrence, by a unique constraint).
* :func:`held_release` releases recipients held for quiet hours or their local send time once it comes.
* :func:`step_enrol` (on follow) and :func:`steps_dispatch` deliver step messages N days after a follow.
* :func:`stalled_work` finds work whose task was lost (a broker hiccup, a worker that never came back).

Each returns the ids of the work to queue; ``tasks`` queues them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.models import AuditEvent
from conversations.models import LineUser
from core.logging import get_logger
from richmessages.campaigns import guards, lifecycle, schedules
from richmessages.campaigns.batches import chunks_for, content_of, write_batch
from richmessages.campaigns.models import (
    Campaign,
    CampaignChunk,
    CampaignRecipient,
    CampaignSend,
    CampaignSendPart,
    StepEnrolment,
)

log = get_logger(__name__)

RELEASE_BATCH = 5000
STALLED_AFTER = timedelta(minutes=2)


def _next_occurrence(campaign: Campaign, send: CampaignSend) -> None:
    if not campaign.recurrence:
        return
    tz = schedules.zone(campaign.timezone)
    local = schedules.occurrence_wall(send.due_at, tz=tz, local_time=campaign.local_time)
    following = schedules.next_wall(send_at=campaign.send_at, recurrence=campaign.recurrence, tz=tz, after=local)
    if following is not None:
        due = schedules.due_at(following, tz=tz, local_time=campaign.local_time)
        CampaignSend.objects.bulk_create([CampaignSend(campaign=campaign, due_at=due)], ignore_conflicts=True)


def sends_claim_due(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Claims the due sends of sendable campaigns; returns their ids (each claimed exactly once)."""
    now = now or timezone.now()
    with transaction.atomic():
        sends = list(
            CampaignSend.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("campaign")
            .filter(
                status=CampaignSend.Status.PENDING,
                kind=CampaignSend.Kind.SCHEDULED,
                due_at__lte=now,
                campaign__status__in=lifecycle.SENDABLE,
            )
            .order_by("due_at", "pk")[:limit]
        )
        for send in sends:
            CampaignSend.objects.filter(pk=send.pk).update(status=CampaignSend.Status.PREPARING, claimed_at=now)
            campaign = send.campaign
            Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SCHEDULED).update(
                status=Campaign.Status.SENDING
            )
            _next_occurrence(campaign, send)
            lifecycle.record(
                campaign, AuditEvent.Action.CAMPAIGN_SEND_STARTED, send=send.pk, due_at=send.due_at.isoformat()
            )
    if sends:
        log.info("campaign_sends_claimed", sends=[send.pk for send in sends])
    return [send.pk for send in sends]


def _user_rows(pks: list[int]) -> list[tuple]:
    return list(LineUser.objects.filter(pk__in=pks).order_by("pk").values_list(*guards.USER_FIELDS))


def _apply_release(send: CampaignSend, decisions: list[guards.Decision]) -> list[int]:
    """Moves released recipients on: into new chunks, skipped, or held again; returns the new chunk ids."""
    chunk_of = chunks_for(send, decisions, content_of(send.campaign))
    members: dict[int, list[int]] = defaultdict(list)
    skipped: dict[str, list[int]] = defaultdict(list)
    held_again: dict[datetime, list[int]] = defaultdict(list)
    for decision in decisions:
        if decision.status == CampaignRecipient.Status.PENDING:
            members[chunk_of[decision.line_user_pk]].append(decision.line_user_pk)
        elif decision.status == CampaignRecipient.Status.SKIPPED:
            skipped[decision.reason].append(decision.line_user_pk)
        else:
            held_again[decision.release_at].append(decision.line_user_pk)
    mine = CampaignRecipient.objects.filter(send=send, status=CampaignRecipient.Status.HELD)
    for chunk_id, pks in members.items():
        mine.filter(line_user_id__in=pks).update(
            status=CampaignRecipient.Status.PENDING, reason="", chunk_id=chunk_id, release_at=None
        )
    for reason, pks in skipped.items():
        mine.filter(line_user_id__in=pks).update(status=CampaignRecipient.Status.SKIPPED, reason=reason)
    for release_at, pks in held_again.items():
        mine.filter(line_user_id__in=pks).update(release_at=release_at)
    moved = sum(len(pks) for pks in members.values())
    dropped = sum(len(pks) for pks in skipped.values())
    CampaignSend.objects.filter(pk=send.pk).update(held=F("held") - moved - dropped, skipped=F("skipped") + dropped)
    return sorted(members)


def held_release(*, now: datetime | None = None, limit: int = RELEASE_BATCH) -> tuple[list[int], list[int]]:
    """Releases held recipients whose time came (guards checked again); returns (chunk ids, send ids)."""
    now = now or timezone.now()
    chunk_ids: list[int] = []
    with transaction.atomic():
        rows = list(
            CampaignRecipient.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=CampaignRecipient.Status.HELD,
                release_at__lte=now,
                send__status=CampaignSend.Status.SENDING,
                send__campaign__status__in=lifecycle.SENDABLE,
            )
            .order_by("release_at", "pk")
            .values_list("send_id", "line_user_id", "variant")[:limit]
        )
        by_send: dict[int, dict[int, str]] = defaultdict(dict)
        for send_id, user_pk, variant in rows:
            by_send[send_id][user_pk] = variant
        for send_id, variants in by_send.items():
            send = CampaignSend.objects.select_for_update().select_related("campaign").get(pk=send_id)
            rules = guards.Rules.of(send.campaign, send)
            decisions = guards.evaluate(_user_rows(list(variants)), rules, now=now, releasing=variants)
            chunk_ids += _apply_release(send, decisions)
    if rows:
        log.info("campaign_recipients_released", count=len(rows), chunks=len(chunk_ids))
    return chunk_ids, sorted(by_send)


def step_enrol(*, user: LineUser, followed_at: datetime) -> int:
    """Enrols a new follower in every running step campaign (once per campaign, ever); returns how many."""
    campaigns = Campaign.objects.filter(step_days__isnull=False, status__in=lifecycle.SENDABLE)
    enrolments = [
        StepEnrolment(
            campaign=campaign,
            line_user=user,
            enrolled_at=followed_at,
            due_at=schedules.step_due_at(followed_at, campaign.step_days),
        )
        for campaign in campaigns
        if campaign.is_approved
    ]
    created = StepEnrolment.objects.bulk_create(enrolments, ignore_conflicts=True)
    return len(created)


def steps_dispatch(*, now: datetime | None = None, limit: int = RELEASE_BATCH) -> tuple[list[int], list[int]]:
    """Hands due step enrolments to a send per campaign; returns (chunk ids, send ids)."""
    now = now or timezone.now()
    chunk_ids: list[int] = []
    send_ids: list[int] = []
    with transaction.atomic():
        due = list(
            StepEnrolment.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=StepEnrolment.Status.WAITING, due_at__lte=now, campaign__status__in=lifecycle.SENDABLE)
            .order_by("due_at", "pk")
            .values_list("pk", "campaign_id", "line_user_id")[:limit]
        )
        by_campaign: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for pk, campaign_id, user_pk in due:
            by_campaign[campaign_id].append((pk, user_pk))
        for campaign_id, entries in by_campaign.items():
            campaign = Campaign.objects.get(pk=campaign_id)
            if not lifecycle.may_send(campaign):
                continue
            send = CampaignSend.objects.create(
                campaign=campaign,
                kind=CampaignSend.Kind.STEP,
                due_at=now,
                status=CampaignSend.Status.SENDING,
                prepared=True,
                released=True,
                claimed_at=now,
            )
            rows = _user_rows([user_pk for _, user_pk in entries])
            decisions = guards.evaluate(rows, guards.Rules.of(campaign, send), now=now)
            chunk_ids += write_batch(send, decisions, content_of(campaign))
            StepEnrolment.objects.filter(pk__in=[pk for pk, _ in entries]).update(
                status=StepEnrolment.Status.DISPATCHED, send=send
            )
            send_ids.append(send.pk)
    return chunk_ids, send_ids


@dataclass
class Stalled:
    prepare: list[int] = field(default_factory=list)
    parts: list[int] = field(default_factory=list)
    chunks: list[int] = field(default_factory=list)
    broadcasts: list[int] = field(default_factory=list)
    narrowcasts: list[int] = field(default_factory=list)
    # Sends whose work is all done but not marked so (the worker that was to notice died first).
    finish: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.prepare or self.parts or self.chunks or self.broadcasts or self.narrowcasts or self.finish)


def stalled_work(*, now: datetime | None = None, older_than: timedelta = STALLED_AFTER, limit: int = 1000) -> Stalled:
    """Work untouched for ``older_than``, as if its task was lost; marked touched so it is found once a round."""
    now = now or timezone.now()
    before = now - older_than
    found = Stalled()
    sendable = {"campaign__status__in": lifecycle.SENDABLE}
    # Preparing, or released early by a coordinator that died before it made the parts.
    preparing = CampaignSend.objects.filter(
        Q(status=CampaignSend.Status.PREPARING)
        | Q(status=CampaignSend.Status.SENDING, prepared=False, parts__isnull=True),
        updated_at__lt=before,
        **sendable,
    )
    found.prepare = list(preparing.values_list("pk", flat=True).distinct()[:limit])
    found.parts = list(
        CampaignSendPart.objects.filter(
            done=False,
            updated_at__lt=before,
            send__status__in=lifecycle.ACTIVE_SENDS,
            send__campaign__status__in=lifecycle.SENDABLE,
        ).values_list("pk", flat=True)[:limit]
    )
    sending = CampaignSend.objects.filter(status=CampaignSend.Status.SENDING, updated_at__lt=before, **sendable)
    found.broadcasts = list(sending.filter(method=CampaignSend.Method.BROADCAST).values_list("pk", flat=True)[:limit])
    found.narrowcasts = list(sending.filter(method=CampaignSend.Method.NARROWCAST).values_list("pk", flat=True)[:limit])
    found.chunks = list(
        CampaignChunk.objects.filter(
            status__in=CampaignChunk.OPEN,
            updated_at__lt=before,
            send__released=True,
            send__status=CampaignSend.Status.SENDING,
            send__campaign__status__in=lifecycle.SENDABLE,
        ).values_list("pk", flat=True)[:limit]
    )
    open_chunks = CampaignChunk.objects.filter(send_id=OuterRef("pk"), status__in=CampaignChunk.OPEN)
    found.finish = list(
        sending.filter(method=CampaignSend.Method.MULTICAST, released=True, prepared=True, held=0)
        .exclude(Exists(open_chunks))
        .values_list("pk", flat=True)[:limit]
    )
    CampaignSend.objects.filter(pk__in=[*found.prepare, *found.broadcasts, *found.narrowcasts]).update(updated_at=now)
    CampaignSendPart.objects.filter(pk__in=found.parts).update(updated_at=now)
    CampaignChunk.objects.filter(pk__in=found.chunks).update(updated_at=now)
    if found:
        log.warning(
            "campaign_stalled_work_requeued",
            prepare=len(found.prepare),
            parts=len(found.parts),
            chunks=len(found.chunks),
            broadcasts=len(found.broadcasts),
            narrowcasts=len(found.narrowcasts),
        )
    return found


def campaign_open_work(campaign_id: int) -> Stalled:
    """Everything of one campaign that may be queued now (after a resume or an approval)."""
    work = Stalled()
    sends = CampaignSend.objects.filter(campaign_id=campaign_id)
    # Preparing, or released early and still preparing: the coordinator queues the parts not done.
    work.prepare = list(
        sends.filter(
            Q(status=CampaignSend.Status.PREPARING) | Q(status=CampaignSend.Status.SENDING, prepared=False)
        ).values_list("pk", flat=True)
    )
    sending = sends.filter(status=CampaignSend.Status.SENDING)
    work.broadcasts = list(sending.filter(method=CampaignSend.Method.BROADCAST).values_list("pk", flat=True))
    work.narrowcasts = list(sending.filter(method=CampaignSend.Method.NARROWCAST).values_list("pk", flat=True))
    work.chunks = list(
        CampaignChunk.objects.filter(
            send__campaign_id=campaign_id,
            send__status=CampaignSend.Status.SENDING,
            send__released=True,
            status__in=CampaignChunk.OPEN,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return work
