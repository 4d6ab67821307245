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


def dialer(campaign: str) -> str:
    """A hash of one campaign's live dialer figures (switchboard.outbound_board), expiring when nobody writes it."""
    return f"{PREFIX}:dialer:{campaign}"


# -- The command bus (switchboard/commands.py): the console and the CLI ask the running platform to act ---------------
# Command names; a handler for each is listed in switchboard.commands.HANDLERS.
COMMAND_OPERATOR_LOGIN = "operator.login"
COMMAND_OPERATOR_LOGOUT = "operator.logout"
COMMAND_OPERATOR_PAUSE = "operator.pause"
COMMAND_OPERATOR_UNPAUSE = "operator.unpause"
COMMAND_OPERATOR_STATUS = "operator.status"
COMMAND_SUPERVISOR_LISTEN = "supervisor.listen"  # switchboard/supervise.py: ChanSpy from the supervisor's phone
COMMAND_SUPERVISOR_WHISPER = "supervisor.whisper"
COMMAND_SUPERVISOR_BARGE = "supervisor.barge"
COMMAND_SITE_RELOAD = "site.reload"  # switchboard/site_reload.py: the site file read again, no call dropped


def commands() -> str:
    """The list senders push commands onto (RPUSH) and the platform pops them from (BLPOP), oldest first."""
    return f"{PREFIX}:commands"


def command_reply(command_id: str) -> str:
    """The list one command's reply is pushed onto; its sender waits on it (BLPOP); it expires."""
    return f"{PREFIX}:command:{command_id}:reply"
