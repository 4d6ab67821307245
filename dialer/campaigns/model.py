"""The campaign vocabulary: attempt results, lead statuses, dispositions, refusal reasons and retry rules.

Frozen values, the defaults a campaign gets when its file names none, and the error that names a field and value.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

CODE = re.compile(r"[a-z0-9_]{1,40}")
MAX_LABEL = 200


class CampaignDataError(ValueError):
    """A campaign setting, a disposition or a form was refused; the message names the field and the value.

    The shell raises it on as switchboard.errors.CampaignError (the core does not import the shell).
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field} = {value!r}: {reason}")


class Result(enum.StrEnum):
    """How a dial attempt ended, as the network and the dialer saw it."""

    ANSWERED = "answered"  # a person, put through to an operator
    MACHINE = "machine"  # an answering machine
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    CONGESTION = "congestion"  # the network was busy
    FAILED = "failed"  # the number or the trunk failed
    ABANDONED = "abandoned"  # a person answered and no operator came in time
    CANCELLED = "cancelled"  # the dialer gave up before the call rang (pacing, shutdown)


class LeadStatus(enum.StrEnum):
    """Where a lead stands; the dialer picks new, retry and callback leads once they are due."""

    NEW = "new"
    RETRY = "retry"
    CALLBACK = "callback"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DNC = "dnc"
    EXHAUSTED = "exhausted"
    INVALID = "invalid"


DIALABLE = frozenset({LeadStatus.NEW, LeadStatus.RETRY, LeadStatus.CALLBACK})


@dataclass(frozen=True, slots=True)
class Disposition:
    """What the operator records after a person answered, and what it does to the lead."""

    code: str
    label: str
    success: bool = False  # a sale, a completed application: what the operator's pay counts
    contact: bool = False  # the right person was reached
    final: bool = False  # the lead is done
    callback: bool = False  # asks for a callback time
    dnc: bool = False  # the number goes on the do-not-call list at once
    refusal: bool = False  # asks for a refusal reason
    retry_after_s: int | None = None  # when not final: try again after this (default: the campaign's)


@dataclass(frozen=True, slots=True)
class RefusalReason:
    """Why a person said no; `dnc` reasons ("asked not to be called") put the number on the do-not-call list."""

    code: str
    label: str
    dnc: bool = False


@dataclass(frozen=True, slots=True)
class RetryRule:
    """After an attempt with this result: try again after `after_s`, but at most `max_times` such results in all."""

    after_s: int
    max_times: int | None = None


DEFAULT_DISPOSITIONS: tuple[Disposition, ...] = (
    Disposition("sale", "Sale / application completed", success=True, contact=True, final=True),
    Disposition("callback", "Call back later", contact=True, callback=True),
    Disposition("thinking", "Thinking it over", contact=True, retry_after_s=2 * 86400),
    Disposition("refused", "Refused", contact=True, final=True, refusal=True),
    Disposition("not_available", "The person asked for is not available", retry_after_s=4 * 3600),
    Disposition("wrong_number", "Wrong number", final=True),
    Disposition("do_not_call", "Asked not to be called", contact=True, final=True, dnc=True),
)

DEFAULT_REFUSAL_REASONS: tuple[RefusalReason, ...] = (
    RefusalReason("too_expensive", "Too expensive"),
    RefusalReason("other_provider", "Already with another provider"),
    RefusalReason("not_interested", "Not interested"),
    RefusalReason("no_need", "No need"),
    RefusalReason("bad_time", "Bad time"),
    RefusalReason("distrust", "Distrust"),
    RefusalReason("do_not_call", "Asked not to be called", dnc=True),
    RefusalReason("other", "Other"),
)

# Results the operator's disposition settles (ANSWERED) have no rule: until it comes, the campaign's default applies.
DEFAULT_RETRY: dict[Result, RetryRule] = {
    Result.NO_ANSWER: RetryRule(2 * 3600, 5),
    Result.BUSY: RetryRule(10 * 60),
    Result.CONGESTION: RetryRule(10 * 60),
    Result.MACHINE: RetryRule(4 * 3600, 3),
    Result.FAILED: RetryRule(30 * 60, 3),
    # A person answered and nobody came: not called again for 72 h (the compliance rule; a campaign may lengthen it).
    Result.ABANDONED: RetryRule(72 * 3600, 2),
    Result.CANCELLED: RetryRule(5 * 60),
}

_DURATION = re.compile(r"(\d+)\s*(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: object, field: str) -> int:
    """Seconds from an integer or a text like '2h', '10m', '1h30m', '90s', '1d'."""
    if isinstance(value, bool):
        raise CampaignDataError(field, value, "not a duration (e.g. '2h', '10m', '90s' or seconds)")
    if isinstance(value, int):
        if value < 0:
            raise CampaignDataError(field, value, "must not be negative")
        return value
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = _DURATION.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            return sum(int(n) * _UNITS[u] for n, u in parts)
    raise CampaignDataError(field, value, "not a duration (e.g. '2h', '10m', '90s' or seconds)")


def format_duration(seconds: int) -> str:
    """The shortest text parse_duration reads back: 7200 -> '2h', 5400 -> '1h30m', 0 -> '0s'."""
    parts = []
    for unit, size in _UNITS.items():
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def check_code(value: object, field: str) -> str:
    if not isinstance(value, str) or not CODE.fullmatch(value):
        raise CampaignDataError(field, value, "a code is 1 to 40 lowercase letters, digits or '_'")
    return value


def check_label(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LABEL:
        raise CampaignDataError(field, value, f"a label is 1 to {MAX_LABEL} characters")
    return value.strip()
