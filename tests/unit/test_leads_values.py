"""Cell values: explicit zones, places, calling hours over several zones, consent and dates, spreadsheet-safe text."""

from __future__ import annotations

import datetime as dt

import pytest

from dialer.leads.consent import parse_consent, parse_date
from dialer.leads.text import is_formula_like, spreadsheet_safe, spreadsheet_safe_row
from dialer.leads.zones import CallingHours, callable_at, zone_for_city, zone_for_region, zone_from_text

UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Asia/Omsk", "Asia/Omsk"),
        ("UTC+5", "Etc/GMT-5"),
        ("GMT-3", "Etc/GMT+3"),
        ("+03:00", "Etc/GMT-3"),
        ("МСК+2", "Asia/Yekaterinburg"),
        ("мск", "Europe/Moscow"),
        ("MSK-1", "Europe/Kaliningrad"),
        ("UTC", "Etc/UTC"),
        ("Europe/Nowhere", None),
        ("+5:30", None),
        ("", None),
    ],
)
def test_explicit_zones(text: str, zone: str | None) -> None:
    assert zone_from_text(text) == zone


def test_regions_and_cities_as_lists_write_them() -> None:
    assert zone_for_region("Свердловская обл.") == "Asia/Yekaterinburg"
    assert zone_for_region("Респ. Саха (Якутия)") == "Asia/Yakutsk"
    assert zone_for_region("Ханты-Мансийский автономный округ - Югра") == "Asia/Yekaterinburg"
    assert zone_for_region("г. Москва") == "Europe/Moscow"
    assert zone_for_city("г. Екатеринбург") == "Asia/Yekaterinburg"
    assert zone_for_city("Орёл") == "Europe/Moscow"
    assert zone_for_city("Novosibirsk") == "Asia/Novosibirsk"
    assert zone_for_city("с. Ивановка") is None


def test_a_lead_in_several_zones_is_callable_only_while_hours_hold_in_all() -> None:
    """09:00-21:00 local: at 06:00 UTC Moscow is 09:00 but Vladivostok 16:00; at 03:00 UTC Moscow is 06:00."""
    hours = CallingHours()
    zones = ("Europe/Moscow", "Asia/Vladivostok")
    tuesday = dt.datetime(2026, 3, 3, tzinfo=UTC)
    assert callable_at(zones, hours, tuesday.replace(hour=6))
    assert not callable_at(zones, hours, tuesday.replace(hour=3))
    assert not callable_at(zones, hours, tuesday.replace(hour=11))  # Vladivostok 21:00: the end is exclusive
    assert callable_at((), hours, tuesday.replace(hour=12), fallback="Europe/Moscow")
    with pytest.raises(ValueError, match="time zone"):
        callable_at(zones, hours, dt.datetime(2026, 3, 3, 12))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("да", (True, None)),
        ("Yes", (True, None)),
        ("+", (True, None)),
        ("нет", (False, None)),
        ("0", (False, None)),
        ("", (None, None)),
        ("может быть", (False, None)),
        ("01.03.2024", (True, "2024-03-01")),
        ("2024-03-01 10:15", (True, "2024-03-01T10:15:00")),
    ],
)
def test_consent_is_a_clear_yes_or_a_date(text: str, expected: tuple[bool | None, str | None]) -> None:
    assert parse_consent(text) == expected


def test_dates_read_as_iso() -> None:
    assert parse_date("31.12.2023") == "2023-12-31"
    assert parse_date("31/12/2023 08:00") == "2023-12-31T08:00:00"
    assert parse_date("32.12.2023") is None
    assert parse_date("soon") is None


def test_exports_escape_what_a_spreadsheet_would_run() -> None:
    """Values are stored as the file had them; an exporter puts a quote before =, +, -, @, tab and CR."""
    for value in ["=SUM(A1)", "+7912", "-1", "@cmd", "\tx", "\rx"]:
        assert is_formula_like(value)
        assert spreadsheet_safe(value) == "'" + value
    assert spreadsheet_safe("Иванов") == "Иванов"
    assert spreadsheet_safe(-1) == -1
    assert spreadsheet_safe_row(["=1+1", None, "ok"]) == ["'=1+1", None, "ok"]
