"""What conversations did for users, as Prometheus counters (docs/ops-console.md lists every metric).

* ``line_answers_sent_total{method}``: answers LINE accepted, by ``reply`` or ``push``.
* ``line_reply_fallbacks_total{reason}``: answers pushed because the reply token could not be
  used: ``budget_exceeded`` (the work took longer than the reply budget), ``token_refused``
  (LINE refused the token) or ``reply_failed`` (every reply attempt failed).
* ``line_push_duplicates_total``: pushes LINE answered with 409: the same retry key had been
  accepted before, so the user got the message once, as intended.

Tokens used are ``llm_tokens_total{kind}``, counted where the model answers (core/llm/client.py).
"""

from __future__ import annotations

from prometheus_client import Counter

ANSWER_METHODS = ("reply", "push")
FALLBACK_REASONS = ("budget_exceeded", "token_refused", "reply_failed")

ANSWERS_SENT = Counter("line_answers_sent_total", "Answers LINE accepted, by method", ["method"])
REPLY_FALLBACKS = Counter(
    "line_reply_fallbacks_total", "Answers pushed because the reply token could not be used", ["reason"]
)
PUSH_DUPLICATES = Counter(
    "line_push_duplicates_total", "Pushes LINE had accepted before under the same retry key (HTTP 409)"
)

# Every series exists from the start, so a dashboard shows 0 rather than "no data".
for _method in ANSWER_METHODS:
    ANSWERS_SENT.labels(method=_method)
for _reason in FALLBACK_REASONS:
    REPLY_FALLBACKS.labels(reason=_reason)
