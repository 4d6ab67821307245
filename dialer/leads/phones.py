"""Phone numbers one at a time, with phonenumbers: E.164, and the time zones the number may be in.

The exact reference: the bulk path (`phones_bulk`) decides the common shapes itself and asks this for the rest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as pn_timezone

from dialer.leads.model import LeadDataError

_UNKNOWN_ZONE = "Etc/Unknown"
# Several numbers in one cell: "8 912 345-67-89, 8 913 000-00-00".
_SEPARATORS = re.compile(r"[,;]")


@dataclass(frozen=True, slots=True)
class Number:
    """A valid number in E.164 and the zones phonenumbers gives it (many for a mobile in a big country)."""

    e164: str
    zones: tuple[str, ...]


def check_region(region: str) -> str:
    """The default region as phonenumbers names it ('RU'); an unknown one is refused."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise LeadDataError(f"region {region!r}: not a region phonenumbers knows (e.g. RU, KZ, BY, US)")
    return code


@lru_cache(maxsize=65536)
def normalise(raw: str, region: str) -> Number | None:
    """The number written in `raw` ('8 (912) 345-67-89', '+7 912 345 67 89', '79123456789'), or None if invalid."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    zones = tuple(z for z in pn_timezone.time_zones_for_number(parsed) if z != _UNKNOWN_ZONE)
    return Number(e164, zones)


def normalise_cell(raw: str, region: str) -> tuple[Number, ...]:
    """Every valid number in a cell (several may be separated by ',' or ';'), first one first, without repeats."""
    parts = _SEPARATORS.split(raw) if _SEPARATORS.search(raw) else [raw]
    found: dict[str, Number] = {}
    for part in parts:
        number = normalise(part.strip(), region) if part.strip() else None
        if number is not None and number.e164 not in found:
            found[number.e164] = number
    return tuple(found.values())


def is_phone(raw: str, region: str) -> bool:
    return bool(normalise_cell(raw, region))


def zones_json(zones: tuple[str, ...]) -> str:
    """How a zone list is stored: a JSON array, the same text for the same zones."""
    return json.dumps(list(zones), ensure_ascii=False)
