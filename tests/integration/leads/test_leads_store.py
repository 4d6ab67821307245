"""Lead imports into a real store (SQLite, PostgreSQL): formats, rejections, duplicates, DNC, consent, atomicity."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from switchboard.errors import LeadFileError, StoreError
from switchboard.leads import files
from switchboard.leads.dnc_file import add_dnc_number, import_dnc
from switchboard.leads.importer import ImportOptions, ImportReport, import_leads
from switchboard.store import leads as lead_store
from switchboard.store.schema import campaigns, lead_imports, lead_lists, leads

HEADER = ["Телефон", "ФИО", "Адрес", "Согласие"]
ROWS = [
    ["8 (912) 345-67-89", "Иванов Иван", "Москва, ул. Ленина, 1", "да"],
    ["+7 912 345 67 80", "Петров Пётр", "Екатеринбург,\nул. Мира, 2", "нет"],  # a line break in a quoted cell
    ["79123456781", 'Сидоров "Сид"', "", ""],
]
DAY = 86400.0


def csv_text(rows: list[list[str]], delimiter: str = ",", header: list[str] = HEADER) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def run(engine: Engine, path: Path, campaign: str = "Весна", at: float = 1.8e9, **options: Any) -> ImportReport:
    return import_leads(engine, path, ImportOptions(campaign=campaign, **options), clock=lambda: at)


def stored(engine: Engine, campaign: str = "Весна") -> list[dict[str, Any]]:
    query = (
        sa.select(leads, lead_lists.c.name.label("list_name"))
        .join(campaigns, leads.c.campaign_id == campaigns.c.id)
        .join(lead_lists, leads.c.list_id == lead_lists.c.id)
        .where(campaigns.c.name == campaign)
        .order_by(leads.c.list_id, leads.c.source_line)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def leads_indexes(engine: Engine) -> set[str | None]:
    return {index["name"] for index in sa.inspect(engine).get_indexes("leads")}


@pytest.mark.parametrize("kind", ["comma", "semicolon", "tab", "bom", "cp1251", "xlsx"])
def test_every_format_gives_the_same_leads(engine: Engine, tmp_path: Path, kind: str) -> None:
    """CSV with comma, semicolon or tab, UTF-8 with a BOM, Windows-1251 and XLSX are read alike, lines included."""
    if kind == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in [HEADER, *ROWS]:
            sheet.append(row)
        sheet["A4"] = 79123456781  # a phone number stored as a number
        path = tmp_path / "list.xlsx"
        book.save(path)
        lines = [2, 3, 4]
    else:
        delimiter = {"semicolon": ";", "tab": "\t"}.get(kind, ",")
        text = csv_text(ROWS, delimiter)
        encoding = {"bom": "utf-8-sig", "cp1251": "cp1251"}.get(kind, "utf-8")
        path = write(tmp_path / "list.csv", text, encoding)
        lines = [2, 3, 5]
    report = run(engine, path)
    assert report.as_json()["imported"] == 3, report.as_json()
    found = stored(engine)
    assert [r["phone_e164"] for r in found] == ["+79123456789", "+79123456780", "+79123456781"]
    assert [r["source_line"] for r in found] == lines
    assert found[1]["address"] == "Екатеринбург,\nул. Мира, 2"
    assert found[2]["full_name"] == 'Сидоров "Сид"'
    assert [r["consent"] for r in found] == [True, False, None]
    assert found[0]["time_zones"] and found[0]["status"] == "new"


def test_a_small_file_in_a_broken_encoding_is_refused_naming_the_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes("phone,name\n+79120000000,Иванов Иван Иванович\n".encode() + b"+79120000001,\xff\xfe\n")
    with pytest.raises(LeadFileError, match=r"broken\.csv: line 3: byte 76 is not valid utf-8"):
        run(engine, path)
    assert count(engine, campaigns) == 0


def test_every_rejection_reason_names_its_line(engine: Engine, tmp_path: Path) -> None:
    """No phone, invalid number, a value too long, broken quoting, too many cells: counted, listed, never stored."""
    text = (
        "Телефон;ФИО;Город\n"
        "8 912 345-67-89;Иванов;Москва\n"
        ";Без телефона;\n"
        "12345;Неверный;\n"
        f"8 912 345-67-80;{'я' * 201};\n"
        '"8 912 345-67-81"x;Кавычки;\n'
        "8 912 345-67-82;a;b;c\n"
    )
    report = run(engine, write(tmp_path / "bad.csv", text))
    data = report.as_json()
    assert (data["rows"], data["imported"], data["rejected"]) == (6, 1, 5)
    assert data["errors"] == [
        {"line": 3, "reason": "no phone"},
        {"line": 4, "reason": "invalid number: 'Телефон' = '12345'"},
        {"line": 5, "reason": "value too long: 'ФИО' has 201 characters (at most 200)"},
        {"line": 6, "reason": "broken quoting: text follows a closing quote"},
        {"line": 7, "reason": "bad row: 4 fields where the header has 3 (a delimiter inside an unquoted value?)"},
    ]
    assert len(stored(engine)) == 1


def test_duplicates_within_the_file_the_list_and_the_campaign(engine: Engine, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", csv_text([ROWS[0], ROWS[0], ROWS[1]]))
    assert run(engine, first, list_name="A").counts.duplicates == 1
    again_same_list = run(engine, write(tmp_path / "b.csv", csv_text([ROWS[0], ROWS[2]])), list_name="A")
    assert (again_same_list.counts.imported, again_same_list.counts.duplicates) == (1, 1)
    other_list = run(
        engine, write(tmp_path / "c.csv", csv_text([ROWS[1], ["+7 912 000 00 00", "", "", ""]])), list_name="B"
    )
    assert (other_list.counts.imported, other_list.counts.duplicates) == (1, 1)
    assert len(stored(engine)) == 4


def test_dedupe_days_looks_at_every_campaign_within_the_window(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", csv_text(ROWS))
    assert run(engine, path, campaign="Первая", at=100 * DAY).counts.imported == 3
    assert run(engine, path, campaign="Вторая", at=101 * DAY).counts.imported == 3  # campaigns are apart by default
    within = run(engine, path, campaign="Третья", at=110 * DAY, dedupe_days=30)
    assert (within.counts.imported, within.counts.duplicates) == (0, 3)
    after = run(engine, path, campaign="Четвёртая", at=140 * DAY, dedupe_days=30)
    assert after.counts.imported == 3


def test_the_same_file_twice_imports_nothing_the_second_time(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", csv_text(ROWS))
    assert run(engine, path).counts.imported == 3
    second = run(engine, path)
    assert (second.counts.rows, second.counts.imported, second.counts.duplicates) == (3, 0, 3)
    assert count(engine, lead_imports) == 2 and count(engine, lead_lists) == 1


def test_dnc_numbers_never_become_leads_system_wide_or_per_campaign(engine: Engine, tmp_path: Path) -> None:
    add_dnc_number(engine, "8 (912) 345-67-89", campaign=None)
    add_dnc_number(engine, "+7 912 345 67 80", campaign="Весна")
    path = write(tmp_path / "a.csv", csv_text(ROWS))
    spring = run(engine, path, campaign="Весна")
    assert (spring.counts.imported, spring.counts.dnc) == (1, 2)
    summer = run(engine, path, campaign="Лето")
    assert (summer.counts.imported, summer.counts.dnc) == (2, 1)


def test_a_dnc_file_marks_the_leads_it_names(engine: Engine, tmp_path: Path) -> None:
    """A headerless file of numbers goes on the list; leads with those numbers will not be called."""
    run(engine, write(tmp_path / "a.csv", csv_text(ROWS)))
    numbers = write(tmp_path / "dnc.txt", "89123456789\n+7 912 345 67 81\nнет номера\n")
    report = import_dnc(engine, numbers, campaign=None).as_json()
    assert (report["rows"], report["added"], report["leads_marked"], report["rejected"]) == (3, 2, 2, 1)
    assert report["errors"] == [{"line": 3, "reason": "invalid number: no valid number in the phone columns"}]
    assert [r["status"] for r in stored(engine)] == ["dnc", "new", "dnc"]
    assert import_dnc(engine, numbers, campaign=None).as_json()["already"] == 2


def test_consent_required_by_the_import_or_by_the_campaign(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", csv_text(ROWS))
    strict = run(engine, path, campaign="Строгая", require_consent=True)
    assert (strict.counts.imported, strict.counts.no_consent) == (1, 2)
    # The campaign made by that import keeps the setting: later imports into it need consent too.
    later = run(engine, write(tmp_path / "b.csv", csv_text([["+7 912 000 00 01", "", "", ""]])), campaign="Строгая")
    assert later.counts.no_consent == 1


def test_a_file_that_fails_midway_leaves_the_store_as_it_was(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows already written in the transaction are rolled back with the campaign and the list."""
    monkeypatch.setattr(files, "CHUNK_ROWS", 20000)
    good = "".join(f"+7912{i:07d},имя\n" for i in range(70000))  # past the first megabyte the encoding is read from
    path = tmp_path / "broken.csv"
    path.write_bytes(("phone,name\n" + good).encode() + b"+79120000000,\xff\xfe\n")
    with pytest.raises(LeadFileError, match="not utf-8"):
        run(engine, path)
    assert count(engine, leads) == 0 and count(engine, campaigns) == 0 and count(engine, lead_lists) == 0
    assert leads_indexes(engine) == {index.name for index in leads.indexes}  # dropped for the bulk load: back


def test_a_bulk_load_builds_the_leads_indexes_again_before_its_commit(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite drops the indexes of a nearly empty leads table for a big import and builds them at the end."""
    monkeypatch.setattr(lead_store, "_BULK_ROWS", 100)
    path = write(tmp_path / "bulk.csv", csv_text([[f"+7912{i:07d}", f"Имя {i}", "", ""] for i in range(500)]))
    assert run(engine, path).counts.imported == 500
    assert leads_indexes(engine) == {index.name for index in leads.indexes}
    rows = [(r["source_line"], r["phone_e164"], r["full_name"]) for r in stored(engine)]  # 64 rows a statement
    assert rows == [(i + 2, f"+7912{i:07d}", f"Имя {i}") for i in range(500)]
    assert run(engine, path, campaign="Лето").counts.imported == 500  # another campaign: a bulk load again
    again = run(engine, path)  # the unique index, built again, answers the campaign's dedupe
    assert (again.counts.imported, again.counts.duplicates) == (0, 500)
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(
            sa.insert(leads).values(**{k: v for k, v in stored(engine)[0].items() if k in leads.c and k != "id"})
        )


def test_only_a_table_no_bigger_than_the_import_has_its_indexes_built_again(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small import into a big table keeps the indexes: building them again would cost more than the inserts."""
    if engine.dialect.name != "sqlite":
        pytest.skip("only SQLite drops and builds indexes for a bulk load")
    monkeypatch.setattr(lead_store, "_BULK_ROWS", 100)
    monkeypatch.setattr(lead_store, "_SMALL_TABLE", 100)
    dropped: list[bool] = []
    drop = lead_store._defer_indexes

    def watched(conn: Any, at_most: int) -> list[str]:
        statements = drop(conn, at_most)
        dropped.append(bool(statements))
        return statements

    monkeypatch.setattr(lead_store, "_defer_indexes", watched)

    def numbers(start: int, rows: int) -> Path:
        text = csv_text([[f"+7912{i:07d}", f"Имя {i}", "", ""] for i in range(start, start + rows)])
        return write(tmp_path / f"{start}.csv", text)

    run(engine, numbers(0, 600), campaign="Первая")  # into an empty table
    run(engine, numbers(1000, 150), campaign="Вторая")  # 150 rows into 600
    run(engine, numbers(2000, 900), campaign="Третья")  # 900 rows into 750
    assert dropped == [True, False, True]
    assert leads_indexes(engine) == {index.name for index in leads.indexes}


def test_a_bulk_load_whose_indexes_cannot_be_built_stores_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver's error at the very end (SQLite, building the indexes) is a StoreError, and the list is not kept."""
    if engine.dialect.name != "sqlite":
        pytest.skip("only SQLite drops and builds indexes for a bulk load")
    monkeypatch.setattr(lead_store, "_BULK_ROWS", 100)
    monkeypatch.setattr(
        lead_store, "_defer_indexes", lambda conn, at_most: ["CREATE INDEX ix_broken ON leads (no_such_column)"]
    )
    path = write(tmp_path / "bulk.csv", csv_text([[f"+7912{i:07d}", f"Имя {i}", "", ""] for i in range(500)]))
    with pytest.raises(StoreError, match="no_such_column"):
        run(engine, path)
    assert count(engine, leads) == 0 and count(engine, campaigns) == 0
    assert leads_indexes(engine) == {index.name for index in leads.indexes}


def test_blocks_and_the_csv_module_hand_over_without_losing_a_line(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small blocks read in bulk, then a broken quote hands the rest to the csv module: every line is accounted for."""
    monkeypatch.setattr(files, "BLOCK_BYTES", 512)
    rows = [f'+7912{i:07d},"имя {i}\nвторая строка"\n' for i in range(100)]
    rows[60] = '+79129999999,"сломано"x\n'
    path = write(tmp_path / "mixed.csv", "phone,name\n" + "".join(rows))
    report = run(engine, path)
    assert (report.counts.imported, report.counts.rejected) == (99, 1)
    assert report.as_json()["errors"] == [{"line": 122, "reason": "broken quoting: text follows a closing quote"}]
    lines = [r["source_line"] for r in stored(engine)]
    assert lines == [2 + 2 * i for i in range(60)] + [123 + 2 * i for i in range(39)]
