"""Header names to fields: English and Russian names, mapping files, custom fields and files without a header."""

from __future__ import annotations

import pytest

from dialer.leads.headers import map_headers, normal_header, parse_mapping
from dialer.leads.model import Field, LeadDataError
from dialer.leads.phones import is_phone


def fields(headers: list[str], **kwargs: object) -> list[Field]:
    return [c.field for c in map_headers(headers, **kwargs).columns]  # type: ignore[arg-type]


def test_common_english_and_russian_names() -> None:
    assert fields(["Телефон", "ФИО", "Адрес", "Город", "E-mail", "Согласие", "Дата согласия"]) == [
        Field.PHONE, Field.FULL_NAME, Field.ADDRESS, Field.CITY, Field.EMAIL, Field.CONSENT, Field.CONSENT_AT,
    ]  # fmt: skip
    assert fields(["Phone", "First Name", "Last name", "Middle_Name", "City", "Region", "Time zone", "Email"]) == [
        Field.PHONE, Field.FIRST_NAME, Field.LAST_NAME, Field.MIDDLE_NAME, Field.CITY, Field.REGION, Field.TIMEZONE,
        Field.EMAIL,
    ]  # fmt: skip
    assert normal_header("\ufeff  Ф.И.О. ") == "ф и о"
    assert normal_header("Ё-mail") == "е mail"


def test_unknown_columns_become_custom_fields_under_their_header() -> None:
    header = map_headers(["phone", "Комментарий", "", "Комментарий", "город", "Город"])
    custom = [(c.index, c.key) for c in header.custom]
    assert custom == [(1, "Комментарий"), (2, "column_3"), (3, "Комментарий (2)"), (5, "Город")]


def test_primary_phone_names_come_before_alternates() -> None:
    """The lead's number comes from 'Телефон' before 'Рабочий телефон', whatever the column order."""
    header = map_headers(["Рабочий телефон", "ФИО", "Телефон", "Телефон клиента"])
    assert [c.index for c in header.phones] == [2, 0, 3]


def test_a_mapping_file_names_what_the_names_do_not_say() -> None:
    mapping = parse_mapping({"columns": {"Моб. тел": "phone", "Клиент №": "full_name", "Мусор": "ignore"}})
    header = map_headers(["Моб. тел", "Клиент №", "Мусор", "X"], mapping)
    assert [c.field for c in header.columns] == [Field.PHONE, Field.FULL_NAME, Field.IGNORE, Field.CUSTOM]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "needs a"),
        ({"columns": {"A": "telephone"}}, "columns.A = 'telephone': not a field"),
        ({"columns": {"A": "phone"}, "options": {}}, "unknown section 'options'"),
    ],
)
def test_a_bad_mapping_file_names_the_key_and_value(raw: dict[str, object], message: str) -> None:
    with pytest.raises(LeadDataError, match=message):
        parse_mapping(raw, "map.toml")


def test_no_phone_column_is_refused_naming_the_headers() -> None:
    with pytest.raises(LeadDataError, match="line 3: no phone column among the headers 'name', 'city'"):
        map_headers(["name", "city"], line=3)


def test_a_file_that_starts_with_a_number_has_no_header() -> None:
    """A first row with a phone number in it and no known header is the first lead."""
    header = map_headers(["Иванов", "8 912 345-67-89"], is_phone=lambda c: is_phone(c, "RU"))
    assert not header.has_header
    assert [c.field for c in header.columns] == [Field.CUSTOM, Field.PHONE]
