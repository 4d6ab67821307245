"""Names of the dialplan channel variables Switchboard sets and reads, in one place.

The templates, the AGI scripts and the AMI event translation all take the names from here.
"""

from __future__ import annotations

PREFIX = "SWITCHBOARD_"
CALL_ID = "SWITCHBOARD_CALL"  # our id of the call, set by the route script
HOTLINE = "SWITCHBOARD_HOTLINE"  # the hotline number dialed (from the site config, never from the caller)
QUEUE = "SWITCHBOARD_QUEUE"  # the queue the call was routed to
TARGET = "SWITCHBOARD_TARGET"  # the Dial string of the chosen operator ("" when nobody is free)
OPERATOR = "SWITCHBOARD_OPERATOR"  # the chosen operator's SIP user
RECORDING = "SWITCHBOARD_RECORDING"  # absolute path of the recording file ("" when not recorded)
RING_SECONDS = "SWITCHBOARD_RING_S"
EXIT = "SWITCHBOARD_EXIT"  # why a caller left the queue without an operator ("timeout"), "" otherwise
PROMPT = "SWITCHBOARD_PROMPT"  # the prompt an operator feature code plays back

# Contexts in the rendered dialplan.
CTX_INBOUND = "switchboard-inbound"
CTX_HOTLINE = "switchboard-hotline"
CTX_OPERATORS = "switchboard-operators"
CTX_FAIL = "switchboard-fail"
CTX_ADMIN = "switchboard-admin"
FAIL_EXTEN = "s"

# FastAGI script names (agi://host:port/<name>).
AGI_ROUTE = "route"
AGI_OPERATOR = "operator"  # feature codes: login, logout, pause <reason>, unpause
