"""An import killed with SIGKILL halfway leaves nothing of its list (SQLite and PostgreSQL); importing again works."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from switchboard.leads.importer import ImportOptions, import_leads
from switchboard.store.calls import make_engine
from switchboard.store.schema import campaigns, lead_imports, lead_lists, leads

SWITCHBOARD = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"
# Four blocks of the bulk reader (19 MB: 1 + 8 + 8 + 2): killed once the second is stored (on SQLite a bulk load, its
# indexes dropped until the end), before the commit.
ROWS = 250_000


def big_file(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("Телефон,ФИО,Адрес\n")
        out.writelines(f'+7912{i:07d},Абонент {i},"г. Москва, ул. Ленина, д. {i % 100}"\n' for i in range(ROWS))
    return path


def start_import(path: Path, url: str) -> tuple[subprocess.Popen[bytes], int]:
    """The CLI on a terminal of its own, so it draws its progress bar: the bar moving says rows are being written."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")} | {"SWITCHBOARD_DB": url}
    process = subprocess.Popen(
        [SWITCHBOARD, "leads", "import", str(path), "--campaign", "Убитая"],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env | {"COLUMNS": "100"},
    )  # fmt: skip
    os.close(slave)
    return process, master


def wait_for_progress(master: int, at_least: int, timeout: float = 240.0) -> str:
    """Terminal output until the bar shows at least that share of the file done (batches are in the transaction)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
            shares = [int(share) for share in re.findall(rb"(?<![0-9])([1-9][0-9]?)%", seen)]
            if shares and max(shares) >= at_least:
                return seen.decode(errors="replace")
    raise AssertionError(f"no progress shown: {seen[-500:]!r}")


def count(url: str, table: sa.Table) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def leads_indexes(url: str) -> set[str | None]:
    engine = make_engine(url)
    try:
        return {index["name"] for index in sa.inspect(engine).get_indexes("leads")}
    finally:
        engine.dispose()


def test_an_import_killed_halfway_leaves_nothing_and_can_run_again(store_url: str, tmp_path: Path) -> None:
    path = big_file(tmp_path / "big.csv")
    process, master = start_import(path, store_url)
    try:
        wait_for_progress(master, at_least=40)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    for table in (campaigns, lead_lists, lead_imports, leads):
        assert count(store_url, table) == 0, table.name
    assert leads_indexes(store_url) == {index.name for index in leads.indexes}
    engine = make_engine(store_url)
    try:
        report = import_leads(engine, path, ImportOptions(campaign="Убитая"))
    finally:
        engine.dispose()
    assert report.counts.imported == ROWS
    assert count(store_url, leads) == ROWS
    assert leads_indexes(store_url) == {index.name for index in leads.indexes}
