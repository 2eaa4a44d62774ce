"""The runtime settings of monitoring: what the language model costs, for the operations dashboard.

Prices are US dollars per million tokens, one pair (prompt, completion) per model an operator may
choose (``LLM_ALLOWED_MODELS``) and one for any other model name.  The defaults are the providers'
public list prices when this was written; set your contract's prices in the ops console.
"""

from __future__ import annotations

from django.conf import settings

from core.config.registry import Definition, register

# (prompt, completion) in USD per million tokens.
LIST_PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}
OTHER = "other"


def price_key(model: str, kind: str) -> str:
    return f"llm.price.{model}.{kind}_per_million"


def priced_models() -> list[str]:
    return [*dict.fromkeys(settings.LLM_ALLOWED_MODELS), OTHER]


def _definitions():
    for model in priced_models():
        prompt, completion = LIST_PRICES.get(model, (0.0, 0.0))
        label = "any other model" if model == OTHER else model
        yield Definition(
            price_key(model, "prompt"),
            float,
            prompt,
            f"US dollars per million prompt tokens of {label} (the dashboards' LLM cost).",
            min_value=0.0,
            max_value=10_000.0,
        )
        yield Definition(
            price_key(model, "completion"),
            float,
            completion,
            f"US dollars per million completion tokens of {label} (the dashboards' LLM cost).",
            min_value=0.0,
            max_value=10_000.0,
        )


register(*_definitions())
