"""LINE Platform double: the Messaging API checked against LINE's OpenAPI specs, a webhook sender acting as LINE
towards the bot, fault injection, recording, and the LINE simulator page.

Run it with ``python -m linesim.line`` (see linesim/README.md); in tests use
``linesim.line.testing.running_line_double``.
"""
