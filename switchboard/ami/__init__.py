"""Talking to Asterisk over AMI: the wire format (``framing``), the asyncio client (``client``) and its
per-connection bookkeeping of pending actions (``link``).

Raw AMI names stay inside this package's users in ``switchboard``; the core never imports it.
"""

from switchboard.ami.client import AmiClient, AmiEvent, ConnectHook, ConnectionChange
from switchboard.ami.framing import (
    DEFAULT_MAX_MESSAGE_SIZE,
    AmiMessage,
    AmiParser,
    Headers,
    serialize_action,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "AmiClient",
    "AmiEvent",
    "AmiMessage",
    "AmiParser",
    "ConnectHook",
    "ConnectionChange",
    "Headers",
    "serialize_action",
]
