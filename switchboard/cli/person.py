"""Personal-data commands: export or erase everything about one person, and apply the site's retention periods.

The store is $SWITCHBOARD_DB, else the site's store_url; the files are the site's recordings, queue_log and
Asterisk log folder (asterisk_logs in the site file, or --asterisk-logs).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click

from switchboard.cli.base import CliContext, cli, config_option, emit

_DIR = click.Path(file_okay=False, path_type=Path)


def _engine(obj: CliContext) -> Any:
    from switchboard.config import DB_ENV
    from switchboard.store.calls import make_engine
    from switchboard.store.migrate import upgrade

    url = os.environ.get(DB_ENV) or obj.site().store_url_effective
    engine = make_engine(url)
    upgrade(engine)
    return engine


def _places(obj: CliContext, asterisk_logs: Path | None) -> Any:
    from switchboard.privacy.files import Places

    return Places.of_site(obj.site(), asterisk_logs.resolve() if asterisk_logs else None)


def _person_options(func: Any) -> Any:
    for option in reversed(
        [
            click.argument("number"),
            click.option("--region", default="RU", show_default=True, help="Where a number without +country is from."),
            click.option("--lead", "lead_ids", type=int, multiple=True, help="A lead id that is this person too."),
            click.option(
                "--asterisk-logs", type=_DIR, default=None, help="Asterisk's log folder (default: the site's)."
            ),
            click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
        ]
    ):
        func = option(func)
    return func


@cli.group()
def person() -> None:
    """One person's data: export it, or erase it everywhere (the number stays on do-not-call as a keyed hash)."""


@person.command("export")
@config_option
@_person_options
@click.pass_obj
def person_export(
    obj: CliContext, number: str, region: str, lead_ids: tuple[int, ...], asterisk_logs: Path | None, as_json: bool
) -> None:
    """Everything held about the person with NUMBER: rows, mentions, do-not-call entries, log lines, recordings."""
    from switchboard.privacy.export import export_person, summary
    from switchboard.privacy.numbers import person_number

    found = person_number(number, region)
    data = export_person(_engine(obj), found, _places(obj, asterisk_logs), lead_ids=lead_ids)
    lines = [f"{place}: {n}" for place, n in summary(data).items()]
    lines += [f"not checked: {what}" for what in data["unchecked"]]
    emit(data, as_json, "\n".join([*lines, "(--json prints the export itself)"]))


@person.command("erase")
@config_option
@_person_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def person_erase(
    obj: CliContext,
    number: str,
    region: str,
    lead_ids: tuple[int, ...],
    asterisk_logs: Path | None,
    as_json: bool,
    yes: bool,
) -> None:
    """Erase the person with NUMBER from the store, recordings and logs; they stay on do-not-call by hash only."""
    from switchboard.privacy import mask_number
    from switchboard.privacy.erase import erase_person
    from switchboard.privacy.numbers import person_number

    found = person_number(number, region)
    if not yes:
        click.confirm(f"Erase everything about {mask_number(found.e164)}? This cannot be undone", abort=True, err=True)
    report = erase_person(_engine(obj), found, _places(obj, asterisk_logs), lead_ids=lead_ids)
    emit(report, as_json, _erase_text(report))


def _erase_text(report: dict[str, Any]) -> str:
    if not report["found_anything"]:
        lines = [f"{report['number']}: nothing left to erase"]
    else:
        lines = [f"{report['number']}: erased"]
        lines += [f"  {table}: {counts}" for table, counts in sorted(report["tables"].items())]
        lines += [f"  mentioned in {where}: {n}" for where, n in sorted(report["mentions"].items())]
        lines += [f"  recordings deleted: {len(report['recordings']['deleted'])}"]
        lines += [f"  {path}: {n} masked" for path, n in sorted(report["files"].items())]
    added = " (added)" if report["dnc"]["system_entry_added"] else ""
    lines.append(f"  do-not-call: kept as a keyed hash{added}")
    lines += [f"  not checked: {what}" for what in report["unchecked"]]
    return "\n".join(lines)


@cli.group()
def retention() -> None:
    """Retention periods for leads, call records and recordings ([retention] in the site file)."""


@retention.command("apply")
@config_option
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def retention_apply(obj: CliContext, dry_run: bool, as_json: bool) -> None:
    """Remove personal data older than the site's periods (run it daily, from cron or a timer)."""
    from switchboard.privacy.retention import apply_retention

    site = obj.site()
    report = apply_retention(_engine(obj), site.retention, _places(obj, None), time.time(), dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    lines = []
    for part in ("leads", "calls", "recordings"):
        got = report[part]
        if got["days"] is None:
            lines.append(f"{part}: no period set (kept until erased)")
        else:
            tables = ", ".join(f"{t} {sum(c.values())}" for t, c in sorted(got["tables"].items())) or "nothing"
            files = got["recordings_deleted"] + got.get("old_files_deleted", 0)
            lines.append(f"{part} older than {got['days']} days: {verb} {tables}; recordings {files}")
    emit(report, as_json, "\n".join(lines))
