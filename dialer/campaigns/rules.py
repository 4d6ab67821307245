"""The dialer's decisions about one lead: may it be dialled now, and what an attempt's result or disposition does.

Pure functions of the lead's counts, the campaign's settings and the time; the shell reads the counts and writes
the decision. A callback the person asked for is kept whatever the attempt caps say; the calling hours still hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from dialer.campaigns.hours import callable_at, local_instant, next_day_start, next_open, zone
from dialer.campaigns.model import DIALABLE, CampaignDataError, Disposition, LeadStatus, RefusalReason, Result
from dialer.campaigns.settings import CampaignSettings


@dataclass(frozen=True, slots=True)
class LeadState:
    """A lead's counts as they stand: `attempts` and `results` include the attempt being judged once it is written."""

    status: LeadStatus
    time_zones: tuple[str, ...] = ()
    attempts: int = 0
    attempts_today: int = 0  # since midnight in the lead's first zone
    results: Mapping[Result, int] = field(default_factory=dict)
    next_attempt_at: float | None = None


@dataclass(frozen=True, slots=True)
class LeadUpdate:
    """The lead's new status and when to try it next (None: not again), with why in words."""

    status: LeadStatus
    next_attempt_at: float | None = None
    why: str = ""


@dataclass(frozen=True, slots=True)
class DispositionOutcome:
    update: LeadUpdate
    add_to_dnc: bool = False
    callback_at: float | None = None


def primary_zone(lead: LeadState, settings: CampaignSettings) -> str:
    """The zone a lead's day is counted in: its first, else the campaign's default."""
    return lead.time_zones[0] if lead.time_zones else settings.default_zone


def may_dial(lead: LeadState, settings: CampaignSettings, now: dt.datetime) -> str | None:
    """None when the lead may be dialled at `now`; else why not, in words (do-not-call is the shell's to check)."""
    if lead.status not in DIALABLE:
        return f"the lead is {lead.status.value}"
    if lead.next_attempt_at is not None and lead.next_attempt_at > now.timestamp():
        due = dt.datetime.fromtimestamp(lead.next_attempt_at, dt.UTC).isoformat(timespec="seconds")
        return f"not due until {due}"
    if lead.status != LeadStatus.CALLBACK:
        if lead.attempts >= settings.max_attempts:
            return f"{lead.attempts} attempts made (at most {settings.max_attempts})"
        if lead.attempts_today >= settings.max_attempts_per_day:
            return f"{lead.attempts_today} attempts today (at most {settings.max_attempts_per_day} a day)"
    if not callable_at(lead.time_zones, settings.hours, now, settings.default_zone):
        zones = ", ".join(lead.time_zones or (settings.default_zone,))
        return f"outside the calling hours in {zones}"
    return None


def after_result(lead: LeadState, result: Result, settings: CampaignSettings, now: dt.datetime) -> LeadUpdate:
    """What an attempt's result does to the lead: try again by the result's rule, or give up (exhausted)."""
    if result == Result.ANSWERED:
        # The operator's disposition decides; until it comes the lead must not be stuck in progress.
        return _retry(lead, settings, now, settings.default_retry_s, "answered; waiting for the disposition")
    rule = settings.retry[result]
    times = lead.results.get(result, 0)
    if rule.max_times is not None and times >= rule.max_times:
        return LeadUpdate(LeadStatus.EXHAUSTED, None, f"{result.value} {times} times (at most {rule.max_times})")
    return _retry(lead, settings, now, rule.after_s, result.value)


def _retry(lead: LeadState, settings: CampaignSettings, now: dt.datetime, delay_s: int, why: str) -> LeadUpdate:
    if lead.attempts >= settings.max_attempts:
        return LeadUpdate(LeadStatus.EXHAUSTED, None, f"{lead.attempts} attempts (at most {settings.max_attempts})")
    due = now + dt.timedelta(seconds=delay_s)
    if lead.attempts_today >= settings.max_attempts_per_day:
        due = max(due, next_day_start(primary_zone(lead, settings), now))
        why = f"{why}; {lead.attempts_today} attempts today (at most {settings.max_attempts_per_day})"
    opened = next_open(lead.time_zones, settings.hours, due, settings.default_zone)
    if opened is None:
        return LeadUpdate(LeadStatus.EXHAUSTED, None, "the calling hours never hold in all the lead's zones")
    return LeadUpdate(LeadStatus.RETRY, opened.timestamp(), why)


def apply_disposition(
    lead: LeadState,
    disposition: Disposition,
    reason: RefusalReason | None,
    callback_at: dt.datetime | None,
    settings: CampaignSettings,
    now: dt.datetime,
) -> DispositionOutcome:
    """What the operator's disposition does: do-not-call, a callback, done, or another try by the campaign's rules."""
    if disposition.refusal and reason is None:
        codes = ", ".join(r.code for r in settings.refusal_reasons)
        raise CampaignDataError("refusal_reason", None, f"{disposition.code!r} needs a refusal reason: {codes}")
    if reason is not None and not disposition.refusal:
        raise CampaignDataError("refusal_reason", reason.code, f"{disposition.code!r} is not a refusal")
    if disposition.callback and callback_at is None:
        raise CampaignDataError("callback_at", None, f"{disposition.code!r} needs a callback time")
    if callback_at is not None and not disposition.callback:
        raise CampaignDataError("callback_at", callback_at.isoformat(), f"{disposition.code!r} is not a callback")
    if disposition.dnc or (reason is not None and reason.dnc):
        return DispositionOutcome(LeadUpdate(LeadStatus.DNC, None, "asked not to be called"), add_to_dnc=True)
    if callback_at is not None:
        if callback_at <= now:
            raise CampaignDataError("callback_at", callback_at.isoformat(), "is not in the future")
        due = callback_at.timestamp()
        return DispositionOutcome(LeadUpdate(LeadStatus.CALLBACK, due, "callback"), callback_at=due)
    if disposition.final:
        return DispositionOutcome(LeadUpdate(LeadStatus.DONE, None, disposition.code))
    delay = disposition.retry_after_s if disposition.retry_after_s is not None else settings.default_retry_s
    return DispositionOutcome(_retry(lead, settings, now, delay, disposition.code))


def callback_time(local: dt.datetime, zone_name: str, settings: CampaignSettings, now: dt.datetime) -> dt.datetime:
    """A callback's wall-clock time in the zone the person gave, checked: it exists, is ahead, within calling hours."""
    at = local_instant(local, zone_name, "callback_at")
    shown = f"{at.replace(tzinfo=None).isoformat(timespec='minutes')} {zone_name}"
    if at <= now:
        raise CampaignDataError("callback_at", shown, "is not in the future")
    if not settings.hours.holds(at.astimezone(zone(zone_name))):
        raise CampaignDataError("callback_at", shown, "is outside the campaign's calling hours there")
    return at
