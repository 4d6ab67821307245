"""The dialplan editor (/admin/dialplan) and its API (/api/admin/dialplan/...): the platform's rendered dialplan
read-only, the admin's own contexts edited with a check that names each refused line, a diff against what Asterisk
runs, apply (a reload over AMI as the admin AMI user), versions with rollback. The audit log: /api/admin/audit.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from asterisk_conf.dialplan_check import MAX_CHARS, Problem
from switchboard import dialplan_admin
from switchboard.dialplan_admin import ReloaderFactory
from switchboard.errors import AsteriskConfError, DialplanApplyError, DialplanRefusedError, StoreError
from switchboard.store.accounts import Account
from switchboard.store.config_versions import MAX_NOTE, ConfigVersion, ConfigVersionStore
from switchboard.web.app import WebContext
from switchboard.web.auth import require
from switchboard.web.pages import page, render
from switchboard.web.roles import ADMINISTRATION

router = APIRouter(tags=["admin"])
# ctx.extras: how an apply reaches Asterisk (AmiDialplan unless a test puts a factory of fakes here).
RELOADER_KEY = "admin.dialplan.reloader"
Admin = Depends(require(*ADMINISTRATION))
AdminPage = Depends(page(*ADMINISTRATION))
KIND = dialplan_admin.KIND


class DialplanText(BaseModel):
    content: str = Field(max_length=MAX_CHARS, description="the admin's dialplan file, whole")


class ApplyRequest(DialplanText):
    note: str = Field(min_length=1, max_length=MAX_NOTE, description="why: kept with the version and audited")


class RollbackRequest(BaseModel):
    note: str | None = Field(None, max_length=MAX_NOTE)


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def _store(request: Request) -> ConfigVersionStore:
    return ConfigVersionStore(_ctx(request).engine)


def _reloader(ctx: WebContext) -> ReloaderFactory:
    factory: ReloaderFactory = ctx.extras.get(RELOADER_KEY, dialplan_admin.AmiDialplan)
    return factory


def _problems_json(problems: list[Problem]) -> list[dict[str, Any]]:
    return [{"line": p.line, "column": p.column, "message": p.message, "text": p.text} for p in problems]


def _versions_json(store: ConfigVersionStore) -> dict[str, Any]:
    current = store.current(KIND)
    versions = [
        v.to_json(content=False) | {"running": current is not None and v.id == current.id} for v in store.history(KIND)
    ]
    return {"versions": versions, "current": current.id if current else None}


@router.get("/admin/dialplan", response_class=HTMLResponse)
def dialplan_page(request: Request, account: Account = AdminPage) -> HTMLResponse:
    view = dialplan_admin.show_rendered(_ctx(request).site, _store(request))
    return render(request, "admin_dialplan.html", account, view=view, max_note=MAX_NOTE)


@router.get("/api/admin/dialplan")
def get_dialplan(request: Request, account: Account = Admin) -> dict[str, Any]:
    """The platform's dialplan (extensions.conf, read-only), the admin's file as Asterisk has it, the version
    applied last, and `drift` when the file differs from it."""
    return dialplan_admin.show_rendered(_ctx(request).site, _store(request)).to_json()


@router.post("/api/admin/dialplan/check")
def check(request: Request, body: DialplanText, account: Account = Admin) -> dict[str, Any]:
    """The check an apply makes, alone: `problems` name each refused line (empty: it may be applied)."""
    problems = dialplan_admin.check(_ctx(request).site, body.content)
    return {"ok": not problems, "problems": _problems_json(problems)}


@router.post("/api/admin/dialplan/diff")
def diff(request: Request, body: DialplanText, account: Account = Admin) -> dict[str, Any]:
    """A unified diff from the admin's file Asterisk runs to `content`."""
    view = dialplan_admin.show_rendered(_ctx(request).site, _store(request))
    current = view.current.id if view.current else None
    label = f"version {current}" if current is not None and not view.drift else "running"
    return {"diff": dialplan_admin.diff(view.admin, body.content, label, "edited"), "against": current}


@router.post("/api/admin/dialplan/apply", response_model=None)
async def apply(request: Request, body: ApplyRequest, account: Account = Admin) -> dict[str, Any] | JSONResponse:
    """Check, save as a version, write for Asterisk, reload the dialplan as the admin AMI user, verify."""
    ctx = _ctx(request)
    try:
        version = await dialplan_admin.save_and_apply(
            ctx.site, _store(request), body.content, account.name, body.note, clock=ctx.clock, reloader=_reloader(ctx)
        )
    except DialplanRefusedError as exc:
        return _refused(exc)
    except (AsteriskConfError, StoreError) as exc:
        raise _failed(exc) from None
    return {"version": version.to_json(content=False)} | _versions_json(_store(request))


@router.get("/api/admin/dialplan/versions")
def versions(request: Request, account: Account = Admin) -> dict[str, Any]:
    """Saved versions, newest first (without their content), and which one runs."""
    return _versions_json(_store(request))


@router.get("/api/admin/dialplan/versions/{version_id}")
def version(request: Request, version_id: int, account: Account = Admin) -> dict[str, Any]:
    """One version with its content."""
    try:
        found: ConfigVersion = _store(request).get(version_id, KIND)
    except StoreError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return found.to_json()


@router.post("/api/admin/dialplan/versions/{version_id}/rollback", response_model=None)
async def rollback(
    request: Request,
    version_id: int,
    body: RollbackRequest | None = None,
    account: Account = Admin,
) -> dict[str, Any] | JSONResponse:
    """A new version repeating `version_id`'s content, checked and applied like an edit."""
    ctx = _ctx(request)
    try:
        new = await dialplan_admin.rollback(
            ctx.site,
            _store(request),
            version_id,
            account.name,
            note=body.note if body else None,
            clock=ctx.clock,
            reloader=_reloader(ctx),
        )
    except DialplanRefusedError as exc:
        return _refused(exc)
    except (AsteriskConfError, StoreError) as exc:
        raise _failed(exc) from None
    return {"version": new.to_json(content=False)} | _versions_json(_store(request))


def _refused(exc: DialplanRefusedError) -> JSONResponse:
    """422 with the message (each refused line) and the problems, for the page to list."""
    content = {"detail": str(exc), "problems": _problems_json(exc.problems)}
    return JSONResponse(content, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _failed(exc: AsteriskConfError | StoreError) -> HTTPException:
    if isinstance(exc, StoreError):  # no such version
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, DialplanApplyError):  # Asterisk did not take it; the previous dialplan is back
        return HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc))
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))  # no config folder known, another apply running
