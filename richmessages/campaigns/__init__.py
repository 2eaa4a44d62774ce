"""Campaigns: rich messages scheduled to LINE users, approved by four eyes, delivered exactly once.

Modules by job: ``models`` (imported by ``richmessages.models``), ``services`` (writes and the four-eyes
workflow), ``selectors`` (reads, the recipient estimate, progress counts), ``audiences`` (who a campaign
reaches), ``schedules`` (send times, recurrences, time zones), ``guards`` (who is skipped or held, and why),
``preparation`` (recipients streamed into rows and chunks), ``delivery`` (chunks to LINE), ``dispatch``
(the per-minute claim, releases, step messages, sweeps), ``tasks``, ``api``, ``admin``.
"""
