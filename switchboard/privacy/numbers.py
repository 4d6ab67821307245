"""One person's number in every shape the platform and Asterisk write it, and how to find and mask those shapes.

A number reaches our records as the network gave it: '+79123456789', '79123456789', '89123456789', '9123456789'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import phonenumbers

from dialer.leads.phones import check_region, normalise
from switchboard.errors import PrivacyError

# A shape of the number is found only as a whole digit run: '79123456789' inside '579123456789' is someone else.
_EDGE_BEFORE = r"(?<![0-9])"
_EDGE_AFTER = r"(?![0-9])"


@dataclass(frozen=True)  # no slots: the patterns are cached on the instance
class PersonNumber:
    """A valid number in E.164, with the other shapes it takes in call records and Asterisk's files."""

    e164: str
    shapes: tuple[str, ...]  # longest first; the E.164 form among them

    @property
    def core(self) -> str:
        """The national significant number: every shape holds it, so a search for it finds them all."""
        return min(self.shapes, key=len).lstrip("+")

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(_EDGE_BEFORE + "(?:" + "|".join(re.escape(s) for s in self.shapes) + ")" + _EDGE_AFTER)

    @cached_property
    def byte_pattern(self) -> re.Pattern[bytes]:
        return re.compile(self.pattern.pattern.encode("ascii"))

    def found_in(self, text: str) -> bool:
        return self.core in text and self.pattern.search(text) is not None

    def mask(self, text: str) -> str:
        """`text` with every shape of the number turned into '*' digit for digit (the same length)."""
        return self.pattern.sub(lambda m: _stars(m.group()), text)

    def mask_bytes(self, data: bytes) -> bytes:
        return self.byte_pattern.sub(lambda m: re.sub(rb"[0-9]", b"*", m.group()), data)

    def mask_json(self, value: Any) -> Any:
        """A JSON value with the number taken out: a list item that is the number is dropped, text is masked."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, list):
            return [self.mask_json(v) for v in value if not (isinstance(v, str) and v.strip() in self.shapes)]
        if isinstance(value, dict):
            return {self.mask(str(k)): self.mask_json(v) for k, v in value.items()}
        return value

    def found_in_json(self, value: Any) -> bool:
        if isinstance(value, str):
            return self.found_in(value)
        if isinstance(value, list):
            return any(self.found_in_json(v) for v in value)
        if isinstance(value, dict):
            return any(self.found_in(str(k)) or self.found_in_json(v) for k, v in value.items())
        return False


def _stars(text: str) -> str:
    return re.sub(r"[0-9]", "*", text)


def person_number(raw: str, region: str = "RU") -> PersonNumber:
    """The number written in `raw` in any format ('8 (912) 345-67-89'); an invalid one is refused."""
    try:
        code = check_region(region)
    except ValueError as exc:
        raise PrivacyError(str(exc)) from None
    found = normalise(raw.strip(), code)
    if found is None:
        raise PrivacyError(f"{raw!r}: not a valid phone number (default region {code})")
    return PersonNumber(found.e164, shapes_of(found.e164))


def shapes_of(e164: str) -> tuple[str, ...]:
    """'+79123456789' -> +79123456789, 0079123456789, 81079123456789, 79123456789, 89123456789, 9123456789."""
    parsed = phonenumbers.parse(e164, None)
    country = str(parsed.country_code)
    national = phonenumbers.national_significant_number(parsed)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(phonenumbers.region_code_for_number(parsed) or "")
    shapes = {e164, country + national, "00" + country + national, national}
    if metadata is not None:
        if metadata.national_prefix and metadata.national_prefix.isdigit():
            shapes.add(metadata.national_prefix + national)
        if metadata.international_prefix and metadata.international_prefix.isdigit():
            shapes.add(metadata.international_prefix + country + national)
    return tuple(sorted(shapes, key=lambda s: (-len(s), s)))
