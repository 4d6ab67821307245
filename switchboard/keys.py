"""Redis key builders, in one place: every key the platform writes starts with the site's prefix.

Redis holds only what can be rebuilt from SQL and Asterisk.
"""

from __future__ import annotations

PREFIX = "sb"


def operator(sip_user: str) -> str:
    return f"{PREFIX}:operator:{sip_user}"


def operators() -> str:
    return f"{PREFIX}:operators"


def calls_in_progress() -> str:
    return f"{PREFIX}:calls"


def inbound_counters() -> str:
    return f"{PREFIX}:inbound"


def ami_state() -> str:
    return f"{PREFIX}:ami"


def queue(name: str) -> str:
    """A hash of one queue's live figures (switchboard.wallboard.queue_board)."""
    return f"{PREFIX}:queue:{name}"


def queues() -> str:
    """The set of queue names that have a figures hash."""
    return f"{PREFIX}:queues"
