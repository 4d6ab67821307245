"""The site configuration's sections (Asterisk, AMI, operators, queues, hotlines, the trunk, retention, dialers),
each a validated model; switchboard.config puts them together into the Site and loads it from TOML.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from acd.model import QueueRule, Step

# Dialable numbers: an optional + then digits; short internal numbers are allowed for hotlines.
NUMBER_RE = re.compile(r"^\+?[0-9]{3,15}$")
# SIP users and queue names end up in dialplan and config section names: keep them to a safe alphabet.
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
MIN_SECRET = 12

Port = Annotated[int, Field(ge=1, le=65535)]
Level = Annotated[int, Field(ge=1, le=5)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone called `name`; ValueError when there is none (a typo, a folder such as 'Europe', a path)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("not an IANA time zone (such as Europe/Moscow or UTC)") from None


def _check_name(value: str, what: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(f"{what} must start with a letter and hold only letters, digits, '_' or '-' (40 at most)")
    return value


def _check_number(value: str) -> str:
    if not NUMBER_RE.match(value):
        raise ValueError("a number is an optional '+' then 3 to 15 digits")
    return value


def _check_extension(value: str) -> str:
    if not re.fullmatch(r"[0-9]{2,8}", value):
        raise ValueError("a transfer extension is 2 to 8 digits")
    return value


def _check_prompt(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9_/-]+(&[a-z0-9_/-]+)*", value):
        raise ValueError("a prompt is sound names (letters, digits, '_', '-', '/') joined by '&'")
    return value


def _check_secret(value: str) -> str:
    if len(value) < MIN_SECRET:
        raise ValueError(f"secret is shorter than {MIN_SECRET} characters")
    if any(ch in value for ch in "\r\n;\"'\\ "):
        raise ValueError("secret must not contain spaces, quotes, backslashes, ';' or line breaks")
    return value


class AsteriskSection(_Model):
    """Where the Asterisk we drive listens; loopback only."""

    # Where Asterisk listens (SIP, AMI) and the platform reaches it; the lab and the demo use loopback.
    host: IPv4Address = IPv4Address("127.0.0.1")
    sip_port: Port = 5060
    ami_port: Port = 5038
    rtp_start: Port = 20000
    rtp_end: Port = 20999
    language: str = "en"

    @model_validator(mode="after")
    def _rtp_range(self) -> AsteriskSection:
        if self.rtp_end <= self.rtp_start:
            raise ValueError(f"rtp_end ({self.rtp_end}) must be above rtp_start ({self.rtp_start})")
        return self


class AmiSection(_Model):
    """Two AMI users: the runtime one (never system/command/config) and the admin one (config, for reloads)."""

    user: str = "switchboard"
    secret: str
    admin_user: str = "switchboard-admin"
    admin_secret: str

    _user = field_validator("user", "admin_user")(lambda v: _check_name(v, "AMI user"))
    _secret = field_validator("secret", "admin_secret")(_check_secret)

    @model_validator(mode="after")
    def _distinct(self) -> AmiSection:
        if self.user == self.admin_user:
            raise ValueError(f"user and admin_user must differ (both are {self.user!r})")
        return self


class FastAgiSection(_Model):
    # Where our FastAGI server listens; Asterisk's dialplan calls agi://host:port/.
    host: IPv4Address = IPv4Address("127.0.0.1")
    port: Port = 4573


class Operator(_Model):
    """An operator: a SIP softphone account plus the skills (levels 1-5) the ACD routes by."""

    sip_user: str
    secret: str
    name: str
    skills: dict[str, Level] = Field(default_factory=dict)
    extension: str | None = None  # digits a colleague dials (blind transfer) to send a call to this operator
    supervisor: bool = False  # may listen to, whisper to and barge in on operators' calls (ChanSpy feature codes)

    _sip_user = field_validator("sip_user")(lambda v: _check_name(v, "sip_user"))
    _extension = field_validator("extension")(lambda v: v if v is None else _check_extension(v))
    _secret = field_validator("secret")(_check_secret)

    @field_validator("name")
    @classmethod
    def _display(cls, value: str) -> str:
        if not value.strip() or len(value) > 80 or any(ch in value for ch in '"\r\n<>;'):
            raise ValueError("name must be 1-80 characters without quotes, '<', '>', ';' or line breaks")
        return value


class WideningStep(_Model):
    """From `after_s` seconds of wait on, each skill the queue requires needs `min_level` (never below requires)."""

    after_s: Annotated[float, Field(ge=0)]
    min_level: Level


class Queue(_Model):
    """A line of business: the skills it needs, how they widen over the wait, its service-level target."""

    name: str
    requires: dict[str, Level] = Field(default_factory=dict)
    steps: list[WideningStep] = Field(default_factory=list)
    priority: int = 0
    sl_seconds: Annotated[int, Field(ge=1)] = 20
    sl_target: Annotated[float, Field(gt=0, le=1)] = 0.8
    # The share of finished calls whose callers may hang up while waiting before the wallboard shows it red;
    # 5 % is the usual inbound call-centre goal.
    abandon_target: Annotated[float, Field(gt=0, le=1)] = 0.05
    max_wait_s: Annotated[int, Field(ge=1)] = 300
    wrapup_s: Annotated[int, Field(ge=0)] = 10
    announce_every_s: Annotated[int, Field(ge=0)] = 30  # position and wait announcements (0: none)
    music_on_hold: str = "default"
    recording: bool | None = None
    # When max_wait_s passes: apologise and hang up, offer a callback (a key press creates a callback task),
    # take a voice message (a callback task with the message), or move the caller to the `overflow_to` queue.
    on_max_wait: Literal["apologise", "callback", "voicemail", "overflow"] = "apologise"
    overflow_to: str | None = None
    callback_prompt: str = "vm-press&digits/1"  # "press 1": sites record their own "to be called back, press 1"
    extension: str | None = None  # digits an operator dials (blind transfer) to send a call to this queue
    wrapup_codes: dict[str, str] = Field(default_factory=dict)  # digits keyed after a call -> what it was about

    _name = field_validator("name")(lambda v: _check_name(v, "queue name"))
    _extension = field_validator("extension")(lambda v: v if v is None else _check_extension(v))
    _prompt = field_validator("callback_prompt")(lambda v: _check_prompt(v))

    @field_validator("wrapup_codes")
    @classmethod
    def _codes(cls, value: dict[str, str]) -> dict[str, str]:
        for key, code in value.items():
            if not re.fullmatch(r"[0-9]{1,2}", key):
                raise ValueError(f"wrap-up code keys are 1 or 2 digits, not {key!r}")
            _check_name(code, "wrap-up code")
        return value

    def rule(self) -> QueueRule:
        """The routing rule the ACD stamps this queue's calls with (routing, simulator and reports share it)."""
        steps = tuple(Step(step.after_s, step.min_level) for step in self.steps)
        return QueueRule(self.name, dict(self.requires), steps, self.priority, self.sl_seconds, self.sl_target)

    _moh = field_validator("music_on_hold")(lambda v: _check_name(v, "music_on_hold class"))


class AcdSection(_Model):
    """How operators are offered calls."""

    ring_timeout_s: Annotated[int, Field(ge=5, le=120)] = 20
    max_misses: Annotated[int, Field(ge=0)] = 3  # ring-no-answers in a row before the operator is paused (0: never)
    login_required: bool = True  # False: every operator is logged in when the platform starts (small sites, demos)


class Hotline(_Model):
    """A number callers dial; its queue, or a menu of queues by the digit the caller presses (IVR)."""

    number: str
    queue: str  # without a menu; with one, where a caller who presses nothing (or a wrong key) goes
    menu: dict[str, str] = Field(default_factory=dict)  # digit -> queue
    menu_prompt: str = "beep"

    _number = field_validator("number")(_check_number)

    @field_validator("menu")
    @classmethod
    def _digits(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if len(key) != 1 or not key.isdigit():
                raise ValueError(f"menu keys are single digits 0-9, not {key!r}")
        return value

    _prompt = field_validator("menu_prompt")(lambda v: _check_prompt(v))


class Trunk(_Model):
    """The SIP trunk to the telephone network (a SIPp network in tests)."""

    host: IPv4Address = IPv4Address("127.0.0.1")
    port: Port = 5070
    caller_id: str = "+10000000000"

    _caller = field_validator("caller_id")(_check_number)


Days = Annotated[int, Field(ge=1, le=36500)]


class RetentionSection(_Model):
    """How long personal data is kept, in days; unset keeps it until a person asks for erasure.

    Nothing expires by itself: `switchboard retention apply` (from cron, say daily) removes what is older.
    leads_days: a lead untouched this long (not imported, not dialled) loses its number and personal fields;
    recordings_days: call recordings and voice messages are deleted; calls_days: call records lose the caller's
    number. Do-not-call entries are never expired.
    """

    leads_days: Days | None = None
    recordings_days: Days | None = None
    calls_days: Days | None = None


class _FieldError(ValueError):
    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{field} = {value!r}: {reason}")


def _check_overflows(queues: list[Queue]) -> None:
    """An overflow names another queue, and following overflows never comes back round (a caller held forever)."""
    by_name = {q.name: q for q in queues}
    for i, queue in enumerate(queues):
        if queue.on_max_wait == "overflow" and queue.overflow_to is None:
            raise _FieldError(f"queues.{i}.overflow_to", None, "on_max_wait = 'overflow' needs a queue to overflow to")
        if queue.overflow_to is None:
            continue
        if queue.overflow_to not in by_name or queue.overflow_to == queue.name:
            raise _FieldError(f"queues.{i}.overflow_to", queue.overflow_to, "no such other queue")
        seen, target = {queue.name}, by_name.get(queue.overflow_to)
        while target is not None and target.on_max_wait == "overflow" and target.overflow_to is not None:
            if target.overflow_to in seen:
                raise _FieldError(f"queues.{i}.overflow_to", queue.overflow_to, "overflows go round in a circle")
            seen.add(target.name)
            target = by_name.get(target.overflow_to)


def _no_duplicates(section: str, values: list[str], field: str, reason: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise _FieldError(f"{section}.{i}.{field}", value, reason)
        seen.add(value)


class DialerSection(_Model):
    """An outbound campaign's dialer: which queue's operators take its answered calls, and how it paces.

    The campaign itself (its leads, hours, retry rules, caller ID) lives in the store (`switchboard campaign`);
    its status there (active or paused) starts and stops the dialer.
    """

    campaign: str
    queue: str
    method: Literal["progressive", "power", "predictive"] = "progressive"
    ratio: Annotated[float, Field(ge=1.0, le=5.0)] = 1.0  # calls per free operator (power)
    max_abandon_rate: Annotated[float, Field(gt=0, le=0.03)] = 0.03  # the legal cap
    window: Literal["30d", "24h"] = "30d"  # the abandon rate's legal window: US (30 days) or UK (every 24 h)
    grace_s: Annotated[float, Field(gt=0, le=2.0)] = 2.0  # a person answered: an operator within this, or abandoned
    ring_timeout_s: Annotated[int, Field(ge=15, le=60)] = 25  # at least 15 s of ringing before giving up
    max_lines: Annotated[int, Field(ge=1, le=1000)] = 30  # calls ringing at once, at most
    amd: bool = False  # answering machine detection (AMD()); NOTSURE counts as a person
    # The audited share of people AMD takes for machines (hung up on: abandoned calls). Above a quarter of the cap
    # the predictive dialer runs without AMD: operators then hear the machines themselves.
    amd_false_positive: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    abandon_message: str = "sorry&vm-press&digits/9"  # the identification message: sites record their own
    dnc_key: Annotated[str, Field(pattern=r"^[0-9]$")] = "9"  # pressed during the message: do not call again
    # Left on an answering machine (after its greeting) for leads whose consent allows recorded messages; "" none.
    machine_message: str = ""

    _queue = field_validator("queue")(lambda v: _check_name(v, "queue name"))
    _message = field_validator("abandon_message")(lambda v: _check_prompt(v))
    _machine_message = field_validator("machine_message")(lambda v: _check_prompt(v) if v else v)

    @field_validator("campaign")
    @classmethod
    def _campaign(cls, value: str) -> str:
        if not value.strip() or len(value) > 100 or any(ch in value for ch in "\r\n,;|\"'\\$"):
            raise ValueError("a campaign name is 1-100 characters without line breaks, ',', ';', '|', '$' or quotes")
        return value
