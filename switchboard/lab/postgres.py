"""A throwaway PostgreSQL server on a free loopback port, in a temp folder, for the store's tests.

Run as root, the server runs as the `postgres` user (it refuses root) with its data folder owned by that user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from switchboard.errors import LabError
from switchboard.lab.ports import free_port

SERVER_USER = "postgres"


def postgres_bindir() -> Path | None:
    """The newest Debian PostgreSQL's bin folder (/usr/lib/postgresql/N/bin), or the one initdb is found in."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresProcess:
    """initdb + pg_ctl start on 127.0.0.1:<free port>; stop() removes everything it made."""

    def __init__(self, port: int | None = None, bindir: Path | None = None) -> None:
        self.port = port or free_port()
        self.bindir = bindir or postgres_bindir()
        self.datadir: Path | None = None
        self._as_root = os.geteuid() == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> None:
        if self.bindir is None or not (self.bindir / "initdb").exists():
            raise LabError(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); `make setup` installs it"
            )
        # Not under pytest's tmp folders: those are private to root, and the server runs as postgres.
        self.datadir = Path(tempfile.mkdtemp(prefix="switchboard-pg-"))
        if self._as_root:
            shutil.chown(self.datadir, user=SERVER_USER, group=SERVER_USER)
        self._run("initdb", "-D", str(self.datadir), "-U", SERVER_USER, "-A", "trust", "-E", "UTF8", "--no-locale")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{self.datadir}' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        log = self.datadir / "server.log"
        self._run(
            "pg_ctl", "start", "-D", str(self.datadir), "-l", str(log), "-o", options, "-w", "-t", str(int(timeout))
        )

    def stop(self) -> None:
        if self.datadir is None:
            return
        try:
            self._run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "immediate", "-w", check=False)
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)
            self.datadir = None

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (copied from `template` when given); returns its URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SERVER_USER} dbname=postgres", autocommit=True
        ) as conn:
            suffix = f" TEMPLATE {template}" if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')  # names come from the test harness, never from data
        return self.url(name)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.bindir is not None
        command = [str(self.bindir / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-2000:]
            log = self.datadir / "server.log" if self.datadir else None
            server = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise LabError(f"{tool} failed ({done.returncode}): {tail}\n{server}".rstrip())
        return done

    def __enter__(self) -> PostgresProcess:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
