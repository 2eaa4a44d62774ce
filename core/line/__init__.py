"""The LINE Platform: :mod:`core.line.client` is the only code that talks to it."""
