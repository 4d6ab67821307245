"""Calling hours per weekday in the lead's local time, over every zone the lead may be in, and the next open time.

A lead with several zones (a Russian mobile) is callable only while the hours hold in every one of them.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from dialer.campaigns.model import CampaignDataError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUPS = {"every_day": DAYS, "weekdays": DAYS[:5], "weekend": DAYS[5:]}
_WINDOW = re.compile(r"(\d{1,2}):(\d{2})\s*[-–—]\s*(\d{1,2}):(\d{2})")
_CLOSED = ("off", "closed", "none", "")
_HORIZON = dt.timedelta(days=8)  # every weekday comes round within a week; a day more covers zone offsets


@dataclass(frozen=True, slots=True)
class Window:
    """One day's calling window, minutes after local midnight; the end is exclusive and may be 24:00."""

    start_min: int
    end_min: int

    def holds(self, local: dt.datetime) -> bool:
        second = local.hour * 3600 + local.minute * 60 + local.second
        return self.start_min * 60 <= second < self.end_min * 60

    def text(self) -> str:
        return f"{_hhmm(self.start_min)}-{_hhmm(self.end_min)}"


DEFAULT_WINDOW = Window(9 * 60, 21 * 60)


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """A window (or None: no calls) for each weekday, Monday first."""

    days: tuple[Window | None, ...] = (DEFAULT_WINDOW,) * 7

    def holds(self, local: dt.datetime) -> bool:
        window = self.days[local.weekday()]
        return window is not None and window.holds(local)

    def as_json(self) -> dict[str, str]:
        return {name: "off" if w is None else w.text() for name, w in zip(DAYS, self.days, strict=True)}


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_window(value: object, field: str) -> Window | None:
    """'09:00-21:00' (the end may be 24:00), or 'off' for a day without calls."""
    if not isinstance(value, str):
        raise CampaignDataError(field, value, "calling hours are 'HH:MM-HH:MM' or 'off'")
    if value.strip().lower() in _CLOSED:
        return None
    found = _WINDOW.fullmatch(value.strip())
    if not found:
        raise CampaignDataError(field, value, "calling hours are 'HH:MM-HH:MM' or 'off'")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or start >= end:
        raise CampaignDataError(field, value, "the start must be a time before the end (at most 24:00)")
    return Window(start, end)


def parse_hours(data: object, field: str = "hours") -> WeeklyHours:
    """Every day 09:00-21:00 unless said otherwise.

    A day's own key (mon ... sun) beats 'weekdays' and 'weekend', which beat 'every_day'.
    """
    if data is None:
        return WeeklyHours()
    if not isinstance(data, Mapping):
        raise CampaignDataError(field, data, "a table of days: mon = '09:00-21:00', sun = 'off', weekdays = ...")
    days: dict[str, Window | None] = dict.fromkeys(DAYS, DEFAULT_WINDOW)
    for key in sorted(data, key=lambda k: (k not in _GROUPS, k != "every_day")):
        if key not in DAYS and key not in _GROUPS:
            raise CampaignDataError(f"{field}.{key}", data[key], f"not a day: {', '.join((*DAYS, *_GROUPS))}")
        window = parse_window(data[key], f"{field}.{key}")
        for day in _GROUPS.get(key, (key,)):
            days[day] = window
    hours = WeeklyHours(tuple(days[d] for d in DAYS))
    if all(w is None for w in hours.days):
        raise CampaignDataError(field, dict(data), "no day has calling hours: nobody could ever be called")
    return hours


@cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def check_zone(value: object, field: str) -> str:
    if isinstance(value, str) and value.strip() == value and value:
        try:
            zone(value)
            return value
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    raise CampaignDataError(field, value, "not a time zone name (e.g. 'Europe/Moscow', 'Asia/Omsk')")


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError(f"now = {now!r}: must carry a time zone")
    return now


def lead_zones(zones: Sequence[str], fallback: str) -> tuple[str, ...]:
    """The zones a lead is judged by: its own, else the campaign's default."""
    return tuple(zones) or (fallback,)


def callable_at(zones: Sequence[str], hours: WeeklyHours, now: dt.datetime, fallback: str) -> bool:
    """True while the calling hours hold in every zone of the lead at `now` (an aware datetime)."""
    _aware(now)
    return all(hours.holds(now.astimezone(zone(z))) for z in lead_zones(zones, fallback))


def next_open(zones: Sequence[str], hours: WeeklyHours, after: dt.datetime, fallback: str) -> dt.datetime | None:
    """The earliest instant at or after `after` when the lead is callable (None: not within eight days).

    The callable instants are an intersection of unions of intervals, so the earliest is `after` itself or where one
    of the intervals opens: a window's start in some zone, or a clock change that jumps into a window.
    """
    _aware(after)
    names = lead_zones(zones, fallback)
    start = after.astimezone(dt.UTC)
    if callable_at(names, hours, start, fallback):
        return start
    candidates: set[dt.datetime] = set()
    for name in names:
        candidates.update(c for c in _openings(name, hours, start) if c >= start)
        candidates.update(_clock_changes(name, start, start + _HORIZON))
    for candidate in sorted(candidates):
        if candidate - start > _HORIZON:
            break
        if callable_at(names, hours, candidate, fallback):
            return candidate
    return None


def _openings(name: str, hours: WeeklyHours, start: dt.datetime) -> Iterator[dt.datetime]:
    """Where each day's window starts in this zone, as UTC instants, both readings of an ambiguous local time."""
    tz = zone(name)
    first = start.astimezone(tz).date() - dt.timedelta(days=1)
    for offset in range(_HORIZON.days + 2):
        day = first + dt.timedelta(days=offset)
        window = hours.days[day.weekday()]
        if window is None or window.start_min >= 24 * 60:
            continue
        local = dt.datetime.combine(day, dt.time(window.start_min // 60, window.start_min % 60), tz)
        for fold in (0, 1):
            yield local.replace(fold=fold).astimezone(dt.UTC)


def _clock_changes(name: str, start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    """The instants in [start, end] where the zone's offset changes, to the second (found hourly, then bisected)."""
    tz = zone(name)

    def offset(second: int) -> dt.timedelta | None:
        return dt.datetime.fromtimestamp(second, tz).utcoffset()

    low, last = int(start.timestamp()), int(end.timestamp())
    while low < last:
        high = low + 3600
        if offset(low) != offset(high):
            a, b = low, high
            while b - a > 1:
                middle = (a + b) // 2
                a, b = (middle, b) if offset(middle) == offset(a) else (a, middle)
            yield dt.datetime.fromtimestamp(b, dt.UTC)
        low = high


def day_start(name: str, now: dt.datetime) -> dt.datetime:
    """Local midnight of `now`'s day in the zone (the daily attempt cap counts from it)."""
    tz = zone(name)
    local = _aware(now).astimezone(tz)
    return dt.datetime.combine(local.date(), dt.time(0), tz)


def next_day_start(name: str, now: dt.datetime) -> dt.datetime:
    tz = zone(name)
    local = _aware(now).astimezone(tz)
    return dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tz)


def local_instant(local: dt.datetime, name: str, field: str) -> dt.datetime:
    """A wall-clock time in a zone as an aware datetime; a time the clocks skip is refused, naming the value."""
    if local.tzinfo is not None:
        return local
    aware = local.replace(tzinfo=zone(name))
    back = aware.astimezone(dt.UTC).astimezone(zone(name))
    if back.replace(tzinfo=None) != local:
        raise CampaignDataError(field, local.isoformat(), f"that time does not exist in {name} (the clocks change)")
    return aware
