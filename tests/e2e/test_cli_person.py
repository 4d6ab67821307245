"""`switchboard person export|erase` and `switchboard retention apply` as a data-protection officer runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

SWITCHBOARD = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"
SITE = """
name = "Privacy"
recordings_dir = "recordings"
queue_log = "queue_log"
asterisk_logs = "asterisk/log"

[retention]
leads_days = 365

[ami]
secret = "runtime-secret-0001"
admin_secret = "admin-secret-0001"
"""
LIST = "Телефон;ФИО;Email\n8 (912) 345-67-89;Иванов Иван;ivan@example.ru\n+7 999 555 66 77;Петров Пётр;\n"


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["SWITCHBOARD_CONFIG"] = str(tmp_path / "switchboard.toml")
    return subprocess.run(
        [SWITCHBOARD, *args], capture_output=True, text=True, env=env, cwd=tmp_path, input=stdin, timeout=120,
        check=False,
    )  # fmt: skip


def as_json(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def make_site(tmp_path: Path) -> None:
    (tmp_path / "switchboard.toml").write_text(SITE, encoding="utf-8")
    (tmp_path / "asterisk" / "log" / "cdr-csv").mkdir(parents=True)
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / "in-79123456789.wav").write_bytes(b"RIFF")
    (tmp_path / "queue_log").write_text("1800000000|c1|tax|NONE|ENTERQUEUE||79123456789|1\n", encoding="utf-8")
    (tmp_path / "asterisk" / "log" / "cdr-csv" / "Master.csv").write_text(
        '"","79123456789","5551"\n"","79995556677","5551"\n', encoding="utf-8"
    )
    (tmp_path / "list.csv").write_text(LIST, encoding="utf-8")
    assert as_json(run(tmp_path, "leads", "import", "list.csv", "--campaign", "Весна", "--json"))["imported"] == 2


def test_export_then_erase_then_nothing_is_left_and_the_number_stays_blocked(tmp_path: Path) -> None:
    make_site(tmp_path)
    found = as_json(run(tmp_path, "person", "export", "8 912 345-67-89", "--json"))
    assert [lead["full_name"] for lead in found["tables"]["leads"]] == ["Иванов Иван"]
    assert sorted(Path(line["file"]).name for line in found["lines"]) == ["Master.csv", "queue_log"]
    assert [Path(r["path"]).name for r in found["recordings"]] == ["in-79123456789.wav"]

    human = run(tmp_path, "person", "export", "+79123456789")
    assert human.returncode == 0, human.stderr
    assert "table leads: 1" in human.stdout and "log lines: 2" in human.stdout

    refused = run(tmp_path, "person", "erase", "+79123456789", stdin="n\n")
    assert refused.returncode != 0
    assert as_json(run(tmp_path, "person", "export", "+79123456789", "--json"))["tables"] == found["tables"]

    erased = run(tmp_path, "-vv", "person", "erase", "79123456789", "--yes", "--json")
    report = as_json(erased)
    assert report["tables"] == {"leads": {"cleared": 1}}
    assert report["files"] == {str(tmp_path / "queue_log"): 1, str(tmp_path / "asterisk/log/cdr-csv/Master.csv"): 1}
    assert "9123456789" not in erased.stdout + erased.stderr

    after = as_json(run(tmp_path, "person", "export", "+79123456789", "--json"))
    assert (after["tables"], after["lines"], after["recordings"], after["mentions"]) == ({}, [], [], [])
    assert [entry["phone_e164"] for entry in after["dnc"]] == [None]
    again = run(tmp_path, "person", "erase", "+79123456789", "--yes")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("+*********89: nothing left to erase")

    reimport = as_json(run(tmp_path, "leads", "import", "list.csv", "--campaign", "Лето", "--json"))
    assert (reimport["imported"], reimport["dnc"]) == (1, 1)


def test_an_invalid_number_is_an_error_that_names_it(tmp_path: Path) -> None:
    make_site(tmp_path)
    out = run(tmp_path, "person", "erase", "12345", "--yes")
    assert out.returncode == 2
    assert "'12345': not a valid phone number" in out.stderr


def test_retention_apply_dry_run_then_for_real(tmp_path: Path) -> None:
    """Freshly imported leads are within the period: nothing to remove; unset periods are said so."""
    make_site(tmp_path)
    dry = as_json(run(tmp_path, "retention", "apply", "--dry-run", "--json"))
    assert dry["dry_run"] is True
    assert (dry["leads"]["days"], dry["leads"]["leads"], dry["calls"]["days"]) == (365, 0, None)
    out = run(tmp_path, "retention", "apply")
    assert out.returncode == 0, out.stderr
    assert "calls: no period set (kept until erased)" in out.stdout
    assert "leads older than 365 days: removed nothing" in out.stdout
