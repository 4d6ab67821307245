"""`switchboard campaign` as a campaign manager runs it: create from a file, show, report, win-back, clear errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from switchboard.store.attempts import finish_attempt, record_attempt, record_disposition
from switchboard.store.calls import make_engine
from switchboard.store.schema import audit_log, leads

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "campaign.toml"
GOLDEN_SITE = ROOT / "tests" / "unit" / "golden" / "site.toml"
SWITCHBOARD = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"
NAME = "Интернет Весна"
WEDNESDAY_NOON = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC).timestamp()  # 12:00 Moscow, 14:00 Yekaterinburg
LIST = (
    "Телефон;ФИО;Город;Тариф\n"
    "+7 912 345 67 81;Иванов Иван;Екатеринбург;Базовый\n"
    "+7 912 345 67 82;Петров Пётр;Екатеринбург;Базовый\n"
    "+7 912 345 67 83;Сидоров Сидор;Екатеринбург;Макс\n"
    "+7 912 345 67 84;Козлов Козьма;Екатеринбург;Макс\n"
)


def run(tmp_path: Path, *args: str, db: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    if db:
        env["SWITCHBOARD_DB"] = f"sqlite:///{tmp_path / 'store.db'}"
    return subprocess.run(
        [SWITCHBOARD, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False
    )


def as_json(out: subprocess.CompletedProcess[str]) -> Any:
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def dial(tmp_path: Path) -> None:
    """What the dialer and the operators would write: a sale, two refusals, a busy line."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.connect() as conn:
        ids = list(conn.execute(sa.select(leads.c.id).order_by(leads.c.phone_e164)).scalars())
    order = {"full_name": "Иванов Иван", "address": "Екатеринбург, ул. Мира, 1", "tariff": "Оптимальный 300"}
    plans: list[tuple[str, str | None, dict[str, Any]]] = [
        ("sale", None, {"order_form": order | {"connect_on": "2026-03-10"}, "survey": {"current_provider": "МТС"}}),
        ("refused", "too_expensive", {"survey": {"why_that_provider": "дешевле"}}),
        ("refused", "do_not_call", {}),
    ]
    for lead_id, (code, reason, extra) in zip(ids, plans, strict=False):
        attempt = record_attempt(engine, lead_id, now=WEDNESDAY_NOON)
        finish_attempt(engine, attempt, "answered", now=WEDNESDAY_NOON + 90, operator="anna", talk_s=80.5)
        record_disposition(engine, attempt, code, refusal_reason=reason, now=WEDNESDAY_NOON + 100, **extra)
    busy = record_attempt(engine, ids[3], now=WEDNESDAY_NOON + 3600)
    finish_attempt(engine, busy, "busy", now=WEDNESDAY_NOON + 3610)
    engine.dispose()


def test_create_show_report_and_winback(tmp_path: Path) -> None:
    created = as_json(run(tmp_path, "campaign", "create", str(EXAMPLE), "--json"))
    assert (created["campaign"], created["created"], created["dispositions"]) == (NAME, True, 7)
    assert as_json(run(tmp_path, "campaign", "create", str(EXAMPLE), "--json"))["created"] is False
    shown = as_json(run(tmp_path, "campaign", "show", NAME, "--json"))
    assert shown["settings"]["hours"]["sun"] == "off" and shown["settings"]["caller_id"] == "+74951234567"
    assert shown["settings"]["retry"]["no_answer"] == {"after": "2h", "max": 5}
    (tmp_path / "list.csv").write_text(LIST, encoding="utf-8")
    imported = as_json(run(tmp_path, "leads", "import", "list.csv", "--campaign", NAME, "--json"))
    assert imported["imported"] == 4
    dial(tmp_path)

    report = as_json(run(tmp_path, "campaign", "report", NAME, "--json"))
    totals = report["totals"]
    assert (totals["attempts"], totals["answered"], totals["contacts"], totals["sales"]) == (4, 3, 3, 1)
    assert totals["conversion"] == round(1 / 3, 4) and totals["talk_s"] == 241.5
    assert totals["outcomes"] == {"answered": 3, "busy": 1}
    assert totals["leads_by_status"] == {"dnc": 1, "done": 2, "retry": 1}
    assert totals["refusals"] == {
        "total": 2,
        "reasons": [
            {"code": "do_not_call", "label": "Просит больше не звонить", "count": 1, "share": 0.5},
            {"code": "too_expensive", "label": "Дорого", "count": 1, "share": 0.5},
        ],
    }
    assert report["operators"] == [
        {
            "operator": "anna", "calls": 3, "talk_s": 241.5, "contacts": 3, "sales": 1, "conversion": 0.3333,
            "scored": 0, "average_score": None,
        }
    ]  # fmt: skip
    assert [h["hour"] for h in report["hours"] if h["attempts"]] == [12, 13]  # Moscow time
    table = run(tmp_path, "campaign", "report", NAME)
    assert table.returncode == 0, table.stderr
    for text in ("Campaign Интернет Весна", "list.csv", "Дорого", "anna", "33.3%", "12:00"):
        assert text in table.stdout, text

    winback = as_json(
        run(tmp_path, "campaign", "winback", NAME, "--name", "Весна: дешевле", "--reasons", "too_expensive,do_not_call",
            "--json")
    )  # fmt: skip
    assert (winback["created"], winback["matched"], winback["copied"], winback["dnc"]) == (True, 2, 1, 1)
    again = run(tmp_path, "campaign", "winback", NAME, "--name", "Весна: дешевле", "--reasons", "too_expensive")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("campaign 'Весна: дешевле' topped up from 'Интернет Весна': 0 leads copied")
    shown = run(tmp_path, "campaign", "show", "Весна: дешевле")
    assert "win-back of 'Интернет Весна' for do_not_call, too_expensive" in shown.stdout
    assert "list 'list.csv': 1 leads (new 1)" in shown.stdout


def test_the_site_file_gives_the_store_before_or_after_the_command(tmp_path: Path) -> None:
    """--config works as for every other command: the site's store_url, relative to the site file."""
    site = tmp_path / "site.toml"
    site.write_text('store_url = "sqlite:///campaigns.db"\n' + GOLDEN_SITE.read_text(encoding="utf-8"))
    out = run(tmp_path, "--config", str(site), "campaign", "create", str(EXAMPLE), db=False)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "campaigns.db").exists()
    shown = as_json(run(tmp_path, "campaign", "show", NAME, "--json", "--config", str(site), db=False))
    assert shown["settings"]["name"] == NAME


def test_mistakes_exit_2_naming_the_file_field_and_value(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('name = "X"\n[hours]\nmon = "9-21"\n', encoding="utf-8")
    (tmp_path / "broken.toml").write_text('name = "X\n', encoding="utf-8")
    (tmp_path / "script.toml").write_text('name = "X"\nscript = "Hello {{ fullname }}"\n', encoding="utf-8")
    assert run(tmp_path, "campaign", "create", str(EXAMPLE)).returncode == 0
    cases = [
        (["campaign", "create", "bad.toml"], "bad.toml: hours.mon = '9-21': calling hours are 'HH:MM-HH:MM' or 'off'"),
        (["campaign", "create", "broken.toml"], "broken.toml: not valid TOML"),
        (["campaign", "create", "script.toml"], "script.toml: script = 'fullname': not a lead field"),
        (["campaign", "show", "Нет такой"], "campaign 'Нет такой': no such campaign"),
        (["campaign", "report", "Нет такой", "--json"], "campaign 'Нет такой': no such campaign"),
        (
            ["campaign", "winback", NAME, "--name", "Новая", "--reasons", "too_cheap"],
            "--reasons 'too_cheap': not a refusal reason of 'Интернет Весна'",
        ),
    ]
    for args, message in cases:
        out = run(tmp_path, *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert message in out.stderr, (args, out.stderr)
    shown = as_json(run(tmp_path, "campaign", "show", NAME, "--json"))
    assert shown["lists"] == []
    assert run(tmp_path, "campaign", "show", "Новая").returncode == 2  # a refused win-back leaves nothing behind


def test_start_pause_and_stop_set_the_status_the_dialer_reads_and_are_audited(tmp_path: Path) -> None:
    """The CLI does what the console's buttons do: the campaign's status, and an audit line for each change."""
    name = as_json(run(tmp_path, "campaign", "create", str(EXAMPLE), "--json"))["campaign"]
    assert as_json(run(tmp_path, "campaign", "pause", name, "--json"))["status"] == "paused"
    assert as_json(run(tmp_path, "campaign", "start", name, "--json")) == {
        "campaign": name, "status": "active", "was": "paused",
    }  # fmt: skip
    assert as_json(run(tmp_path, "campaign", "stop", name, "--json"))["status"] == "archived"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log.c.action, audit_log.c.target).order_by(audit_log.c.id)).all()
    assert [tuple(r) for r in rows] == [("campaign.pause", name), ("campaign.start", name), ("campaign.stop", name)]
    unknown = run(tmp_path, "campaign", "start", "No such campaign")
    assert unknown.returncode != 0 and "no such campaign" in unknown.stderr
