"""Retry rules, attempt caps, may-dial and dispositions: what an attempt's end does to its lead."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.campaigns.hours import WeeklyHours, Window, callable_at, next_day_start, next_open
from dialer.campaigns.model import (
    DEFAULT_DISPOSITIONS,
    CampaignDataError,
    LeadStatus,
    RefusalReason,
    Result,
    RetryRule,
)
from dialer.campaigns.rules import LeadState, after_result, apply_disposition, callback_time, may_dial
from dialer.campaigns.settings import CampaignSettings, parse_campaign

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # a Wednesday: 12:00 in Moscow
CAMPAIGN = parse_campaign({"name": "Весна"})
DISPOSITIONS = {d.code: d for d in DEFAULT_DISPOSITIONS}
TOO_EXPENSIVE = RefusalReason("too_expensive", "Too expensive")
ASKED_NOT_TO_CALL = RefusalReason("do_not_call", "Asked not to be called", dnc=True)
RETRIED = [r for r in Result if r != Result.ANSWERED]

zones = st.lists(st.sampled_from(["Europe/Moscow", "Asia/Omsk", "Asia/Vladivostok", "Europe/Berlin"]), max_size=2)
campaigns = st.builds(
    lambda cap, per_day, after, most, hours: dataclasses.replace(
        CAMPAIGN,
        max_attempts=cap,
        max_attempts_per_day=per_day,
        retry={r: RetryRule(after, most) for r in RETRIED},
        hours=hours,
    ),
    cap=st.integers(1, 12),
    per_day=st.integers(1, 5),
    after=st.integers(0, 3 * 86400),
    most=st.none() | st.integers(1, 6),
    hours=st.sampled_from(
        [WeeklyHours(), WeeklyHours((Window(0, 1440),) * 7), WeeklyHours((Window(600, 1080),) * 5 + (None, None))]
    ),
)
leads = st.builds(
    lambda zs, made, today: LeadState(LeadStatus.IN_PROGRESS, tuple(dict.fromkeys(zs)), made, min(today, made)),
    zs=zones,
    made=st.integers(1, 15),
    today=st.integers(1, 6),
)
moments = st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2030, 1, 1), timezones=st.just(UTC))


@settings(max_examples=300)
@given(lead=leads, result=st.sampled_from(RETRIED), times=st.integers(1, 8), campaign=campaigns, now=moments)
def test_a_result_retries_by_its_rule_within_the_caps_and_the_hours(
    lead: LeadState, result: Result, times: int, campaign: CampaignSettings, now: dt.datetime
) -> None:
    """Exhausted exactly when a cap is reached; otherwise no sooner than the rule's delay, inside the calling hours,
    and not before the lead's next day once today's attempts are used up."""
    seen = dataclasses.replace(lead, results={result: min(times, lead.attempts)})
    update = after_result(seen, result, campaign, now)
    rule = campaign.retry[result]
    times_seen = seen.results[result]
    capped = seen.attempts >= campaign.max_attempts or (rule.max_times is not None and times_seen >= rule.max_times)
    if capped:
        assert update.status == LeadStatus.EXHAUSTED and update.next_attempt_at is None
        return
    if update.status == LeadStatus.EXHAUSTED:  # zones too far apart for the hours ever to hold in all of them
        assert update.why == "the calling hours never hold in all the lead's zones"
        assert next_open(seen.time_zones, campaign.hours, now, campaign.default_zone) is None
        return
    assert update.status == LeadStatus.RETRY and update.next_attempt_at is not None
    due = dt.datetime.fromtimestamp(update.next_attempt_at, UTC)
    assert update.next_attempt_at >= now.timestamp() + rule.after_s
    assert callable_at(seen.time_zones, campaign.hours, due, campaign.default_zone)
    if seen.attempts_today >= campaign.max_attempts_per_day:
        first = seen.time_zones[0] if seen.time_zones else campaign.default_zone
        assert due >= next_day_start(first, now)


def test_no_answer_after_two_hours_at_most_five_times() -> None:
    lead = LeadState(LeadStatus.IN_PROGRESS, ("Europe/Moscow",), attempts=4, attempts_today=1)
    fourth = after_result(dataclasses.replace(lead, results={Result.NO_ANSWER: 4}), Result.NO_ANSWER, CAMPAIGN, NOW)
    assert fourth.status == LeadStatus.RETRY and fourth.next_attempt_at == NOW.timestamp() + 7200
    fifth = after_result(dataclasses.replace(lead, results={Result.NO_ANSWER: 5}), Result.NO_ANSWER, CAMPAIGN, NOW)
    assert (fifth.status, fifth.why) == (LeadStatus.EXHAUSTED, "no_answer 5 times (at most 5)")
    busy = after_result(dataclasses.replace(lead, results={Result.BUSY: 9}), Result.BUSY, CAMPAIGN, NOW)
    assert busy.next_attempt_at == NOW.timestamp() + 600


def test_a_retry_that_falls_after_hours_waits_for_the_morning_in_every_zone() -> None:
    """20:30 in Moscow plus two hours is night: the next try is 09:00 in Omsk and Moscow both (Omsk is 3 h ahead)."""
    evening = dt.datetime(2026, 3, 4, 17, 30, tzinfo=UTC)
    lead = LeadState(LeadStatus.IN_PROGRESS, ("Europe/Moscow", "Asia/Omsk"), 1, 1, {Result.NO_ANSWER: 1})
    update = after_result(lead, Result.NO_ANSWER, CAMPAIGN, evening)
    assert update.next_attempt_at == dt.datetime(2026, 3, 5, 6, 0, tzinfo=UTC).timestamp()  # 09:00 Moscow


def test_an_answered_call_waits_for_its_disposition_but_is_never_stuck() -> None:
    lead = LeadState(LeadStatus.IN_PROGRESS, (), 1, 1, {Result.ANSWERED: 1})
    update = after_result(lead, Result.ANSWERED, CAMPAIGN, NOW)
    assert update.status == LeadStatus.RETRY and update.next_attempt_at == NOW.timestamp() + 3600


@pytest.mark.parametrize(
    ("lead", "why"),
    [
        (LeadState(LeadStatus.DONE), "the lead is done"),
        (LeadState(LeadStatus.RETRY, next_attempt_at=NOW.timestamp() + 60), "not due until 2026-03-04T09:01:00+00:00"),
        (LeadState(LeadStatus.RETRY, attempts=10), "10 attempts made (at most 10)"),
        (LeadState(LeadStatus.RETRY, attempts=3, attempts_today=3), "3 attempts today (at most 3 a day)"),
        (LeadState(LeadStatus.NEW, ("Asia/Kamchatka",)), "outside the calling hours in Asia/Kamchatka"),
        (LeadState(LeadStatus.NEW, ("Europe/Moscow",)), None),
        (LeadState(LeadStatus.CALLBACK, ("Europe/Moscow",), attempts=10, attempts_today=3), None),
    ],
)
def test_may_dial_says_why_not(lead: LeadState, why: str | None) -> None:
    """A callback the person asked for is not held back by the attempt caps; the calling hours still hold."""
    assert may_dial(lead, CAMPAIGN, NOW) == why


def test_dispositions_end_retry_call_back_or_block_the_lead() -> None:
    lead = LeadState(LeadStatus.IN_PROGRESS, ("Europe/Moscow",), 1, 1)
    sale = apply_disposition(lead, DISPOSITIONS["sale"], None, None, CAMPAIGN, NOW)
    assert (sale.update.status, sale.add_to_dnc) == (LeadStatus.DONE, False)
    refused = apply_disposition(lead, DISPOSITIONS["refused"], TOO_EXPENSIVE, None, CAMPAIGN, NOW)
    assert refused.update.status == LeadStatus.DONE and not refused.add_to_dnc
    blocked = apply_disposition(lead, DISPOSITIONS["refused"], ASKED_NOT_TO_CALL, None, CAMPAIGN, NOW)
    assert (blocked.update.status, blocked.add_to_dnc) == (LeadStatus.DNC, True)
    asked = apply_disposition(lead, DISPOSITIONS["do_not_call"], None, None, CAMPAIGN, NOW)
    assert (asked.update.status, asked.add_to_dnc) == (LeadStatus.DNC, True)
    later = NOW + dt.timedelta(days=1)
    callback = apply_disposition(lead, DISPOSITIONS["callback"], None, later, CAMPAIGN, NOW)
    assert (callback.update.status, callback.callback_at) == (LeadStatus.CALLBACK, later.timestamp())
    thinking = apply_disposition(lead, DISPOSITIONS["thinking"], None, None, CAMPAIGN, NOW)
    assert thinking.update.status == LeadStatus.RETRY
    assert thinking.update.next_attempt_at == (NOW + dt.timedelta(days=2)).timestamp()


@pytest.mark.parametrize(
    ("code", "reason", "callback", "message"),
    [
        ("refused", None, None, "refusal_reason = None: 'refused' needs a refusal reason: too_expensive, "),
        ("sale", TOO_EXPENSIVE, None, "refusal_reason = 'too_expensive': 'sale' is not a refusal"),
        ("callback", None, None, "callback_at = None: 'callback' needs a callback time"),
        ("sale", None, NOW + dt.timedelta(hours=1), "callback_at = '2026-03-04T10:00:00+00:00': 'sale' is not a"),
        ("callback", None, NOW - dt.timedelta(hours=1), "callback_at = '2026-03-04T08:00:00+00:00': is not in the"),
    ],
)
def test_an_incomplete_disposition_is_refused_naming_the_field(
    code: str, reason: RefusalReason | None, callback: dt.datetime | None, message: str
) -> None:
    lead = LeadState(LeadStatus.IN_PROGRESS, (), 1, 1)
    with pytest.raises(CampaignDataError) as caught:
        apply_disposition(lead, DISPOSITIONS[code], reason, callback, CAMPAIGN, NOW)
    assert str(caught.value).startswith(message)


def test_a_callback_time_is_read_in_the_persons_zone_and_checked() -> None:
    at = callback_time(dt.datetime(2026, 3, 5, 18, 30), "Asia/Omsk", CAMPAIGN, NOW)
    assert at.astimezone(UTC) == dt.datetime(2026, 3, 5, 12, 30, tzinfo=UTC)
    with pytest.raises(CampaignDataError, match=r"callback_at = '2026-03-05T22:30 Asia/Omsk': is outside"):
        callback_time(dt.datetime(2026, 3, 5, 22, 30), "Asia/Omsk", CAMPAIGN, NOW)
    with pytest.raises(CampaignDataError, match="is not in the future"):
        callback_time(dt.datetime(2026, 3, 4, 10, 0), "Asia/Omsk", CAMPAIGN, NOW)
