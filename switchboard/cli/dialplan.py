"""`switchboard dialplan`: the admin's own dialplan contexts from the command line, as the console's editor does them:
show, check, diff, apply (with a reload over AMI as the admin AMI user), history, rollback, and the audit log.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import click

from switchboard.cli.base import CliContext, cli, cli_user, config_option, emit, migrated_engine
from switchboard.config import Site
from switchboard.store.config_versions import ConfigVersion, ConfigVersionStore


@cli.group("dialplan")
def dialplan() -> None:
    """The admin's dialplan contexts (extensions_admin.conf): checked before they reach Asterisk, versioned."""


def _store(site: Site) -> ConfigVersionStore:
    return ConfigVersionStore(migrated_engine(site))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="FILE") from None


def _version_line(v: ConfigVersion) -> str:
    applied = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v.applied_at)) if v.applied_at else "not applied"
    restored = f" (restores {v.restored_from})" if v.restored_from is not None else ""
    return f"{v.id:>5}  {v.author:<20} {applied:<20} {v.note or ''}{restored}"


@dialplan.command("show")
@click.option("--rendered", is_flag=True, help="The platform's whole dialplan (extensions.conf) too, read-only.")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def show(obj: CliContext, rendered: bool, as_json: bool) -> None:
    """The admin's contexts as Asterisk has them (and with --rendered, the platform's dialplan before them)."""
    from switchboard.dialplan_admin import show_rendered

    site = obj.site()
    view = show_rendered(site, _store(site))
    data = view.to_json()
    if not rendered:
        data.pop("platform")
    human = (
        f"{view.platform}\n; ---- {view.conf_dir or '.'}/extensions_admin.conf ----\n" if rendered else ""
    ) + view.admin
    if view.drift:
        human += "\n; note: this file differs from the version applied last (re-rendered or edited by hand)\n"
    emit(data, as_json, human.rstrip("\n"))


@dialplan.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@click.pass_obj
def check(obj: CliContext, file: Path, as_json: bool) -> None:
    """Check FILE as the admin's dialplan; exits 1 naming each refused line."""
    from switchboard.dialplan_admin import check as check_text

    problems = check_text(obj.site(), _read(file))
    data = {"file": str(file), "ok": not problems, "problems": [_problem_json(p) for p in problems]}
    emit(data, as_json, "\n".join(f"{file}: {p}" for p in problems) or f"{file}: ok")
    if problems:
        raise SystemExit(1)


def _problem_json(problem: Any) -> dict[str, Any]:
    return {"line": problem.line, "column": problem.column, "message": problem.message, "text": problem.text}


@dialplan.command("diff")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.pass_obj
def diff(obj: CliContext, file: Path) -> None:
    """What applying FILE would change in the admin's dialplan Asterisk has now (a unified diff)."""
    from switchboard.dialplan_admin import diff as diff_text
    from switchboard.dialplan_admin import show_rendered

    site = obj.site()
    current = show_rendered(site, _store(site)).admin
    click.echo(diff_text(current, _read(file), "current", str(file)) or "no change", nl=False)


@dialplan.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--note", required=True, help="Why: kept with the version and in the audit log.")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the applied version as JSON.")
@click.pass_obj
def apply(obj: CliContext, file: Path, note: str, as_json: bool) -> None:
    """Check FILE, save it as a version, write it for Asterisk and reload the dialplan (admin AMI user)."""
    from switchboard.dialplan_admin import save_and_apply

    site = obj.site()
    version = asyncio.run(save_and_apply(site, _store(site), _read(file), cli_user(), note))
    emit(version.to_json(content=False), as_json, f"version {version.id} applied")


@dialplan.command("history")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the versions (with their content) as JSON.")
@click.pass_obj
def history(obj: CliContext, limit: int, as_json: bool) -> None:
    """Saved versions of the admin's dialplan, newest first."""
    from switchboard.dialplan_admin import KIND

    versions = _store(obj.site()).history(KIND, limit)
    header = f"{'id':>5}  {'author':<20} {'applied':<20} note"
    emit([v.to_json() for v in versions], as_json, "\n".join([header, *map(_version_line, versions)]))


@dialplan.command("rollback")
@click.argument("version", type=int)
@click.option("--note", default=None, help="Why (default: 'rollback to version N').")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the new version as JSON.")
@click.pass_obj
def rollback(obj: CliContext, version: int, note: str | None, as_json: bool) -> None:
    """Apply VERSION's content again, as a new version."""
    from switchboard.dialplan_admin import rollback as roll_back

    site = obj.site()
    new = asyncio.run(roll_back(site, _store(site), version, cli_user(), note=note))
    emit(new.to_json(content=False), as_json, f"version {new.id} applied (the content of version {version})")


@dialplan.command("audit")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def audit(obj: CliContext, limit: int, as_json: bool) -> None:
    """Who changed the dialplan, and what: saves, applies, rollbacks, refusals, failures."""
    entries = _store(obj.site()).audit_log("dialplan.", limit)
    lines = [
        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(e.at))}  {e.user:<20} {e.action:<22} {e.target or ''}"
        for e in entries
    ]
    emit([e.to_json() for e in entries], as_json, "\n".join(lines) or "no dialplan changes yet")
