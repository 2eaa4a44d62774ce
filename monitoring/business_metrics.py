"""What the bot did for its users, as Prometheus counters; the code that does it increments them.

* ``line_answers_sent_total{method}``: answers LINE accepted, by ``reply`` or ``push``
  (conversations/delivery.py).
* ``line_reply_fallbacks_total{reason}``: answers pushed because the reply token could not be
  used: ``budget_exceeded`` (the work took longer than the reply budget), ``token_refused``
  (LINE refused the token) or ``reply_failed`` (every reply attempt failed).
* ``line_push_duplicates_total``: pushes LINE answered with 409: the same retry key had been
  accepted before, so the user got the message once, as intended.
* ``campaign_messages_sent_total{method}``: see :data:`CAMPAIGN_MESSAGES_SENT`.
* Tokens used are ``llm_tokens_total{kind}`` (``prompt``/``completion``), counted where the model
  answers, in core/llm/client.py.
"""

from __future__ import annotations

from prometheus_client import Counter

ANSWER_METHODS = ("reply", "push")
FALLBACK_REASONS = ("budget_exceeded", "token_refused", "reply_failed")
CAMPAIGN_METHODS = ("push", "multicast", "narrowcast", "broadcast")

ANSWERS_SENT = Counter("line_answers_sent_total", "Answers LINE accepted, by method", ["method"])
REPLY_FALLBACKS = Counter(
    "line_reply_fallbacks_total", "Answers pushed because the reply token could not be used", ["reason"]
)
PUSH_DUPLICATES = Counter(
    "line_push_duplicates_total", "Pushes LINE had accepted before under the same retry key (HTTP 409)"
)

CAMPAIGN_MESSAGES_SENT = Counter(
    "campaign_messages_sent_total", "Campaign messages LINE accepted, per recipient, by API", ["method"]
)
"""Campaign messages LINE accepted, counted per recipient.

For the campaign sender: once LINE accepted a request (2xx, or 409 for a retry key it had
accepted before), add the number of recipients it reached, labelled by the API used,
one of :data:`CAMPAIGN_METHODS`::

    from monitoring.business_metrics import CAMPAIGN_MESSAGES_SENT

    CAMPAIGN_MESSAGES_SENT.labels(method="multicast").inc(len(user_ids))

Recipients, not requests: a multicast to 500 users adds 500.  A broadcast or narrowcast
adds the audience size LINE reports, once known.  Never label by campaign: an unbounded
label would grow the metric without end; the campaign's own records say which one.
"""

# Every series exists from the start, so a dashboard shows 0 rather than "no data".
for _method in ANSWER_METHODS:
    ANSWERS_SENT.labels(method=_method)
for _reason in FALLBACK_REASONS:
    REPLY_FALLBACKS.labels(reason=_reason)
for _method in CAMPAIGN_METHODS:
    CAMPAIGN_MESSAGES_SENT.labels(method=_method)
