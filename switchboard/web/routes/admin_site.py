"""The admin's set-up page (/admin) and its API (/api/admin/site/...): operators with skills and levels, skills and
queues edited as saved versions of the site file, each version's diff, apply, roll back, and the audit log.

Every edit is checked by the same Site model as `switchboard config check` before it is saved; nothing reaches
Asterisk until a version is applied (switchboard/site_apply.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse

from switchboard import site_admin
from switchboard.config import Site
from switchboard.errors import StoreError, SwitchboardError
from switchboard.site_apply import ApplyReport, SiteAdmin
from switchboard.store.accounts import Account
from switchboard.store.config_versions import ConfigVersion
from switchboard.web.app import WebContext
from switchboard.web.auth import require
from switchboard.web.pages import page, render
from switchboard.web.roles import ADMINISTRATION

router = APIRouter(tags=["admin"])
EXTRAS_KEY = "admin.site"  # ctx.extras: the app's SiteAdmin (tests put one with fake Asterisk and platform there)
AdminAccount = Annotated[Account, Depends(require(*ADMINISTRATION))]
AdminPage = Annotated[Account, Depends(page(*ADMINISTRATION))]
Fields = Annotated[dict[str, Any], Body()]  # checked field by field by the Site model, which names what it refuses


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def site_admin_of(ctx: WebContext) -> SiteAdmin:
    admin = ctx.extras.get(EXTRAS_KEY)
    if admin is None:
        admin = SiteAdmin(ctx.site, ctx.engine, clock=ctx.clock)
        ctx.extras[EXTRAS_KEY] = admin
    assert isinstance(admin, SiteAdmin)
    return admin


def _refused(exc: SwitchboardError) -> HTTPException:
    """The message names the field and the value; the page shows it as it is."""
    unknown_version = isinstance(exc, StoreError) and "no such" in str(exc)
    if isinstance(exc, site_admin.UnknownEntryError) or unknown_version:
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


def _version_json(version: ConfigVersion, applied: ConfigVersion | None) -> dict[str, Any]:
    return version.to_json(content=False) | {"running": applied is not None and version.id == applied.id}


def _state(admin: SiteAdmin) -> dict[str, Any]:
    """The latest version's site (what the admin edits), and whether it differs from what runs."""
    latest = admin.latest()
    applied = admin.applied()
    return {
        "site": site_admin.site_view(site_admin.check(latest.content, admin.path)),
        "latest_version": latest.id,
        "applied_version": applied.id if applied else None,
        "pending": applied is None or latest.content != applied.content,
        "asterisk_dir": str(admin.conf_dir) if admin.conf_dir else None,
    }


def _edit(
    request: Request, account: Account, change: str, target: str, edit: Callable[..., site_admin.Edited], *args: Any
) -> dict[str, Any]:
    """Save as a new version site_admin's `edit` of the latest text: edit(text, *args, site file's path)."""
    admin = site_admin_of(_ctx(request))
    note = request.query_params.get("note")
    try:
        version = admin.edit(account.name, change, target, lambda text: edit(text, *args, admin.path), note)
    except SwitchboardError as exc:
        raise _refused(exc) from None
    return _state(admin) | {"version": version.id, "diff": admin.diff(version.id, "applied")}


# -- the page ----------------------------------------------------------------------------------------------------
@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, account: AdminPage) -> HTMLResponse:
    return render(request, "admin.html", account, on_max_wait=["apologise", "callback", "voicemail", "overflow"])


# -- the site ----------------------------------------------------------------------------------------------------
@router.get("/api/admin/site")
def get_site(request: Request, account: AdminAccount) -> dict[str, Any]:
    """Operators (secrets left out), skills, queues, hotlines of the latest version; `pending` when not applied.

    A site file broken by hand is refused naming the field; the versions stay listed, to roll back from it."""
    try:
        return _state(site_admin_of(_ctx(request)))
    except SwitchboardError as exc:
        raise _refused(exc) from None


@router.post("/api/admin/site/operators", status_code=status.HTTP_201_CREATED)
def add_operator(request: Request, fields: Fields, account: AdminAccount) -> dict[str, Any]:
    """A new operator: {sip_user, name, secret, skills: {skill: level 1-5}, extension?, supervisor?}."""
    target = f"operator {fields.get('sip_user')}"
    return _edit(request, account, "operator.add", target, site_admin.add_operator, fields)


@router.put("/api/admin/site/operators/{sip_user}")
def edit_operator(request: Request, sip_user: str, changes: Fields, account: AdminAccount) -> dict[str, Any]:
    """Change an operator's fields (null removes one; no secret keeps the old one)."""
    target = f"operator {sip_user}"
    return _edit(request, account, "operator.edit", target, site_admin.edit_operator, sip_user, changes)


@router.delete("/api/admin/site/operators/{sip_user}")
def remove_operator(request: Request, sip_user: str, account: AdminAccount) -> dict[str, Any]:
    return _edit(request, account, "operator.remove", f"operator {sip_user}", site_admin.remove_operator, sip_user)


@router.post("/api/admin/site/skills", status_code=status.HTTP_201_CREATED)
def add_skill(request: Request, fields: Fields, account: AdminAccount) -> dict[str, Any]:
    """A new skill: {name}."""
    name = fields.get("name")
    name = name if isinstance(name, str) else repr(name)  # refused by add_skill, naming the value
    return _edit(request, account, "skill.add", f"skill {name}", site_admin.add_skill, name)


@router.delete("/api/admin/site/skills/{name}")
def remove_skill(request: Request, name: str, account: AdminAccount) -> dict[str, Any]:
    """Refused, naming them, while an operator holds the skill or a queue requires it."""
    return _edit(request, account, "skill.remove", f"skill {name}", site_admin.remove_skill, name)


@router.post("/api/admin/site/queues", status_code=status.HTTP_201_CREATED)
def add_queue(request: Request, fields: Fields, account: AdminAccount) -> dict[str, Any]:
    """A new queue: {name, requires, steps: [{after_s, min_level}], sl_seconds, sl_target, max_wait_s, on_max_wait,
    overflow_to, wrapup_s, priority, recording, extension ...}."""
    return _edit(request, account, "queue.add", f"queue {fields.get('name')}", site_admin.add_queue, fields)


@router.put("/api/admin/site/queues/{name}")
def edit_queue(request: Request, name: str, changes: Fields, account: AdminAccount) -> dict[str, Any]:
    return _edit(request, account, "queue.edit", f"queue {name}", site_admin.edit_queue, name, changes)


@router.delete("/api/admin/site/queues/{name}")
def remove_queue(request: Request, name: str, account: AdminAccount) -> dict[str, Any]:
    """Refused, naming them, while a hotline, a menu, a dialer or another queue's overflow sends calls to it."""
    return _edit(request, account, "queue.remove", f"queue {name}", site_admin.remove_queue, name)


# -- versions ----------------------------------------------------------------------------------------------------
@router.get("/api/admin/site/versions")
def versions(request: Request, account: AdminAccount) -> dict[str, Any]:
    """Every saved version of the site, newest first; `running` marks the one applied last."""
    admin = site_admin_of(_ctx(request))
    history = admin.history()
    applied = admin.applied()
    return {"versions": [_version_json(v, applied) for v in history]}


@router.get("/api/admin/site/versions/{version_id}/diff")
def version_diff(
    request: Request,
    version_id: int,
    account: AdminAccount,
    against: Annotated[str, Query(pattern="^(previous|applied)$")] = "previous",
) -> dict[str, Any]:
    """A unified diff (secrets masked) against the version before it, or against the site running now."""
    try:
        return {"diff": site_admin_of(_ctx(request)).diff(version_id, against)}
    except SwitchboardError as exc:
        raise _refused(exc) from None


async def _applied(request: Request, applying: Awaitable[tuple[Site, ApplyReport]]) -> dict[str, Any]:
    """The report of an apply or a rollback, once done; the other areas see the new operators and queues at once."""
    try:
        _site, report = await applying
    except SwitchboardError as exc:
        raise _refused(exc) from None
    _ctx(request).site = site_admin_of(_ctx(request)).site
    return {"report": report.to_json()}


@router.post("/api/admin/site/versions/{version_id}/apply")
async def apply_version(request: Request, version_id: int, account: AdminAccount) -> dict[str, Any]:
    """Write the site file (keeping a .bak), re-render and reload Asterisk's configs, tell the running platform."""
    return await _applied(request, site_admin_of(_ctx(request)).apply(version_id, account.name))


@router.post("/api/admin/site/versions/{version_id}/rollback")
async def rollback_version(request: Request, version_id: int, account: AdminAccount) -> dict[str, Any]:
    """A new version repeating an earlier one, applied at once."""
    return await _applied(request, site_admin_of(_ctx(request)).rollback(version_id, account.name))


# -- the audit log -----------------------------------------------------------------------------------------------
@router.get("/api/admin/audit")
def audit(
    request: Request,
    account: AdminAccount,
    action: Annotated[
        str | None, Query(max_length=40, description="an action, or a prefix ending in '.' or '*'")
    ] = None,
    user: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Who changed what, and when, newest first (every area's changes: site, dialplan, users, campaigns ...)."""
    entries = _ctx(request).accounts.audit_entries(action=action, user=user, limit=limit)
    return {"entries": [entry.to_json() for entry in entries]}
