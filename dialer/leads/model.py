"""The lead-list vocabulary: the fields a lead has, their length limits, a usable row and a refused one.

Frozen values only; the bulk path carries the same fields as columns of a polars frame (see `batch`).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field


class LeadDataError(ValueError):
    """A lead file, a mapping or a value cannot be read at all; the message names the line, field or value.

    The shell raises it on as switchboard.errors.LeadFileError (the core does not import the shell).
    """


class Field(enum.StrEnum):
    """What a column of a lead file means; CUSTOM columns are kept as the lead's custom fields."""

    PHONE = "phone"  # several columns may be phones: the first usable number is the lead's, the rest alternates
    FULL_NAME = "full_name"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    MIDDLE_NAME = "middle_name"
    EMAIL = "email"
    ADDRESS = "address"
    CITY = "city"
    REGION = "region"
    TIMEZONE = "timezone"
    CONSENT = "consent"
    CONSENT_AT = "consent_at"
    CONSENT_SOURCE = "consent_source"
    CUSTOM = "custom"
    IGNORE = "ignore"


# The longest value each field takes, in characters; longer is a rejection naming the column.
MAX_LENGTH: Mapping[Field, int] = {
    Field.PHONE: 64,
    Field.FULL_NAME: 200,
    Field.FIRST_NAME: 100,
    Field.LAST_NAME: 100,
    Field.MIDDLE_NAME: 100,
    Field.EMAIL: 254,
    Field.ADDRESS: 500,
    Field.CITY: 100,
    Field.REGION: 100,
    Field.TIMEZONE: 64,
    Field.CONSENT: 64,
    Field.CONSENT_AT: 40,
    Field.CONSENT_SOURCE: 200,
    Field.CUSTOM: 1000,
}
MAX_CUSTOM_KEY = 100

# The text columns of a lead, in the store's order (phone and zones are computed, not copied).
TEXT_FIELDS: tuple[Field, ...] = (
    Field.FULL_NAME,
    Field.FIRST_NAME,
    Field.LAST_NAME,
    Field.MIDDLE_NAME,
    Field.EMAIL,
    Field.ADDRESS,
    Field.CITY,
    Field.REGION,
    Field.CONSENT_SOURCE,
)


class Reason(enum.StrEnum):
    """Why a row of a file could not be used."""

    NO_PHONE = "no phone"
    INVALID_NUMBER = "invalid number"
    TOO_LONG = "value too long"
    BROKEN_QUOTING = "broken quoting"
    BAD_ROW = "bad row"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that cannot be used: the line of the file where its record starts, and why."""

    line: int
    reason: Reason
    detail: str = ""

    @property
    def message(self) -> str:
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value

    def as_json(self) -> dict[str, object]:
        return {"line": self.line, "reason": self.message}


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One usable row: the number in E.164, its alternates, the person, where they are, and their consent."""

    line: int
    phone_e164: str
    alt_phones: tuple[str, ...] = ()
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    email: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    time_zones: tuple[str, ...] = ()  # callable only while the calling hours hold in every one of them
    consent: bool | None = None  # None: the file says nothing about consent
    consent_at: str | None = None  # ISO 8601 when the file's value could be read as a date, else as given
    consent_source: str | None = None
    custom: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_columns(cls, row: Mapping[str, object]) -> LeadRow:
        """A row of the bulk frame (JSON-encoded lists and custom fields) as a value."""
        texts = {f.value: row.get(f.value) for f in TEXT_FIELDS}
        return cls(
            line=int(str(row["line"])),
            phone_e164=str(row["phone_e164"]),
            alt_phones=tuple(_json_list(row.get("alt_phones"))),
            time_zones=tuple(_json_list(row.get("time_zones"))),
            consent=consent if isinstance(consent := row.get("consent"), bool) else None,
            consent_at=_text(row.get("consent_at")),
            custom=_json_dict(row.get("custom")),
            **{k: _text(v) for k, v in texts.items()},
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _json_list(value: object) -> list[str]:
    return [str(v) for v in json.loads(value)] if isinstance(value, str) else []


def _json_dict(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in json.loads(value).items()} if isinstance(value, str) else {}


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """What became of every row of a file: rows = imported + rejected + duplicates + dnc + no_consent."""

    imported: int = 0
    rejected: int = 0
    duplicates: int = 0
    dnc: int = 0
    no_consent: int = 0

    @property
    def rows(self) -> int:
        return self.imported + self.rejected + self.duplicates + self.dnc + self.no_consent

    def __add__(self, other: ImportCounts) -> ImportCounts:
        return ImportCounts(
            self.imported + other.imported,
            self.rejected + other.rejected,
            self.duplicates + other.duplicates,
            self.dnc + other.dnc,
            self.no_consent + other.no_consent,
        )
