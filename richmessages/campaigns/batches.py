"""Writing a batch of guard decisions: its chunks (at most 500 user ids each, with their retry keys), its
recipient rows (PostgreSQL ``COPY``, ``bulk_create`` elsewhere), its holdout events and the send's counters.

Used by the preparation of a send, the release of held recipients and step messages, always inside the
caller's transaction. The send's counters are updated last: many batches of one send are written at once by
parallel parts, and the row lock that update takes is held only until the batch commits.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import F
from django.utils import timezone

from analytics.models import Event
from analytics.services import events_record_bulk
from richmessages.campaigns import guards
from richmessages.campaigns.models import MAX_CHUNK, Campaign, CampaignChunk, CampaignRecipient, CampaignSend

RECIPIENT_COLUMNS = ("send_id", "line_user_id", "variant", "status", "reason", "chunk_id", "release_at", "sent_at")


def content_of(campaign: Campaign) -> dict[str, int]:
    """rich message id per variant name ("" when the campaign has one message)."""
    variants = {variant.name: variant.rich_message_id for variant in campaign.variants.all()}
    return variants or {"": campaign.rich_message_id}


def copy_recipients(rows: list[tuple]) -> None:
    """Writes recipient rows (in RECIPIENT_COLUMNS order) in one go: COPY on PostgreSQL."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = CampaignRecipient._meta.db_table
        columns = ", ".join(RECIPIENT_COLUMNS)
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    CampaignRecipient.objects.bulk_create(
        [CampaignRecipient(**dict(zip(RECIPIENT_COLUMNS, row, strict=True))) for row in rows], batch_size=1000
    )


def chunks_for(send: CampaignSend, decisions: list[guards.Decision], content: dict[str, int]) -> dict[int, int]:
    """Creates the chunks of the pending decisions (at most MAX_CHUNK each, one variant each);
    returns line_user pk → chunk id."""
    by_variant: dict[str, list[int]] = defaultdict(list)
    for decision in decisions:
        if decision.status == CampaignRecipient.Status.PENDING:
            by_variant[decision.variant].append(decision.line_user_pk)
    planned = []
    for variant, pks in sorted(by_variant.items()):
        for start in range(0, len(pks), MAX_CHUNK):
            members = pks[start : start + MAX_CHUNK]
            chunk = CampaignChunk(send=send, variant=variant, rich_message_id=content[variant], size=len(members))
            planned.append((chunk, members))
    CampaignChunk.objects.bulk_create([chunk for chunk, _ in planned])
    return {pk: chunk.pk for chunk, members in planned for pk in members}


def count_of(decisions: list[guards.Decision]) -> dict[str, int]:
    counts = {"recipients": len(decisions), "skipped": 0, "held": 0}
    for decision in decisions:
        if decision.status == CampaignRecipient.Status.SKIPPED:
            counts["skipped"] += 1
        elif decision.status == CampaignRecipient.Status.HELD:
            counts["held"] += 1
    return counts


def write_batch(send: CampaignSend, decisions: list[guards.Decision], content: dict[str, int]) -> list[int]:
    """Chunks and recipient rows of one batch and the send's counters; returns the new chunk ids."""
    chunk_of = chunks_for(send, decisions, content)
    copy_recipients(
        [
            (send.pk, d.line_user_pk, d.variant, d.status, d.reason, chunk_of.get(d.line_user_pk), d.release_at, None)
            for d in decisions
        ]
    )
    held_out = [d.line_user_pk for d in decisions if d.reason == CampaignRecipient.Reason.HOLDOUT]
    # The holdout is the baseline of each variant's lift: analytics needs to know who was left out, and when.
    events_record_bulk(
        type=Event.Type.HOLDOUT, line_user_ids=held_out, occurred_at=timezone.now(), campaign_id=send.campaign_id
    )
    counts = count_of(decisions)
    CampaignSend.objects.filter(pk=send.pk).update(
        recipients=F("recipients") + counts["recipients"],
        skipped=F("skipped") + counts["skipped"],
        held=F("held") + counts["held"],
    )
    return sorted(set(chunk_of.values()))
