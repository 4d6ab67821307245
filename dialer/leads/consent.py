"""Consent cells: yes or no in English and Russian, or the date it was given; dates as ISO 8601.

Only a clear yes counts as consent: an unknown word is no consent, since a campaign that requires it
must never dial on a guess.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

_YES = {"1", "yes", "y", "true", "t", "+", "x", "v", "✓", "✔", "да", "д", "есть", "согласен", "согласна", "получено"}
_NO = {"0", "no", "n", "false", "f", "-", "нет", "н", "не согласен", "не согласна", "отказ"}
_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%y",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
)
_DATE_LIKE = re.compile(r"^\d{1,4}[.\-/]\d{1,2}[.\-/]\d{1,4}")


# A list holds a few hundred distinct dates and consent words in a million rows; strptime is slow (tens of µs).
@lru_cache(maxsize=16384)
def parse_date(text: str) -> str | None:
    """'01.03.2024', '2024-03-01 10:15' -> ISO 8601 ('2024-03-01', '2024-03-01T10:15:00'); else None."""
    value = text.strip()
    if not _DATE_LIKE.match(value):
        return None
    for fmt in _FORMATS:
        try:
            moment = dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
        return moment.date().isoformat() if "%H" not in fmt else moment.isoformat(timespec="seconds")
    return None


@lru_cache(maxsize=16384)
def parse_consent(text: str) -> tuple[bool | None, str | None]:
    """(consent, date): yes -> True, no -> False, a date -> True on that date, empty -> None, other -> False."""
    value = " ".join(text.strip().lower().replace("ё", "е").split())
    if not value:
        return None, None
    if value in _YES:
        return True, None
    if value in _NO:
        return False, None
    when = parse_date(value)
    if when is not None:
        return True, when
    return False, None
