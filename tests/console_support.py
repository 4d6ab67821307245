"""Helpers for console tests without a browser: a minimal site, a migrated SQLite store with one account per role,
and signing a TestClient in (the session cookie plus the CSRF header on every request).
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from switchboard.config import Site
from switchboard.errors import LabError
from switchboard.lab.ports import free_port
from switchboard.lab.site import write_lab_site
from switchboard.store.accounts import AccountStore
from switchboard.store.calls import CallStore, make_engine
from switchboard.web.app import WebContext, create_app
from switchboard.web.auth import COOKIE, CSRF_HEADER

PASSWORD = "correct horse battery"  # every test account's password
# One account per role: name -> role. The operator works as the lab's first operator (op1001).
ACCOUNTS = {"olga": "operator", "sam": "supervisor", "carl": "campaign_manager", "ada": "admin"}
SIP_USERS = {"olga": "op1001"}


def console_site(folder: Path, *, redis_url: str | None = None) -> tuple[Path, Site]:
    """A small site file under `folder` (store in folder/switchboard.db); Redis on a closed port unless given."""
    data = {
        "name": "Switchboard test",
        "store_url": f"sqlite:///{folder / 'switchboard.db'}",
        "redis_url": redis_url or f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: Redis is down
        "skills": ["general"],
        "ami": {"secret": secrets.token_urlsafe(16), "admin_secret": secrets.token_urlsafe(16)},
        "queues": [{"name": "general", "requires": {"general": 1}}],
        "hotlines": [{"number": "100", "queue": "general"}],
        "dialers": [{"campaign": "spring", "queue": "general"}],
        "operators": [
            {"sip_user": "op1001", "name": "Olga Test", "secret": secrets.token_urlsafe(12), "skills": {"general": 3}}
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    return write_lab_site(folder, data)


def prepare_store(site: Site, now: float = 1_000.0) -> None:
    """Migrate the site's store and add ACCOUNTS (skipping any that exist)."""
    engine = make_engine(site.store_url_effective)
    try:
        CallStore(engine).create_schema()
        accounts = AccountStore(engine)
        known = {row.name for row in accounts.list_users()}
        for name, role in ACCOUNTS.items():
            if name not in known:
                accounts.add_user(name, role, PASSWORD, now, sip_user=SIP_USERS.get(name))
    finally:
        engine.dispose()


_template: list[Path] = []  # a migrated store holding ACCOUNTS, made once per test run and copied for each app


def _template_store() -> Path:
    if not _template:
        folder = Path(tempfile.mkdtemp(prefix="switchboard-console-store-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _path, site = console_site(folder)
        prepare_store(site)
        _template.append(folder / "switchboard.db")
    return _template[0]


def console_app(folder: Path, clock: Callable[[], float] | None = None, **site_options: str) -> FastAPI:
    """The console app over a fresh migrated store holding ACCOUNTS."""
    _path, site = console_site(folder, **site_options)
    shutil.copyfile(_template_store(), folder / "switchboard.db")  # hashing and migrating once is enough
    return create_app(site, clock=clock) if clock else create_app(site)


def sign_in(client: TestClient, app: FastAPI, name: str) -> str:
    """Open a session for `name` straight in the store; the client then sends its cookie and CSRF header."""
    ctx: WebContext = app.state.ctx
    account = ctx.accounts.check_password(name, PASSWORD)
    assert account is not None, f"no test account {name!r}"
    token, session = ctx.accounts.open_session(account, ctx.clock())
    client.cookies.set(COOKIE, token)
    client.headers[CSRF_HEADER] = session.csrf_token
    return session.csrf_token


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A throwaway redis-server on a free loopback port (nothing saved): (process, url). Stop it with
    process.terminate()."""
    port = free_port()
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabError(f"redis-server exited with {process.returncode} at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    process.wait()
    raise LabError("redis-server did not listen within 10 s")
