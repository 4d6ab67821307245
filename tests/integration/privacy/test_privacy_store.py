"""One person seeded across every table and file, then exported and erased, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from switchboard.leads.importer import ImportOptions, import_leads
from switchboard.privacy.erase import erase_person
from switchboard.privacy.export import export_person
from switchboard.privacy.files import Places
from switchboard.privacy.numbers import person_number
from switchboard.store import schema
from switchboard.store.dnc import add_numbers, is_blocked
from switchboard.store.leads import ensure_campaign, ensure_list

NUMBER = "8 (912) 345-67-89"
E164 = "+79123456789"
CORE = "9123456789"  # every shape of the number holds it
RELATIVE = "+79990001122"
STRANGER = "+79995556677"
T0 = 1.8e9
# A table another part of the platform may add later: the privacy code must find it by its links alone.
survey_answers = sa.Table(
    "survey_answers",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("question", sa.String(100), nullable=False),
    sa.Column("answer", sa.Text, nullable=True),
)


@dataclass
class Seeded:
    places: Places
    leads: dict[str, int]
    files: dict[str, Path]


def _insert(conn: sa.Connection, table: sa.Table, **values: Any) -> Any:
    return conn.execute(table.insert().values(**values).returning(*table.primary_key.columns)).scalar_one()


def seed(engine: Engine, tmp_path: Path) -> Seeded:
    """The person (lead A), a relative listing their number as an alternate (B), a stranger (C), calls and files."""
    recordings, logs = tmp_path / "recordings", tmp_path / "asterisk" / "log"
    (recordings / "voicemail").mkdir(parents=True)
    (logs / "cdr-csv").mkdir(parents=True)
    files = {
        "out": recordings / "out1.wav",
        "in": recordings / "in1.wav",
        "vm": recordings / "voicemail" / "vm1.wav",
        "named": recordings / "2024-05-01-79123456789.wav",
        "other": recordings / "stranger.wav",
    }
    for path in files.values():
        path.write_bytes(b"RIFF....WAVE")
    files["queue_log"] = tmp_path / "queue_log"
    files["queue_log"].write_text(
        "1800000000|c1|tax|NONE|ENTERQUEUE||79123456789|1\n"
        "1800000001|c2|tax|NONE|ENTERQUEUE||79995556677|1\n"
        "1800000002|c1|tax|op1001|CONNECT|1|c1.1|2\n",
        encoding="utf-8",
    )
    files["cdr"] = logs / "cdr-csv" / "Master.csv"
    files["cdr"].write_text(
        '"","79123456789","5551","from-trunk","""Иван"" <79123456789>","PJSIP/trunk-1","","","",""\n'
        '"","79995556677","5551","from-trunk","""Пётр"" <79995556677>","PJSIP/trunk-2","","","",""\n',
        encoding="utf-8",
    )
    files["messages"] = logs / "messages"
    files["messages"].write_bytes(b"[x] -- Executing [+79123456789@from-trunk:1]\n[x] \xff other line 1800000000.42\n")
    files["rotated"] = logs / "messages.1.gz"
    files["rotated"].write_bytes(gzip.compress(b"old: caller 89123456789 rang\nold: nothing\n"))
    places = Places(recordings, files["queue_log"], logs)
    with engine.begin() as conn:
        schema.queue_callbacks.create(conn, checkfirst=True)  # the ACD's table, if its migration is not in yet
        survey_answers.create(conn)
        campaign = ensure_campaign(conn, "Весна", T0).id
        list_id = ensure_list(conn, campaign, "весна.csv", T0)
        common = {"campaign_id": campaign, "list_id": list_id, "time_zones": ["Europe/Moscow"], "created_at": T0}
        lead_a = _insert(
            conn, schema.leads, phone_e164=E164, alt_phones=[STRANGER], full_name="Иванов Иван Иванович",
            email="ivan@example.ru", address="Москва, ул. Ленина, 1", custom={"Комментарий": "после 18"},
            consent=True, consent_source="сайт", source_line=2, **common,
        )  # fmt: skip
        lead_b = _insert(
            conn, schema.leads, phone_e164=RELATIVE, alt_phones=[E164], full_name="Иванова Мария", **common
        )
        lead_c = _insert(conn, schema.leads, phone_e164=STRANGER, full_name="Петров Пётр", **common)
        disposition = _insert(conn, schema.dispositions, campaign_id=campaign, code="sale", label="Продажа")
        attempt = {"campaign_id": campaign, "started_at": T0 + 10}
        a1 = _insert(
            conn, schema.attempts, lead_id=lead_a, phone_e164=E164, call_id="call-out-1", result="answered",
            recording=str(files["out"]), disposition_id=disposition, note="перезвонить на 89123456789", score=7,
            order_form={"address": "Москва, ул. Ленина, 1", "contact": "+79123456789"}, survey={"income": "100 000"},
            **attempt,
        )  # fmt: skip
        _insert(conn, schema.attempts, lead_id=lead_b, phone_e164=E164, result="no_answer", **attempt)
        _insert(conn, schema.attempts, lead_id=lead_c, phone_e164=STRANGER, note="сосед: 79123456789", **attempt)
        _insert(
            conn, schema.callbacks, lead_id=lead_a, campaign_id=campaign, attempt_id=a1, phone_e164=E164,
            due_at=T0 + 3600, note="вечером", created_at=T0,
        )  # fmt: skip
        _insert(conn, survey_answers, attempt_id=a1, question="income", answer="100 000, адрес: Ленина 1")
        call = {"direction": "inbound", "hotline": "5551", "queue": "tax", "started_at": T0}
        _insert(
            conn, schema.calls, id="call-in-1", uniqueid="1.1", caller="79123456789", recording=str(files["in"]), **call
        )
        _insert(conn, schema.calls, id="call-out-1", uniqueid="1.2", caller="+74950000000", **call)
        _insert(
            conn,
            schema.calls,
            id="call-in-2",
            uniqueid="1.3",
            caller="79995556677",
            recording=str(files["other"]),
            **call,
        )
        _insert(
            conn, schema.queue_callbacks, id="call-in-3", queue="tax", phone="89123456789", kind="voicemail",
            message=str(files["vm"]), requested_at=T0,
        )  # fmt: skip
        add_numbers(conn, [E164], campaign_id=campaign, now=T0, source="cli")
    return Seeded(places, {"a": lead_a, "b": lead_b, "c": lead_c}, files)


def every_text(engine: Engine) -> list[tuple[str, str, str]]:
    """(table, column, text) for every string or JSON value of every table."""
    found = []
    metadata = sa.MetaData()
    with engine.connect() as conn:
        metadata.reflect(conn)
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for column, value in row._mapping.items():
                    if value is not None and not isinstance(value, int | float | bool):
                        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                        found.append((table.name, str(column), text))
    return found


def test_export_finds_the_person_in_every_table_and_file(engine: Engine, tmp_path: Path) -> None:
    """Rows by number and by link, other rows' mentions, DNC, log lines (plain and gzip) and recordings."""
    seeded = seed(engine, tmp_path)
    data = export_person(engine, person_number(NUMBER, "RU"), seeded.places)
    json.dumps(data)  # all of it is JSON
    assert data["number"] == E164
    tables = {name: len(rows) for name, rows in data["tables"].items()}
    assert tables == {"leads": 1, "attempts": 2, "callbacks": 1, "calls": 2, "queue_callbacks": 1, "survey_answers": 1}
    assert data["tables"]["leads"][0]["full_name"] == "Иванов Иван Иванович"
    assert data["tables"]["leads"][0]["custom"] == {"Комментарий": "после 18"}
    assert {m["table"] for m in data["mentions"]} == {"leads", "attempts"}  # the relative's alternate, a note
    assert {r["code"] for r in data["referenced"]["dispositions"]} == {"sale"}
    assert [entry["phone_e164"] for entry in data["dnc"]] == [E164]
    assert {Path(r["path"]).name for r in data["recordings"]} == {
        "out1.wav",
        "in1.wav",
        "vm1.wav",
        "2024-05-01-79123456789.wav",
    }
    assert sorted((Path(line["file"]).name, line["line"]) for line in data["lines"]) == [
        ("Master.csv", 1), ("messages", 1), ("messages.1.gz", 1), ("queue_log", 1),
    ]  # fmt: skip
    assert data["unchecked"] == []


def test_erase_leaves_no_trace_keeps_reports_and_the_hash_still_blocks(engine: Engine, tmp_path: Path) -> None:
    """No table or file holds the number after; counted rows stay; DNC blocks it by hash; a second run does nothing."""
    seeded = seed(engine, tmp_path)
    before = {p: p.read_bytes() for p in (seeded.files["queue_log"], seeded.files["cdr"], seeded.files["messages"])}
    inode = seeded.files["messages"].stat().st_ino
    report = erase_person(engine, person_number(NUMBER, "RU"), seeded.places, now=T0 + 99)

    assert report["tables"] == {
        "leads": {"cleared": 1}, "attempts": {"cleared": 2}, "callbacks": {"cleared": 1}, "calls": {"cleared": 2},
        "queue_callbacks": {"cleared": 1}, "survey_answers": {"deleted": 1},
    }  # fmt: skip
    assert report["mentions"] == {"leads.alt_phones": 1, "attempts.note": 1}
    assert report["dnc"] == {"entries_hashed": 1, "system_entry_added": True}
    assert len(report["recordings"]["deleted"]) == 4
    assert CORE not in json.dumps(report)
    leftovers = [(t, c) for t, c, text in every_text(engine) if CORE in text or "Иванов Иван" in text]
    assert leftovers == []
    for path in seeded.places.log_files():
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        assert CORE.encode() not in data, path
    for path, old in before.items():  # masked in place: same length, other lines byte for byte
        new = path.read_bytes()
        assert len(new) == len(old)
        assert [a == b for a, b in zip(old.splitlines(), new.splitlines(), strict=True)] == [False, True, *[True] * (
            len(old.splitlines()) - 2)]  # fmt: skip
    assert seeded.files["messages"].stat().st_ino == inode
    assert [p.name for p in sorted(seeded.places.recordings.rglob("*.wav"))] == ["stranger.wav"]

    with engine.connect() as conn:
        leads = {r.id: r for r in conn.execute(sa.select(schema.leads))}
        a, b = leads[seeded.leads["a"]], leads[seeded.leads["b"]]
        assert (a.phone_e164, a.status, a.full_name, a.email, a.custom, a.time_zones) == (
            f"#{a.id}", "dnc", None, None, None, [])  # fmt: skip
        assert (b.phone_e164, b.alt_phones, b.full_name) == (RELATIVE, [], "Иванова Мария")
        attempts = conn.execute(sa.select(schema.attempts).order_by(schema.attempts.c.id)).all()
        assert [(r.phone_e164, r.result) for r in attempts] == [("erased", "answered"), ("erased", "no_answer"), (
            STRANGER, None)]  # fmt: skip
        assert (attempts[0].disposition_id is not None, attempts[0].score) == (True, 7)  # what reports count stays
        assert (attempts[0].note, attempts[0].order_form, attempts[0].survey, attempts[0].recording) == (None,) * 4
        assert conn.execute(sa.select(schema.callbacks.c.status)).scalar_one() == "cancelled"
        entries = conn.execute(sa.select(schema.dnc)).all()
        assert [e.phone_e164 for e in entries] == [None, None]
        assert is_blocked(conn, E164, None)
        assert is_blocked(conn, E164, a.campaign_id)

    again = erase_person(engine, person_number("+7 912 345 67 89", "RU"), seeded.places, now=T0 + 100)
    assert again["found_anything"] is False, again
    assert (again["tables"], again["mentions"], again["files"]) == ({}, {}, {})
    assert again["dnc"] == {"entries_hashed": 0, "system_entry_added": False}


def test_an_erased_number_is_refused_by_a_later_import(engine: Engine, tmp_path: Path) -> None:
    """The keyed hash keeps the person out of every campaign's next list."""
    seeded = seed(engine, tmp_path)
    erase_person(engine, person_number(NUMBER, "RU"), seeded.places)
    path = tmp_path / "лето.csv"
    path.write_text("Телефон;ФИО\n89123456789;Иванов Иван\n+79995550000;Сидоров\n", encoding="utf-8")
    report = import_leads(engine, path, ImportOptions(campaign="Лето"), clock=lambda: T0 + 200)
    assert (report.counts.imported, report.counts.dnc) == (1, 1)


def test_a_named_lead_is_erased_whole_and_a_missing_asterisk_folder_is_reported(engine: Engine, tmp_path: Path) -> None:
    """--lead takes in a lead under another number, and its win-back copy; an unset Asterisk folder is reported."""
    seeded = seed(engine, tmp_path)
    with engine.begin() as conn:
        campaign = ensure_campaign(conn, "Возврат", T0).id
        _insert(
            conn, schema.leads, campaign_id=campaign, list_id=ensure_list(conn, campaign, "win-back", T0),
            phone_e164="+79990001123", full_name="Иванова М.", source_lead_id=seeded.leads["b"],
            time_zones=["Europe/Moscow"], created_at=T0,
        )  # fmt: skip
    places = Places(seeded.places.recordings, seeded.places.queue_log, None)
    report = erase_person(engine, person_number(NUMBER, "RU"), places, lead_ids=[seeded.leads["b"]])
    assert report["tables"]["leads"] == {"cleared": 3}
    assert report["unchecked"] == [
        "Asterisk's logs and CDR: no asterisk_logs folder in the site file (or --asterisk-logs)"
    ]
    with engine.connect() as conn:
        names = conn.execute(sa.select(schema.leads.c.full_name).order_by(schema.leads.c.id)).scalars().all()
    assert names == [None, None, "Петров Пётр", None]


@pytest.mark.parametrize("outside", ["/etc/passwd", "../escape.wav"])
def test_a_recording_outside_the_recordings_folder_is_never_deleted(
    engine: Engine, tmp_path: Path, outside: str
) -> None:
    """A row may name any path; only files under the recordings folder are removed."""
    seeded = seed(engine, tmp_path)
    target = (seeded.places.recordings / outside) if outside.startswith("..") else Path(outside)
    if outside.startswith(".."):
        target.write_bytes(b"x")
    with engine.begin() as conn:
        conn.execute(schema.calls.update().where(schema.calls.c.id == "call-in-1").values(recording=str(target)))
    report = erase_person(engine, person_number(NUMBER, "RU"), seeded.places)
    assert report["recordings"]["refused_outside_recordings"] == [str(target)]
    assert target.exists()
