"""What campaigns sent, as Prometheus counters (the live dashboards read them; docs/ops-console.md lists them).

* ``campaign_messages_sent_total{method}``: campaign messages LINE accepted, one per recipient, by ``multicast``,
  ``broadcast`` or ``narrowcast``. Counted once per recipient when the delivery is recorded (after the
  transaction commits), so a chunk that LINE accepted twice (a 409 on a rerun) is counted once.
* ``campaign_chunks_duplicate_total``: multicast chunks LINE had accepted before under the same retry key.
"""

from __future__ import annotations

from django.db import transaction
from prometheus_client import Counter

METHODS = ("multicast", "broadcast", "narrowcast")

CAMPAIGN_SENDS = Counter("campaign_messages_sent_total", "Campaign messages LINE accepted, by method", ["method"])
CHUNK_DUPLICATES = Counter(
    "campaign_chunks_duplicate_total", "Multicast chunks LINE had accepted before under the same retry key"
)

for _method in METHODS:
    CAMPAIGN_SENDS.labels(method=_method)


def count_sent(method: str, recipients: int, *, duplicate: bool = False) -> None:
    """Counts ``recipients`` sent once the surrounding transaction commits (never for a rolled back one)."""

    def count() -> None:
        if recipients:
            CAMPAIGN_SENDS.labels(method=method).inc(recipients)
        if duplicate:
            CHUNK_DUPLICATES.inc()

    transaction.on_commit(count)
