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
TRANSFER = "SWITCHBOARD_TRANSFER"  # where an operator sent the call: queue:NAME or operator:SIP_USER
VOICEMAIL = "SWITCHBOARD_VOICEMAIL"  # the file a caller's voice message goes to (EXIT = voicemail)

# Contexts in the rendered dialplan.
CTX_INBOUND = "switchboard-inbound"
CTX_HOTLINE = "switchboard-hotline"
CTX_OPERATORS = "switchboard-operators"
CTX_FAIL = "switchboard-fail"
CTX_ADMIN = "switchboard-admin"
CTX_SUPERVISORS = "switchboard-supervisors"  # operators' feature codes plus listen, whisper and barge
CTX_OUTBOUND = "switchboard-outbound"  # where the dialer's answered calls start (AMI Originate)
CTX_TRANSFER = "switchboard-transfer"  # operators' blind transfers (features.conf #1, AMI BlindTransfer) land here
FAIL_EXTEN = "s"

# FastAGI script names (agi://host:port/<name>).
AGI_ROUTE = "route"
AGI_OUTBOUND = "outbound"  # a dialer's call answered: person (to an operator), machine, dnc (key pressed)
AGI_OPERATOR = "operator"  # feature codes: login, logout, pause <reason>, unpause

# Session mode: each operator's personal holding bridge (ConfBridge) is this prefix + their SIP user.
SESSION_BRIDGE_PREFIX = "switchboard-op-"
BRIDGE = "SWITCHBOARD_BRIDGE"  # the holding bridge the session feature code joins ("" when refused)
