"""Helpers for the supervision e2e tests: a lab site with a supervisor's phone, its store and app, and signing in."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from switchboard.config import Site
from switchboard.lab.site import lab_site_dict, write_lab_site
from switchboard.store.calls import CallStore, make_engine
from switchboard.web.app import create_app
from switchboard.web.auth import COOKIE

SUPERVISOR_PHONE = {"sip_user": "sup2001", "name": "Sam Supervisor", "supervisor": True}


def lab_site(folder: Path, redis_url: str) -> tuple[Path, Site]:
    """The lab's call centre (three operators) plus a supervisor's phone that serves no queue."""
    data: dict[str, Any] = lab_site_dict(folder, operators=3, redis_url=redis_url)
    data["operators"].append({**SUPERVISOR_PHONE, "secret": secrets.token_urlsafe(12)})
    return write_lab_site(folder, data)


def console(site: Site, now: float) -> FastAPI:
    engine = make_engine(site.store_url_effective)
    CallStore(engine).create_schema()
    return create_app(site, engine=engine, clock=lambda: now)


def signed_in(app: FastAPI, role: str, now: float, sip_user: str | None = None) -> TestClient:
    """A client with a session of a new account of `role`; its CSRF token goes with every request."""
    ctx = app.state.ctx
    account = ctx.accounts.add_user(f"{role}-{secrets.token_hex(3)}", role, "long enough password", now, sip_user)
    token, session = ctx.accounts.open_session(account, now)
    client = TestClient(app, headers={"X-CSRF-Token": session.csrf_token})
    client.cookies.set(COOKIE, token)
    return client
