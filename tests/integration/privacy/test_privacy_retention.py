"""Retention periods applied to a real store (SQLite, PostgreSQL): old leads, calls and recordings go, DNC stays."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from switchboard.config import RetentionSection
from switchboard.privacy.files import Places
from switchboard.privacy.retention import DAY, apply_retention
from switchboard.store import schema
from switchboard.store.dnc import add_numbers, is_blocked
from switchboard.store.leads import ensure_campaign, ensure_list

NOW = 1.8e9
OLD, RECENT = NOW - 400 * DAY, NOW - 10 * DAY
PERIODS = RetentionSection(leads_days=365, recordings_days=30, calls_days=90)


def _insert(conn: sa.Connection, table: sa.Table, **values: Any) -> Any:
    return conn.execute(table.insert().values(**values).returning(*table.primary_key.columns)).scalar_one()


def seed(engine: Engine, tmp_path: Path) -> Places:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for name, when in (("old-call.wav", OLD), ("new-call.wav", RECENT), ("orphan.wav", OLD), ("old-try.wav", OLD)):
        path = recordings / name
        path.write_bytes(b"RIFF")
        os.utime(path, (when, when))
    with engine.begin() as conn:
        campaign = ensure_campaign(conn, "Весна", OLD).id
        list_id = ensure_list(conn, campaign, "a.csv", OLD)
        lead = {"campaign_id": campaign, "list_id": list_id, "time_zones": ["Europe/Moscow"]}
        old = _insert(conn, schema.leads, phone_e164="+79120000001", full_name="Старый", created_at=OLD, **lead)
        _insert(conn, schema.leads, phone_e164="+79120000002", full_name="Новый", created_at=RECENT, **lead)
        _insert(  # imported long ago, dialled last week: still being worked
            conn, schema.leads, phone_e164="+79120000003", full_name="В работе", created_at=OLD,
            last_attempt_at=RECENT, **lead,
        )  # fmt: skip
        _insert(
            conn, schema.attempts, lead_id=old, campaign_id=campaign, phone_e164="+79120000001", started_at=OLD,
            result="answered", recording=str(recordings / "old-try.wav"), note="перезвонить",
        )  # fmt: skip
        call = {"direction": "inbound", "hotline": "5551", "queue": "tax"}
        _insert(conn, schema.calls, id="old", uniqueid="1", caller="79120000009", started_at=OLD,
                recording=str(recordings / "old-call.wav"), **call)  # fmt: skip
        _insert(conn, schema.calls, id="new", uniqueid="2", caller="79120000008", started_at=RECENT,
                recording=str(recordings / "new-call.wav"), **call)  # fmt: skip
        add_numbers(conn, ["+79120000001"], campaign_id=None, now=OLD)
    return Places(recordings, tmp_path / "queue_log", None)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(r) for r in conn.execute(sa.select(t))), key=repr)
            for t in (schema.leads, schema.attempts, schema.calls, schema.dnc)
        }


def test_dry_run_counts_and_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    places = seed(engine, tmp_path)
    before, files = snapshot(engine), sorted(places.recordings.iterdir())
    report = apply_retention(engine, PERIODS, places, NOW, dry_run=True)
    assert report["leads"]["leads"] == 1
    assert report["leads"]["tables"] == {"leads": {"cleared": 1}, "attempts": {"cleared": 1}}
    assert report["calls"]["tables"] == {"calls": {"cleared": 1}}
    assert snapshot(engine) == before
    assert sorted(places.recordings.iterdir()) == files


def test_old_data_goes_recent_and_dnc_stay_and_a_second_run_does_nothing(engine: Engine, tmp_path: Path) -> None:
    places = seed(engine, tmp_path)
    report = apply_retention(engine, PERIODS, places, NOW)
    assert report["leads"]["tables"] == {"leads": {"cleared": 1}, "attempts": {"cleared": 1}}
    assert report["recordings"]["old_files_deleted"] == 1  # the orphan; the others went with their rows
    with engine.connect() as conn:
        names = dict(conn.execute(sa.select(schema.leads.c.id, schema.leads.c.full_name)).all())
        assert sorted(names.values(), key=str) == [None, "В работе", "Новый"]
        attempt = conn.execute(sa.select(schema.attempts)).one()
        assert (attempt.phone_e164, attempt.result, attempt.note, attempt.recording) == (
            "erased",
            "answered",
            None,
            None,
        )
        callers = dict(conn.execute(sa.select(schema.calls.c.id, schema.calls.c.caller)).all())
        assert callers == {"old": "erased", "new": "79120000008"}
        assert is_blocked(conn, "+79120000001", None)
        assert conn.execute(sa.select(schema.dnc.c.phone_e164)).scalar_one() == "+79120000001"
    assert sorted(p.name for p in places.recordings.iterdir()) == ["new-call.wav"]

    again = apply_retention(engine, PERIODS, places, NOW)
    assert (again["leads"]["leads"], again["leads"]["tables"], again["calls"]["tables"]) == (0, {}, {})
    assert again["recordings"]["tables"] == {}


def test_no_periods_means_nothing_expires(engine: Engine, tmp_path: Path) -> None:
    places = seed(engine, tmp_path)
    before = snapshot(engine)
    report = apply_retention(engine, RetentionSection(), places, NOW)
    assert [report[part]["days"] for part in ("leads", "calls", "recordings")] == [None, None, None]
    assert snapshot(engine) == before
