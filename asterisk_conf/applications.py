"""The dialplan applications our Asterisk has loaded: an admin's dialplan may use these and no other.

Made from the real thing: a lab Asterisk 16 (switchboard/lab, modules.conf from asterisk_conf/templates) answered
`asterisk -C DIR/asterisk.conf -rx 'core show applications'`, read by `parse_core_show_applications`.
tests/integration/test_dialplan_admin.py asks the running Asterisk again and fails when this list goes stale
(a module added to modules.conf, another Asterisk version): regenerate it then, from that test's output.
"""

from __future__ import annotations

import re

# Asterisk 16.28 with the modules our modules.conf loads (autoload = no), 74 applications.
APPLICATIONS: frozenset[str] = frozenset({
    "AddQueueMember", "AGI", "AMD", "Answer", "BackGround", "BlindTransfer", "Bridge", "Busy",
    "CallCompletionCancel", "CallCompletionRequest", "ChanSpy", "ClearHash", "ConfBridge", "ConfKick", "Congestion",
    "DAHDIScan", "DeadAGI", "Dial", "EAGI", "Echo", "ExecIfTime", "ExtenSpy", "Gosub", "GosubIf", "Goto", "GotoIf",
    "GotoIfTime", "Hangup", "HangupCauseClear", "ImportVar", "Incomplete", "Log", "MessageSend", "MixMonitor",
    "MSet", "MusicOnHold", "NoOp", "PauseQueueMember", "Playback", "Proceeding", "Progress", "Queue", "QueueLog",
    "QueueUpdate", "RaiseException", "Read", "Record", "RemoveQueueMember", "RetryDial", "Return", "Ringing",
    "SayAlpha", "SayAlphaCase", "SayDigits", "SayMoney", "SayNumber", "SayOrdinal", "SayPhonetic", "SendDTMF", "Set",
    "SetAMAFlags", "StackPop", "StartMusicOnHold", "StopMixMonitor", "StopMusicOnHold", "Transfer",
    "UnpauseQueueMember", "UserEvent", "Verbose", "Wait", "WaitDigit", "WaitExten", "WaitForNoise", "WaitForSilence",
})  # fmt: skip

# Asterisk looks applications up without regard to case.
_BY_LOWER = {name.lower(): name for name in APPLICATIONS}
_LISTED = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*): ")


def known_application(name: str, applications: frozenset[str] = APPLICATIONS) -> str | None:
    """The application's own spelling if Asterisk has it loaded, else None."""
    if applications is APPLICATIONS:
        return _BY_LOWER.get(name.lower())
    return next((app for app in applications if app.lower() == name.lower()), None)


def parse_core_show_applications(output: str) -> frozenset[str]:
    """The names in `core show applications` output ("        Answer: Answer a channel if ringing.")."""
    return frozenset(m.group(1) for line in output.splitlines() if (m := _LISTED.match(line)))
