"""Which column of a lead file is which field: common English and Russian header names, or a mapping file.

Unknown columns are kept as custom fields under their header; a file without a header row is recognised
by a phone number where the header would be.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dialer.leads.model import MAX_CUSTOM_KEY, Field, LeadDataError

_PRIMARY, _ALTERNATE = 0, 1
_ALIASES: dict[Field, tuple[str, ...]] = {
    Field.PHONE: (
        "phone", "phone number", "phone1", "phone 1", "telephone", "tel", "mobile", "mobile phone", "cell",
        "cell phone", "cellphone", "msisdn", "number", "contact phone",
        "телефон", "тел", "номер", "номер телефона", "телефон 1", "телефон1", "мобильный", "мобильный телефон",
        "моб телефон", "моб тел", "сотовый", "сотовый телефон", "контактный телефон",
    ),
    Field.FULL_NAME: (
        "name", "full name", "fullname", "client", "client name", "customer", "customer name", "contact",
        "contact name", "фио", "ф и о", "клиент", "контакт", "контактное лицо", "полное имя", "имя клиента",
    ),
    Field.FIRST_NAME: ("first name", "firstname", "given name", "имя"),
    Field.LAST_NAME: ("last name", "lastname", "surname", "family name", "фамилия"),
    Field.MIDDLE_NAME: ("middle name", "middlename", "patronymic", "отчество"),
    Field.EMAIL: ("email", "e mail", "mail", "email address", "почта", "электронная почта", "эл почта", "емейл"),
    Field.ADDRESS: ("address", "street address", "адрес", "адрес проживания", "адрес регистрации", "почтовый адрес"),
    Field.CITY: ("city", "town", "город", "населенный пункт", "нас пункт"),
    Field.REGION: ("region", "state", "province", "oblast", "регион", "область", "край", "субъект", "субъект рф"),
    Field.TIMEZONE: ("timezone", "time zone", "tz", "часовой пояс", "пояс", "таймзона"),
    Field.CONSENT: (
        "consent", "opt in", "optin", "согласие", "согласие на звонки", "согласие на обработку",
        "согласие на обработку персональных данных", "согласие на обработку пд",
    ),
    Field.CONSENT_AT: ("consent date", "consent at", "consent time", "consented at", "дата согласия"),
    Field.CONSENT_SOURCE: ("consent source", "source of consent", "источник согласия"),
}  # fmt: skip
_ALTERNATE_PHONES = (
    "phone 2", "phone2", "alt phone", "alternate phone", "other phone", "work phone", "home phone",
    "телефон 2", "телефон2", "доп телефон", "дополнительный телефон", "рабочий телефон", "домашний телефон",
)  # fmt: skip
_KNOWN: dict[str, tuple[Field, int]] = {
    **{alias: (fld, _PRIMARY) for fld, aliases in _ALIASES.items() for alias in aliases},
    **dict.fromkeys(_ALTERNATE_PHONES, (Field.PHONE, _ALTERNATE)),
}
_MAPPABLE = {f.value: f for f in Field} | {"alt_phone": Field.PHONE}


def normal_header(text: str) -> str:
    """A header as compared: lower case, 'ё' as 'е', punctuation as spaces."""
    text = text.strip().lower().replace("ё", "е").lstrip("\ufeff")
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


@dataclass(frozen=True, slots=True)
class Column:
    index: int
    header: str
    field: Field
    key: str = ""  # a custom field's name
    rank: int = _PRIMARY  # phones: primary-sounding names come before alternates


@dataclass(frozen=True, slots=True)
class HeaderMap:
    """The meaning of each column of a file; `has_header` is False when the first row is already a lead."""

    columns: tuple[Column, ...]
    has_header: bool = True

    @property
    def width(self) -> int:
        return len(self.columns)

    @property
    def phones(self) -> tuple[Column, ...]:
        found = [c for c in self.columns if c.field is Field.PHONE]
        return tuple(sorted(found, key=lambda c: (c.rank, c.index)))

    def column(self, fld: Field) -> Column | None:
        return next((c for c in self.columns if c.field is fld), None)

    @property
    def custom(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.field is Field.CUSTOM)


def parse_mapping(raw: Mapping[str, object], source: str = "mapping") -> dict[str, Field]:
    """A mapping file's [columns] table ("Header" = "field") as normalised header -> Field."""
    columns = raw.get("columns")
    unknown = sorted(set(raw) - {"columns"})
    if unknown:
        raise LeadDataError(f"{source}: unknown section {unknown[0]!r} (only [columns] is read)")
    if not isinstance(columns, Mapping) or not columns:
        raise LeadDataError(f'{source}: needs a [columns] table, e.g. "Моб. тел" = "phone"')
    mapping: dict[str, Field] = {}
    for header, name in columns.items():
        fld = _MAPPABLE.get(str(name))
        if fld is None:
            choices = ", ".join(sorted(_MAPPABLE))
            raise LeadDataError(f"{source}: columns.{header} = {name!r}: not a field (one of {choices})")
        mapping[normal_header(str(header))] = fld
    return mapping


def map_headers(
    cells: Sequence[str],
    mapping: Mapping[str, Field] | None = None,
    *,
    is_phone: Callable[[str], bool] | None = None,
    line: int = 1,
) -> HeaderMap:
    """What each column means, from the first row of a file.

    When no header is recognised but a cell of that row is a phone number (`is_phone`), the file has no header.
    """
    mapping = mapping or {}
    found = [_known(cell, mapping) for cell in cells]
    if is_phone is not None and all(f is None for f in found):
        first_phone = next((i for i, cell in enumerate(cells) if cell.strip() and is_phone(cell)), None)
        if first_phone is not None:
            return _headerless(len(cells), first_phone)
    columns: list[Column] = []
    taken: set[Field] = set()
    keys: set[str] = set()
    for index, (cell, known) in enumerate(zip(cells, found, strict=True)):
        header = cell.strip().lstrip("\ufeff")
        fld, rank = known or (Field.CUSTOM, _PRIMARY)
        if fld in taken and fld is not Field.PHONE and fld is not Field.IGNORE:
            fld = Field.CUSTOM  # a second "city" column is kept, as a custom field under its own header
        taken.add(fld)
        key = _custom_key(header, index, keys) if fld is Field.CUSTOM else ""
        columns.append(Column(index, header, fld, key, rank))
    header_map = HeaderMap(tuple(columns))
    if not header_map.phones:
        names = ", ".join(repr(c.strip()) for c in cells) or "(none)"
        raise LeadDataError(
            f"line {line}: no phone column among the headers {names}; "
            'name one in a mapping file ([columns] "..." = "phone")'
        )
    return header_map


def _known(cell: str, mapping: Mapping[str, Field]) -> tuple[Field, int] | None:
    name = normal_header(cell)
    if name in mapping:
        fld = mapping[name]
        return fld, (_ALTERNATE if fld is Field.PHONE and name in _ALTERNATE_PHONES else _PRIMARY)
    if name in _KNOWN:
        return _KNOWN[name]
    if "телефон" in name or "phone" in name.split() or name.startswith("тел "):
        return Field.PHONE, _ALTERNATE
    return None


def _custom_key(header: str, index: int, keys: set[str]) -> str:
    key = header[:MAX_CUSTOM_KEY] or f"column_{index + 1}"
    base, n = key, 2
    while key in keys:
        key, n = f"{base} ({n})", n + 1
    keys.add(key)
    return key


def _headerless(width: int, phone_index: int) -> HeaderMap:
    columns = tuple(
        Column(i, "", Field.PHONE) if i == phone_index else Column(i, "", Field.CUSTOM, f"column_{i + 1}")
        for i in range(width)
    )
    return HeaderMap(columns, has_header=False)
