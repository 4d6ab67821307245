"""A lead's time zones: from an explicit column, else its region or city, else its number; and calling hours.

A lead with several zones (a Russian mobile) is callable only while the calling hours hold in every one of them.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from dialer.leads.places import CITY_ZONES, MSK_OFFSETS, REGION_ZONES

_OFFSET = re.compile(r"^(utc|gmt|мск|msk)?(?:([+-])(\d{1,2})(?::?00)?)?$")
_REGION_WORDS = re.compile(
    r"\b(?:область|обл|край|республика|респ|автономный округ|автономная область|ао|аобл|г|город|city|region|oblast)\b"
)
_CITY_WORDS = re.compile(r"\b(?:г|гор|город|пгт|пос|поселок|с|село|дер|деревня|ст|станица|city)\b")


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_from_text(text: str) -> str | None:
    """An explicit zone: an IANA name ('Asia/Omsk'), 'UTC+5', 'GMT-3', '+03:00', or Moscow-based 'МСК+2'."""
    value = text.strip()
    if "/" in value and value in _known_zones():
        return value
    found = _OFFSET.match(value.lower().replace(" ", "").replace("−", "-"))
    if not found or not (found.group(1) or found.group(2)):
        return None
    base, sign, hours = found.group(1) or "utc", found.group(2) or "+", int(found.group(3) or 0)
    shift = -hours if sign == "-" else hours
    if base in ("мск", "msk"):
        return MSK_OFFSETS.get(shift)
    if shift == 0:
        return "Etc/UTC"
    return f"Etc/GMT{-shift:+d}" if -12 <= shift <= 14 else None  # the Etc names count the other way


def _place_key(text: str, words: re.Pattern[str]) -> str:
    lowered = text.lower().replace("ё", "е")
    lowered = " ".join(re.sub(r"[\W_]+", " ", lowered).split())
    return " ".join(words.sub(" ", lowered).split())


def zone_for_region(text: str) -> str | None:
    """'Свердловская обл.', 'Республика Татарстан', 'Москва' -> the region's zone."""
    key = _place_key(text, _REGION_WORDS)
    return REGION_ZONES.get(key) or CITY_ZONES.get(key)


def zone_for_city(text: str) -> str | None:
    """'г. Екатеринбург', 'Санкт-Петербург', 'Novosibirsk' -> the city's zone."""
    key = _place_key(text, _CITY_WORDS)
    return CITY_ZONES.get(key)


@dataclass(frozen=True, slots=True)
class CallingHours:
    """When a lead may be called, in its own local time: weekdays and weekends (the end is exclusive)."""

    weekday_start: dt.time = dt.time(9, 0)
    weekday_end: dt.time = dt.time(21, 0)
    weekend_start: dt.time = dt.time(10, 0)
    weekend_end: dt.time = dt.time(20, 0)

    def holds(self, local: dt.datetime) -> bool:
        start, end = (
            (self.weekend_start, self.weekend_end) if local.weekday() >= 5 else (self.weekday_start, self.weekday_end)
        )
        return start <= local.time() < end


def callable_at(zones: Sequence[str], hours: CallingHours, now: dt.datetime, fallback: str = "Europe/Moscow") -> bool:
    """True while the calling hours hold in every zone of the lead at `now` (an aware datetime).

    A lead whose zones are unknown is judged by the campaign's `fallback` zone.
    """
    if now.tzinfo is None:
        raise ValueError(f"now = {now!r}: must carry a time zone")
    return all(hours.holds(now.astimezone(zoneinfo.ZoneInfo(zone))) for zone in (zones or (fallback,)))
