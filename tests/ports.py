"""Ports for the servers tests start: never fixed ones, so parallel runs do not collide."""

import socket


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; it is released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
