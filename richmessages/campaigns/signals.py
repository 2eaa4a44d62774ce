"""Signals of campaigns, so that writes need not import the task queue.

``campaign_work_ready`` is sent (after commit) when a service made work that can start at once: an approval
due now, a resume. ``tasks`` queues it; the per-minute beat would find it anyway, a little later.
"""

from django.dispatch import Signal

campaign_work_ready = Signal()  # campaign_id
