"""Every error Switchboard raises on purpose, in one tree, so callers can catch by kind.

SwitchboardError
├── ConfigError                 the site configuration is invalid (names the file, field and value)
├── AsteriskConfError           a rendered or edited Asterisk config was refused
│   ├── DialplanRefusedError    the check refused an admin's dialplan, naming its lines; nothing saved or sent
│   └── DialplanApplyError      Asterisk did not take an admin's dialplan (AMI, reload, verify): the previous is back
├── AmiError                    talking to the Asterisk Manager Interface
│   ├── AmiConnectionError      could not connect, or the connection was lost
│   │   └── AmiDisconnectedError   an action was pending when the connection went away (never replayed)
│   ├── AmiLoginError           Asterisk refused our user or secret
│   ├── AmiActionError          Asterisk answered an action with Response: Error
│   ├── AmiTimeoutError         no response within the timeout (ping or action)
│   ├── AmiProtocolError        Asterisk sent what cannot be framed as AMI (a message over the size limit)
│   └── UnsafeHeaderError       a header value held CR or LF and was refused before sending
├── AgiError                    talking FastAGI to a channel
│   ├── AgiProtocolError        the request or a reply was malformed, too large or too slow
│   ├── AgiHangupError          the channel hung up (HANGUP, or 200 result=-1)
│   └── AgiCommandError         Asterisk answered 510/511/520 to a command
├── StoreError                  the SQL store refused or lost a write
│   └── UnknownUserError        no console account has that name
├── LabError                    a real part started for a demo or a test (Asterisk, Redis, SIPp, softphones) failed
├── LeadFileError               a lead or DNC file (or its mapping) cannot be read; names the line, field or value
├── PrivacyError                an export, erasure or retention run was refused (an invalid number, a file it
│                               cannot rewrite, a table it does not know how to erase from)
├── CampaignError               a campaign file or setting was refused, or names no such campaign; names field and value
│   ├── AttemptRefusedError     the lead may not be dialled now (do-not-call, attempt caps, calling hours, status)
│   └── DispositionError        an operator's disposition was refused (reason, callback time, order form, survey)
├── CommandError                a command to the running platform over the Redis bus failed (switchboard/commands.py)
│   ├── CommandTimeoutError     no platform answered within the timeout (is `switchboard run` running?)
│   └── CommandRefusedError     the platform refused it: unknown command, bad arguments (named), no such operator
├── DaysOffError                a request for days off, or a decision on one, was refused; names the field and value
└── SupervisionError            a wallboard request was refused: a chart's date or zone, a staffing input (named)
    └── SpyRefusedError         listen/whisper/barge refused: no supervisor's phone, no such operator, not on a call
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asterisk_conf.dialplan_args import Problem


class SwitchboardError(Exception):
    """Root of every error Switchboard raises on purpose."""


class ConfigError(SwitchboardError):
    """The site configuration is invalid; the message names the file, the field and the value."""

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None) -> None:
        self.path = path
        self.field = field
        super().__init__(message)


class AsteriskConfError(SwitchboardError):
    """An Asterisk config (rendered or edited by an admin) was refused; the message names the line."""


class DialplanRefusedError(AsteriskConfError):
    """The check refused the admin's dialplan; `problems` name the lines. Nothing was saved or sent to Asterisk."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("the dialplan was refused:\n" + "\n".join(str(p) for p in problems))


class DialplanApplyError(AsteriskConfError):
    """Asterisk did not take the new dialplan (AMI down, reload refused, not what was sent): the previous is back."""


class AmiError(SwitchboardError):
    """Talking to the Asterisk Manager Interface failed."""


class AmiConnectionError(AmiError):
    """Could not connect to AMI, or the connection was lost."""


class AmiDisconnectedError(AmiConnectionError):
    """An action was pending when the connection went away; it is failed, never replayed."""


class AmiLoginError(AmiError):
    """Asterisk refused the AMI user or secret."""


class AmiActionError(AmiError):
    """Asterisk answered an action with Response: Error."""

    def __init__(self, message: str, *, response: object | None = None) -> None:
        self.response = response
        super().__init__(message)


class AmiTimeoutError(AmiError):
    """No answer within the timeout (an action, or the keep-alive ping)."""


class AmiProtocolError(AmiError):
    """Asterisk sent bytes that cannot be framed as AMI (a message over the size limit); the link is dropped."""


class UnsafeHeaderError(AmiError, ValueError):
    """A header name or value held CR or LF (or a name held ':') and was refused before sending."""


class AgiError(SwitchboardError):
    """Talking FastAGI to a channel failed."""


class AgiProtocolError(AgiError):
    """The AGI request or a reply was malformed, too large or too slow."""


class AgiHangupError(AgiError):
    """The channel hung up while the AGI script ran (HANGUP, or 200 result=-1)."""


class AgiCommandError(AgiError):
    """Asterisk answered an AGI command with 510, 511 or 520."""


class StoreError(SwitchboardError):
    """The SQL store refused or lost a write."""


class UnknownUserError(StoreError):
    """No console account has that name (a disable, enable or password reset of nobody)."""


class LabError(SwitchboardError):
    """A real part started for a demo or a test (Asterisk, Redis, SIPp, softphones) failed."""


class LeadFileError(SwitchboardError):
    """A lead or do-not-call file, or its mapping, cannot be read at all; nothing of it is stored.

    Rows that cannot be used are not errors: they are counted and listed with their lines.
    """


class PrivacyError(SwitchboardError):
    """A personal-data export, erasure or retention run was refused; the message names the number, file or table.

    An erasure that fails part-way leaves the store as it was (one transaction); files already masked stay masked,
    and running the erasure again finishes the job.
    """


class CampaignError(SwitchboardError):
    """A campaign file or setting was refused, or a campaign, lead or attempt does not exist; names field and value."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class AttemptRefusedError(CampaignError):
    """The lead may not be dialled now: on a do-not-call list, past an attempt cap, outside calling hours, or done."""


class DispositionError(CampaignError):
    """An operator's disposition was refused: an unknown code, no refusal reason, a bad callback, form or survey."""


class CommandError(SwitchboardError):
    """A command sent to the running platform over the Redis command bus failed (or Redis could not be reached)."""


class CommandTimeoutError(CommandError):
    """No platform answered within the timeout: it is not running, or too busy. The command may still have run."""


class CommandRefusedError(CommandError):
    """The platform refused the command: unknown name, bad arguments (`field` names the one), no such operator."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class DaysOffError(SwitchboardError):
    """A request for days off, or a supervisor's decision on one, was refused; `field` names the field at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class SupervisionError(SwitchboardError):
    """A wallboard request was refused: a chart's date or time zone, a staffing calculator input; names it."""


class SpyRefusedError(SupervisionError):
    """Listen / whisper / barge refused: no supervisor's phone, no such operator, not on a call, an unknown mode.

    `field` names the argument at fault (supervisor, operator, mode), as the command bus reports it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)
