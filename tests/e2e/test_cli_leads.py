"""`switchboard leads import` and `switchboard dnc` as a campaign manager runs them: --json summaries, clear errors."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

SWITCHBOARD = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"
LIST = (
    "Телефон;ФИО;Город;Согласие;Комментарий\n"
    '8 (912) 345-67-89;Иванов Иван;Екатеринбург;да;=HYPERLINK("x")\n'
    "+7 912 345 67 80;Петров Пётр;Москва;нет;\n"
    "79123456789;Иванов Иван;;да;повтор\n"
    "12345;Нет номера;;;\n"
)


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["SWITCHBOARD_DB"] = f"sqlite:///{tmp_path / 'store.db'}"
    return subprocess.run(
        [SWITCHBOARD, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False
    )


def as_json(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def test_import_prints_the_summary_as_json_and_twice_imports_nothing(tmp_path: Path) -> None:
    """rows = imported + rejected + duplicates + dnc + no_consent; errors carry the line; a second run adds nothing."""
    path = tmp_path / "весна.csv"
    path.write_text(LIST, encoding="cp1251")
    first = as_json(run(tmp_path, "leads", "import", str(path), "--campaign", "Весна", "--json"))
    assert {k: v for k, v in first.items() if k != "seconds"} == {
        "rows": 4,
        "imported": 2,
        "rejected": 1,
        "duplicates": 1,
        "dnc": 0,
        "no_consent": 0,
        "errors": [{"line": 5, "reason": "invalid number: 'Телефон' = '12345'"}],
    }
    assert first["seconds"] >= 0
    second = as_json(
        run(tmp_path, "leads", "import", str(path), "--campaign", "Весна", "--list", "весна.csv", "--json")
    )
    assert (second["imported"], second["duplicates"]) == (0, 3)


def test_dnc_add_and_import_then_consent_required(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(LIST, encoding="utf-8")
    added = as_json(run(tmp_path, "dnc", "add", "8 912 345-67-80", "--json"))
    assert added == {"added": 1, "already": 0, "leads_marked": 0}
    numbers = tmp_path / "dnc.csv"
    numbers.write_text("89123456789\n", encoding="utf-8")
    campaign_dnc = as_json(run(tmp_path, "dnc", "import", str(numbers), "--campaign", "Лето", "--json"))
    assert (campaign_dnc["added"], campaign_dnc["rows"]) == (1, 1)
    report = as_json(run(tmp_path, "leads", "import", str(path), "--campaign", "Лето", "--require-consent", "--json"))
    assert (report["imported"], report["dnc"], report["no_consent"], report["rejected"]) == (0, 3, 0, 1)


def test_a_mapping_file_and_human_output(tmp_path: Path) -> None:
    path = tmp_path / "list.tsv"
    path.write_text("Моб\tКто\n+79123456789\tИванов\n", encoding="utf-8")
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\n"Моб" = "phone"\n"Кто" = "full_name"\n', encoding="utf-8")
    out = run(tmp_path, "leads", "import", str(path), "--campaign", "Осень", "--mapping", str(mapping))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("list.tsv: 1 of 1 rows imported into Осень / list.tsv")
    assert out.stderr == ""  # no progress bar when stderr is not a terminal


def test_bad_input_exits_2_naming_the_problem(tmp_path: Path) -> None:
    (tmp_path / "noheader.csv").write_text("name,city\nИванов,Москва\n", encoding="utf-8")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 64)
    (tmp_path / "bad.toml").write_text('[columns]\n"A" = "telephone"\n', encoding="utf-8")
    cases = [
        (
            ["leads", "import", "noheader.csv", "--campaign", "X"],
            "line 1: no phone column among the headers 'name', 'city'",
        ),
        (["leads", "import", "old.xls", "--campaign", "X"], "old.xls: this is an old Excel .xls file"),
        (["leads", "import", "noheader.csv", "--campaign", "X", "--mapping", "bad.toml"], "columns.A = 'telephone'"),
        (["leads", "import", "noheader.csv", "--campaign", "X", "--region", "XX"], "region 'XX'"),
        (["leads", "import", "noheader.csv", "--campaign", "X", "--encoding", "klingon"], "--encoding 'klingon'"),
        (["dnc", "add", "12345"], "'12345': not a valid phone number"),
    ]
    for args, message in cases:
        out = run(tmp_path, *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert message in out.stderr, (args, out.stderr)
    with sqlite3.connect(tmp_path / "store.db") as db:  # nothing was stored on the way
        assert db.execute("SELECT count(*) FROM campaigns").fetchone() == (0,)


def test_the_import_benchmark_prints_its_figures_as_json(tmp_path: Path) -> None:
    """benchmarks/lead_import.py on a small list: one JSON line whose rows add up (its times are never asserted)."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "lead_import.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    out = subprocess.run(
        [sys.executable, str(script), "--rows", "3000", "--keep", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    figures = as_json(out)
    assert {"rows", "seconds", "rows_per_s", "peak_rss_mb", "cpu_user_s", "cpu_sys_s"} <= figures.keys()
    assert figures["rows"] == 3000 and figures["imported"] + figures["rejected"] + figures["duplicates"] <= 3000
    conn = sqlite3.connect(tmp_path / "bench.db")
    try:
        assert conn.execute("SELECT count(*) FROM leads").fetchone() == (figures["imported"],)
    finally:
        conn.close()
