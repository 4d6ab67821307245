"""Order forms and surveys: a campaign's own fields, and the check of what an operator submitted.

A bank's loan application and an internet provider's order differ only in their field lists; both are checked here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from dialer.campaigns.model import CampaignDataError, check_label

TYPES = ("text", "integer", "number", "date", "bool", "choice", "phone", "email")
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
LEAD_FIELDS = (
    "phone", "full_name", "first_name", "last_name", "middle_name", "email", "address", "city", "region",
)  # fmt: skip
MAX_TEXT = 2000
_TRUE = ("true", "yes", "y", "1", "да", "д")
_FALSE = ("false", "no", "n", "0", "нет", "н")
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{3,30}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class FormError(CampaignDataError):
    """A submitted form was refused; `problems` holds one message per field (field = value: why)."""

    def __init__(self, problems: Sequence[CampaignDataError]) -> None:
        self.problems = tuple(problems)
        ValueError.__init__(self, "; ".join(str(p) for p in self.problems))
        self.field = self.problems[0].field
        self.value = self.problems[0].value


@dataclass(frozen=True, slots=True)
class FormField:
    """One field of an order form or survey; `prefill` names the lead field it starts from."""

    name: str
    label: str
    type: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 500
    prefill: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "label": self.label, "type": self.type, "required": self.required}
        if self.choices:
            data["choices"] = list(self.choices)
        data.update({k: v for k in ("minimum", "maximum", "prefill") if (v := getattr(self, k)) is not None})
        if self.type == "text" and self.max_length != 500:
            data["max_length"] = self.max_length
        return data


_KEYS = {"name", "label", "type", "required", "choices", "minimum", "maximum", "max_length", "prefill"}


def parse_fields(data: object, section: str) -> tuple[FormField, ...]:
    """`[[order_form]]` or `[[survey]]` tables as field definitions; each mistake names `section.N.key`."""
    if data is None:
        return ()
    if not isinstance(data, Sequence) or isinstance(data, str):
        raise CampaignDataError(section, data, "a list of fields ([[order_form]] tables)")
    fields: list[FormField] = []
    for i, item in enumerate(data):
        fields.append(_parse_field(item, f"{section}.{i}"))
    seen: set[str] = set()
    for i, f in enumerate(fields):
        if f.name in seen:
            raise CampaignDataError(f"{section}.{i}.name", f.name, "a second field of that name")
        seen.add(f.name)
    return tuple(fields)


def _parse_field(item: object, where: str) -> FormField:
    if not isinstance(item, Mapping):
        raise CampaignDataError(where, item, "a field is a table: name, label, type, required ...")
    for key in item:
        if key not in _KEYS:
            raise CampaignDataError(f"{where}.{key}", item[key], f"not a field setting: {', '.join(sorted(_KEYS))}")
    name = item.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise CampaignDataError(f"{where}.name", name, "a name is a lowercase letter, then letters, digits or '_'")
    kind = item.get("type", "text")
    if kind not in TYPES:
        raise CampaignDataError(f"{where}.type", kind, f"not a field type: {', '.join(TYPES)}")
    choices = item.get("choices", [])
    if not isinstance(choices, list) or not all(isinstance(c, str) and c for c in choices):
        raise CampaignDataError(f"{where}.choices", choices, "a list of texts")
    if (kind == "choice") != bool(choices):
        raise CampaignDataError(f"{where}.choices", choices, "a choice field needs choices, and only it has them")
    required = item.get("required", False)
    if not isinstance(required, bool):
        raise CampaignDataError(f"{where}.required", required, "true or false")
    minimum, maximum = (_number(item.get(k), f"{where}.{k}") for k in ("minimum", "maximum"))
    max_length = item.get("max_length", 500)
    if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= MAX_TEXT:
        raise CampaignDataError(f"{where}.max_length", max_length, f"a whole number from 1 to {MAX_TEXT}")
    prefill = item.get("prefill")
    if prefill is not None and prefill not in LEAD_FIELDS and not str(prefill).startswith("custom."):
        raise CampaignDataError(f"{where}.prefill", prefill, f"not a lead field: {', '.join(LEAD_FIELDS)}, custom.X")
    label = check_label(item.get("label", name), f"{where}.label")
    return FormField(name, label, kind, required, tuple(choices), minimum, maximum, max_length, prefill)


def _number(value: object, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CampaignDataError(field, value, "a number")
    return float(value)


def check_form(fields: Sequence[FormField], submitted: Mapping[str, object], section: str) -> dict[str, object]:
    """The submitted values, checked and cleaned (dates as ISO text, numbers as numbers), or FormError naming each."""
    problems: list[CampaignDataError] = []
    known = {f.name for f in fields}
    for key in submitted:
        if key not in known:
            problems.append(CampaignDataError(f"{section}.{key}", submitted[key], "no such field in this campaign"))
    clean: dict[str, object] = {}
    for f in fields:
        value = submitted.get(f.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if f.required:
                problems.append(CampaignDataError(f"{section}.{f.name}", value, "is required"))
            continue
        try:
            clean[f.name] = _clean(f, value, f"{section}.{f.name}")
        except CampaignDataError as exc:
            problems.append(exc)
    if problems:
        raise FormError(problems)
    return clean


def _clean(f: FormField, value: object, field: str) -> object:
    if f.type in ("integer", "number"):
        return _clean_number(f, value, field)
    if f.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise CampaignDataError(field, value, "yes or no")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise CampaignDataError(field, value, "a text")
    text = str(value).strip()
    if f.type == "date":
        return _clean_date(text, field)
    if f.type == "choice" and text not in f.choices:
        raise CampaignDataError(field, value, f"not one of {', '.join(f.choices)}")
    if f.type == "phone" and not _PHONE.fullmatch(text):
        raise CampaignDataError(field, value, "not a phone number")
    if f.type == "email" and not _EMAIL.fullmatch(text):
        raise CampaignDataError(field, value, "not an e-mail address")
    if len(text) > f.max_length:
        raise CampaignDataError(field, value, f"longer than {f.max_length} characters")
    return text


def _clean_number(f: FormField, value: object, field: str) -> int | float:
    if isinstance(value, bool):
        raise CampaignDataError(field, value, "a number")
    try:
        number = Decimal(str(value).strip().replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise CampaignDataError(field, value, "a number") from None
    if not number.is_finite():
        raise CampaignDataError(field, value, "a number")
    if f.type == "integer" and number != number.to_integral_value():
        raise CampaignDataError(field, value, "a whole number")
    if f.minimum is not None and number < Decimal(str(f.minimum)):
        raise CampaignDataError(field, value, f"less than {f.minimum:g}")
    if f.maximum is not None and number > Decimal(str(f.maximum)):
        raise CampaignDataError(field, value, f"more than {f.maximum:g}")
    return int(number) if f.type == "integer" else float(number)


def _clean_date(text: str, field: str) -> str:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    raise CampaignDataError(field, text, "not a date (YYYY-MM-DD or DD.MM.YYYY)")


def prefilled(fields: Sequence[FormField], lead: Mapping[str, object]) -> dict[str, object]:
    """The form as the operator first sees it: fields with a `prefill` take the lead's value."""
    custom = lead.get("custom")
    values: dict[str, object] = {}
    for f in fields:
        if f.prefill is None:
            continue
        if f.prefill.startswith("custom."):
            value = custom.get(f.prefill[7:]) if isinstance(custom, Mapping) else None
        else:
            value = lead.get(f.prefill)
        if value is not None:
            values[f.name] = value
    return values
