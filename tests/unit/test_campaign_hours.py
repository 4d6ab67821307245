"""Calling hours per weekday over every zone of a lead, and the next time a lead may be called."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.campaigns.hours import (
    WeeklyHours,
    Window,
    callable_at,
    day_start,
    local_instant,
    next_day_start,
    next_open,
    parse_hours,
)
from dialer.campaigns.model import CampaignDataError

UTC = dt.UTC
# Zones with clock changes, half and quarter hour offsets, and Russia's spread from Kaliningrad to Kamchatka.
ZONES = (
    "Europe/Moscow", "Europe/Kaliningrad", "Asia/Omsk", "Asia/Kamchatka", "Europe/Berlin", "America/New_York",
    "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham",
)  # fmt: skip
MINUTE = dt.timedelta(minutes=1)

windows = st.one_of(
    st.none(),
    st.integers(0, 1439).flatmap(lambda s: st.integers(s + 1, 1440).map(lambda e: Window(s, e))),
)
weekly = st.lists(windows, min_size=7, max_size=7).filter(lambda d: any(d)).map(lambda d: WeeklyHours(tuple(d)))
instants = st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2035, 12, 31), timezones=st.just(UTC))
lead_zones = st.lists(st.sampled_from(ZONES), max_size=3, unique=True).map(tuple)


def local_holds(hours: WeeklyHours, zone: str, now: dt.datetime) -> bool:
    """The definition, written out: the wall clock in the zone is inside that weekday's window."""
    local = now.astimezone(zoneinfo.ZoneInfo(zone))
    window = hours.days[local.weekday()]
    minutes = local.hour * 60 + local.minute + local.second / 60
    return window is not None and window.start_min <= minutes < window.end_min


@settings(max_examples=300)
@given(hours=weekly, zones=lead_zones, now=instants)
def test_a_lead_is_callable_only_while_the_hours_hold_in_every_zone(
    hours: WeeklyHours, zones: tuple[str, ...], now: dt.datetime
) -> None:
    expected = all(local_holds(hours, z, now) for z in (zones or ("Europe/Moscow",)))
    assert callable_at(zones, hours, now, "Europe/Moscow") is expected


@settings(max_examples=100, deadline=None)
@given(hours=weekly, zones=lead_zones, after=instants)
def test_next_open_is_callable_and_nothing_earlier_is(
    hours: WeeklyHours, zones: tuple[str, ...], after: dt.datetime
) -> None:
    """The answer is callable, not before `after`, and no whole minute between them is callable."""
    found = next_open(zones, hours, after, "Europe/Moscow")
    end = found if found is not None else after + dt.timedelta(days=8)
    if found is not None:
        assert found >= after
        assert callable_at(zones, hours, found, "Europe/Moscow")
    probe = after.replace(second=0, microsecond=0) + MINUTE
    while probe < end:
        assert not callable_at(zones, hours, probe, "Europe/Moscow"), probe
        probe += MINUTE


def test_kaliningrad_and_kamchatka_share_two_hours_a_day() -> None:
    """Ten hours apart with 09:00-21:00 in both: only 09:00-11:00 in Kaliningrad (19:00-21:00 in Kamchatka)."""
    zones = ("Europe/Kaliningrad", "Asia/Kamchatka")
    hours = WeeklyHours()
    monday_8 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 08:00 Kaliningrad, 18:00 Kamchatka
    assert not callable_at(zones, hours, monday_8, "Europe/Moscow")
    opened = next_open(zones, hours, monday_8, "Europe/Moscow")
    assert opened == dt.datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert not callable_at(zones, hours, dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "Europe/Moscow")


def test_a_window_that_starts_in_the_spring_gap_opens_when_the_clocks_jump() -> None:
    """Berlin's clocks jump from 02:00 to 03:00: hours from 02:30 open at 03:00 local that day."""
    hours = WeeklyHours((Window(150, 240),) * 7)
    opened = next_open(("Europe/Berlin",), hours, dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC), "Europe/Moscow")
    assert opened == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_no_common_hours_means_no_next_time() -> None:
    hours = WeeklyHours((Window(9 * 60, 10 * 60),) * 7)
    assert next_open(("Europe/Moscow", "Asia/Omsk"), hours, dt.datetime(2026, 1, 1, tzinfo=UTC), "UTC") is None


def test_hours_by_weekday_with_groups_and_days() -> None:
    hours = parse_hours({"every_day": "10:00-20:00", "weekdays": "09:00-21:00", "fri": "09:00-18:00", "sun": "off"})
    assert hours.as_json() == {
        "mon": "09:00-21:00", "tue": "09:00-21:00", "wed": "09:00-21:00", "thu": "09:00-21:00",
        "fri": "09:00-18:00", "sat": "10:00-20:00", "sun": "off",
    }  # fmt: skip
    assert parse_hours(None) == WeeklyHours() == parse_hours({})
    assert parse_hours({"sat": "00:00-24:00"}).days[5] == Window(0, 1440)
    assert parse_hours(hours.as_json()) == hours


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mon": "9-21"}, "hours.mon = '9-21': calling hours are 'HH:MM-HH:MM' or 'off'"),
        ({"tue": "21:00-09:00"}, "hours.tue = '21:00-09:00': the start must be a time before the end"),
        ({"wed": "09:00-24:30"}, "hours.wed = '09:00-24:30'"),
        ({"monday": "09:00-21:00"}, "hours.monday = '09:00-21:00': not a day"),
        ({"every_day": "off"}, "no day has calling hours"),
        ({"fri": 9}, "hours.fri = 9"),
    ],
)
def test_bad_hours_name_the_day_and_value(data: dict[str, object], message: str) -> None:
    with pytest.raises(CampaignDataError) as caught:
        parse_hours(data)
    assert message in str(caught.value)


def test_days_start_at_local_midnight_even_when_the_clocks_change() -> None:
    now = dt.datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # Berlin's spring-forward day: 23 hours long
    start, end = day_start("Europe/Berlin", now), next_day_start("Europe/Berlin", now)
    assert end.timestamp() - start.timestamp() == 23 * 3600
    assert start.astimezone(UTC) == dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC)


def test_a_local_time_the_clocks_skip_is_refused() -> None:
    with pytest.raises(CampaignDataError, match="does not exist in Europe/Berlin"):
        local_instant(dt.datetime(2026, 3, 29, 2, 30), "Europe/Berlin", "callback_at")
    at = local_instant(dt.datetime(2026, 3, 29, 3, 30), "Europe/Berlin", "callback_at")
    assert at.astimezone(UTC) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
