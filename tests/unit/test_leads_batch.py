"""A chunk of records made into leads: every rejection reason with its line, zones, consent, custom fields."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.leads.batch import LEAD_SCHEMA, prepare_batch
from dialer.leads.headers import map_headers
from dialer.leads.model import LeadRow, Reason
from dialer.leads.records import Record, delimited_records


def batch_of(text: str, delimiter: str = ";") -> tuple[list[LeadRow], list[tuple[int, Reason, str]]]:
    items = list(delimited_records(io.StringIO(text, newline=""), delimiter))
    header = map_headers(items[0][1])  # type: ignore[index]
    records: list[Record] = [i for i in items[1:] if isinstance(i, tuple)]
    batch = prepare_batch(records, header, "RU")
    return list(batch.rows()), [(r.line, r.reason, r.detail) for r in batch.rejections]


def test_each_reason_names_the_line_and_the_value() -> None:
    text = (
        "Телефон;ФИО;Адрес\n"
        "8 912 345-67-89;Иванов;Москва\n"
        "12345;Петров;\n"
        ";Сидоров;\n"
        f"8 912 345-67-80;{'x' * 201};\n"
        "8 912 345-67-81;a\x00b;\n"
        "8 912 345-67-82;a;b;c;d\n"
        "8 912 345-67-83;a;b;;\n"
    )
    rows, rejected = batch_of(text)
    assert [r.line for r in rows] == [2, 8]
    assert rejected == [
        (3, Reason.INVALID_NUMBER, "'Телефон' = '12345'"),
        (4, Reason.NO_PHONE, ""),
        (5, Reason.TOO_LONG, "'ФИО' has 201 characters (at most 200)"),
        (6, Reason.BAD_ROW, "'ФИО' holds a NUL character"),
        (7, Reason.BAD_ROW, "5 fields where the header has 3 (a delimiter inside an unquoted value?)"),
    ]


def test_a_lead_row_holds_the_file_values_normalised() -> None:
    text = (
        "Телефон;Телефон 2;ФИО;Город;Согласие;Источник согласия;Комментарий;Скидка\n"
        '"8 (912) 345-67-89";+7 913 000 00 00;" Иванов Иван ";Екатеринбург;01.03.2024;сайт;=SUM(A1);\n'
    )
    rows, rejected = batch_of(text)
    assert not rejected
    assert rows == [
        LeadRow(
            line=2,
            phone_e164="+79123456789",
            alt_phones=("+79130000000",),
            full_name="Иванов Иван",
            city="Екатеринбург",
            time_zones=("Asia/Yekaterinburg",),
            consent=True,
            consent_at="2024-03-01",
            consent_source="сайт",
            custom={"Комментарий": "=SUM(A1)"},  # stored as written: exporters escape (dialer.leads.text)
        )
    ]


def test_zones_come_from_the_zone_column_then_region_then_city_then_number() -> None:
    text = (
        "phone;timezone;region;city\n"
        "+79123456789;Asia/Omsk;Свердловская обл.;Москва\n"
        "+79123456780;;Свердловская обл.;Москва\n"
        "+79123456781;;;Москва\n"
        "+79123456782;garbage;;\n"
        "+73431234567;;;\n"
    )
    rows, _ = batch_of(text)
    zones = [r.time_zones for r in rows]
    assert zones[:3] == [("Asia/Omsk",), ("Asia/Yekaterinburg",), ("Europe/Moscow",)]
    assert len(zones[3]) > 5  # a mobile of no known place: every zone of the country code
    assert zones[4] == ("Asia/Yekaterinburg",)


@given(
    st.lists(
        st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
)
def test_custom_fields_are_the_filled_unknown_columns_as_json(values: list[str], two_columns: bool) -> None:
    """One unknown column or two: quotes, backslashes and line breaks survive; empty cells are left out."""
    header = map_headers(["phone", "Комментарий", "Скидка"] if two_columns else ["phone", "Комментарий"])
    records: list[Record] = [
        (i + 2, [f"+7912000{i:04d}", value, value[::-1]][: header.width]) for i, value in enumerate(values)
    ]
    rows = list(prepare_batch(records, header, "RU").rows())
    for row, value in zip(rows, values, strict=True):
        cells = (
            {"Комментарий": value.strip(), "Скидка": value[::-1].strip()}
            if two_columns
            else {"Комментарий": value.strip()}
        )
        assert row.custom == {key: cell for key, cell in cells.items() if cell}


def test_blank_rows_are_not_rows() -> None:
    rows, rejected = batch_of("phone;name\n;\n  ;  \n+79123456789;a\n")
    assert [r.line for r in rows] == [4]
    assert rejected == []


def test_no_records_make_an_empty_batch() -> None:
    batch = prepare_batch([], map_headers(["phone"]), "RU")
    assert batch.leads.height == 0
    assert batch.leads.columns == list(LEAD_SCHEMA)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.text(max_size=30), min_size=0, max_size=5), max_size=20))
def test_any_cells_give_leads_or_rejections_never_a_crash(rows: list[list[str]]) -> None:
    """Every non-blank record ends up a lead or a rejection with its own line; none is lost."""
    header = map_headers(["phone", "name", "city"])
    records: list[Record] = [(i + 2, cells) for i, cells in enumerate(rows)]
    batch = prepare_batch(records, header, "RU")
    non_blank = {line for line, cells in records if any(c.strip() for c in cells)}
    seen = [r.line for r in batch.rows()] + [r.line for r in batch.rejections]
    assert sorted(seen) == sorted(non_blank)


def test_white_space_is_what_python_strips() -> None:
    """A cell of separators only (\\x1c-\\x1f) is blank here as it is to str.strip()."""
    from dialer.leads.batch import WHITE_SPACE

    assert "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) == WHITE_SPACE
