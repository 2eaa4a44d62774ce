"""A batch of a send's audience decided and written by PostgreSQL in one statement, when SQL can decide it.

The guards that need no hash and no time zone (unfollowed, opted out, the daily and weekly frequency caps,
the cooldown) are ``CASE`` expressions over the candidates and their history (one grouped read of the
recipient index by the batch's pk range); the pending ones are numbered in pk order and cut into chunks of
``MAX_CHUNK``, whose ids are drawn from the chunk table's own sequence, so the chunks and the recipient rows
that point at them are inserted by the same statement. Nothing of a recipient passes through Python.

It decides exactly as :func:`guards.evaluate` does, in the same order; a campaign with a holdout, A/B
variants, quiet hours or a local send time (hashes and time zones) is decided by ``guards`` row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from conversations.models import LineUser
from richmessages.campaigns import audiences, guards
from richmessages.campaigns.models import MAX_CHUNK, Campaign, CampaignChunk, CampaignRecipient, CampaignSend

Reason = CampaignRecipient.Reason
Status = CampaignRecipient.Status


def decidable(rules: guards.Rules) -> bool:
    """Whether SQL decides this campaign's batches (PostgreSQL, and no guard that needs a hash or a zone)."""
    return (
        connection.vendor == "postgresql"
        and not rules.holdout_percent
        and not rules.variants
        and rules.quiet is None
        and rules.local_wall is None
    )


@dataclass(frozen=True)
class Written:
    last_pk: int | None  # the last candidate of the batch; None when there was none
    recipients: int
    skipped: int
    chunk_ids: list[int]


def _history(rules: guards.Rules, now: datetime) -> tuple[str, list]:
    if not rules.needs_history:
        return "SELECT NULL::bigint AS line_user_id, 0 AS day, 0 AS week, NULL::timestamptz AS last WHERE false", []
    since = now - max(timedelta(days=7), rules.cooldown or timedelta())
    table = CampaignRecipient._meta.db_table
    return (
        "SELECT line_user_id, count(*) FILTER (WHERE sent_at >= %s) AS day, "  # noqa: S608 - our own table
        "count(*) FILTER (WHERE sent_at >= %s) AS week, max(sent_at) AS last "
        f"FROM {table} WHERE status = %s AND sent_at >= %s "
        "AND line_user_id BETWEEN (SELECT min(pk) FROM cand) AND (SELECT max(pk) FROM cand) "
        "GROUP BY line_user_id",
        [now - timedelta(days=1), now - timedelta(days=7), Status.SENT, since],
    )


def _reason(rules: guards.Rules, now: datetime) -> tuple[str, list]:
    """The first guard that applies, in guards.evaluate's order ('' for none)."""
    cases = ["WHEN c.status <> %s THEN %s", "WHEN c.opted_out_at IS NOT NULL THEN %s"]
    params: list = [LineUser.Status.ACTIVE, Reason.UNFOLLOWED, Reason.OPTED_OUT]
    if rules.cap_day:
        cases.append("WHEN h.day >= %s THEN %s")
        params += [rules.cap_day, Reason.FREQUENCY_DAY]
    if rules.cap_week:
        cases.append("WHEN h.week >= %s THEN %s")
        params += [rules.cap_week, Reason.FREQUENCY_WEEK]
    if rules.cooldown:
        cases.append("WHEN h.last > %s THEN %s")
        params += [now - rules.cooldown, Reason.COOLDOWN]
    return f"CASE {' '.join(cases)} ELSE '' END", params


def write_batch(
    send: CampaignSend,
    campaign: Campaign,
    rules: guards.Rules,
    *,
    after_pk: int,
    last_pk: int | None,
    limit: int,
    now: datetime,
) -> Written:
    """Decides and writes the next ``limit`` candidates in (after_pk, last_pk]: chunks and recipient rows. The
    send's counters are the caller's."""
    users = audiences.candidates(campaign.audience).filter(pk__gt=after_pk)
    if last_pk is not None:
        users = users.filter(pk__lte=last_pk)
    candidates, candidate_params = users.values_list("pk", "status", "opted_out_at")[:limit].query.sql_with_params()
    history, history_params = _history(rules, now)
    reason, reason_params = _reason(rules, now)
    chunks, recipients = CampaignChunk._meta.db_table, CampaignRecipient._meta.db_table
    sql = f"""
        WITH cand AS ({candidates}),
        hist AS ({history}),
        decided AS (
            SELECT c.pk AS id, {reason} AS reason FROM cand c LEFT JOIN hist h ON h.line_user_id = c.pk
        ),
        numbered AS (
            SELECT id, reason,
                   CASE WHEN reason = '' THEN (row_number() OVER (PARTITION BY reason = '' ORDER BY id) - 1) / %s
                   END AS slot
            FROM decided
        ),
        slots AS (
            SELECT slot, size, nextval(pg_get_serial_sequence(%s, 'id')) AS chunk_id
            FROM (SELECT slot, count(*) AS size FROM numbered WHERE slot IS NOT NULL GROUP BY slot ORDER BY slot) g
        ),
        new_chunks AS (
            INSERT INTO {chunks} (id, send_id, variant, rich_message_id, retry_key, status, size, attempts,
                                  line_request_id, duplicate, error, created_at, updated_at)
            SELECT chunk_id, %s, '', %s, gen_random_uuid(), %s, size, 0, '', false, '', %s, %s FROM slots
            RETURNING id
        ),
        new_recipients AS (
            INSERT INTO {recipients} (send_id, line_user_id, variant, status, reason, chunk_id)
            SELECT %s, n.id, '', CASE WHEN n.reason = '' THEN %s ELSE %s END, n.reason, s.chunk_id
            FROM numbered n LEFT JOIN slots s ON s.slot = n.slot
            RETURNING 1
        )
        SELECT (SELECT max(pk) FROM cand), (SELECT count(*) FROM new_recipients),
               (SELECT count(*) FROM decided WHERE reason <> ''),
               (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM new_chunks)
    """  # noqa: S608 - table names and our own queries; every value is a parameter
    params = [
        *candidate_params,
        *history_params,
        *reason_params,
        MAX_CHUNK,
        chunks,
        send.pk,
        campaign.rich_message_id,
        CampaignChunk.Status.PENDING,
        now,
        now,
        send.pk,
        Status.PENDING,
        Status.SKIPPED,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        last, count, skipped, chunk_ids = cursor.fetchone()
    return Written(last_pk=last, recipients=count, skipped=skipped, chunk_ids=list(chunk_ids))
