"""The one token estimate: used to trim prompts to a budget, and when a server streams no usage."""

from __future__ import annotations


def estimate_tokens(text: str) -> int:
    """A fast, provider-neutral estimate: ~4 ASCII characters per token, ~1 per other character."""
    if not text:
        return 0
    # Counting the ASCII characters through the codec runs at C speed.
    ascii_chars = len(text.encode("ascii", "ignore"))
    return max(1, ascii_chars // 4 + (len(text) - ascii_chars))
