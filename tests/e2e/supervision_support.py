"""Helpers for the supervision e2e tests: a lab site with a supervisor's phone, and its console at a stopped time."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from switchboard.config import Site
from switchboard.lab.site import lab_site_dict, write_lab_site
from tests.console_support import migrated_console

SUPERVISOR_PHONE = {"sip_user": "sup2001", "name": "Sam Supervisor", "supervisor": True}


def lab_site(folder: Path, redis_url: str) -> tuple[Path, Site]:
    """The lab's call centre (three operators) plus a supervisor's phone that serves no queue."""
    data: dict[str, Any] = lab_site_dict(folder, operators=3, redis_url=redis_url)
    data["operators"].append({**SUPERVISOR_PHONE, "secret": secrets.token_urlsafe(12)})
    return write_lab_site(folder, data)


def console(site: Site, now: float) -> FastAPI:
    """The console over the site's migrated store, its clock stopped at `now`."""
    return migrated_console(site, lambda: now)
