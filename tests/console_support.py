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
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from switchboard.config import Site
from switchboard.errors import LabError
from switchboard.lab.ports import free_port
from switchboard.lab.site import write_lab_site
from switchboard.store.accounts import Account, AccountStore
from switchboard.store.calls import CallStore, make_engine
from switchboard.web.app import WebContext, create_app
from switchboard.web.auth import COOKIE, CSRF_HEADER

PASSWORD = "correct horse battery"  # every test account's password
# One account per role: name -> role. The operator works as the lab's first operator (op1001).
ACCOUNTS = {"olga": "operator", "sam": "supervisor", "carl": "campaign_manager", "ada": "admin"}
SIP_USERS = {"olga": "op1001"}


def console_site(folder: Path, *, redis_url: str | None = None, **settings: Any) -> tuple[Path, Site]:
    """A small site file under `folder` (store in folder/switchboard.db); Redis on a closed port unless given;
    `settings` replace the site's top-level fields (time_zone, queues ...)."""
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
    } | settings
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


def console_app(folder: Path, clock: Callable[[], float] | None = None, **site_options: Any) -> FastAPI:
    """The console app over a fresh migrated store holding ACCOUNTS (site_options: see console_site)."""
    _path, site = console_site(folder, **site_options)
    shutil.copyfile(_template_store(), folder / "switchboard.db")  # hashing and migrating once is enough
    return create_app(site, clock=clock) if clock else create_app(site)


def migrated_console(site: Site, clock: Callable[[], float]) -> FastAPI:
    """The console over the site's own store, migrated in place (no accounts in it), its clock given."""
    engine = make_engine(site.store_url_effective)
    CallStore(engine).create_schema()
    return create_app(site, engine=engine, clock=clock)


def _hand_session(client: TestClient, ctx: WebContext, account: Account, now: float) -> str:
    """The client now carries a new session of `account`: its cookie, and its CSRF token on every request."""
    token, session = ctx.accounts.open_session(account, now)
    client.cookies.set(COOKIE, token)
    client.headers[CSRF_HEADER] = session.csrf_token
    return session.csrf_token


def sign_in(client: TestClient, app: FastAPI, name: str) -> str:
    """Open a session for `name` straight in the store; the client then sends its cookie and CSRF header."""
    ctx: WebContext = app.state.ctx
    account = ctx.accounts.check_password(name, PASSWORD)
    assert account is not None, f"no test account {name!r}"
    return _hand_session(client, ctx, account, ctx.clock())


def sign_in_new(
    client: TestClient, role: str, *, name: str | None = None, sip_user: str | None = None, now: float | None = None
) -> str:
    """The client now acts as a new account of `role` (a random name unless given), made and signed in at `now`
    (the app's clock unless given); returns the account's name."""
    ctx: WebContext = client.app.state.ctx  # type: ignore[attr-defined]
    at = ctx.clock() if now is None else now
    account = ctx.accounts.add_user(name or f"{role}-{secrets.token_hex(3)}", role, PASSWORD, at, sip_user=sip_user)
    _hand_session(client, ctx, account, at)
    return str(account.name)


def signed_in(app: FastAPI, role: str, now: float | None = None, sip_user: str | None = None) -> TestClient:
    """A new client acting as a new account of `role` (see sign_in_new)."""
    client = TestClient(app)
    sign_in_new(client, role, sip_user=sip_user, now=now)
    return client


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
