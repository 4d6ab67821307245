"""Lead-list commands: import a purchased list into a campaign; put numbers on a do-not-call list.

The store is $SWITCHBOARD_DB, else the site's store_url; it is migrated to the current schema first.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from switchboard.cli.base import CliContext, cli, config_option, emit
from switchboard.errors import LeadFileError

_SHOWN_ERRORS = 20
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _engine(obj: CliContext) -> Any:
    from switchboard.config import DB_ENV
    from switchboard.store.calls import make_engine
    from switchboard.store.migrate import upgrade

    url = os.environ.get(DB_ENV) or obj.site().store_url_effective
    engine = make_engine(url)
    upgrade(engine)
    return engine


def _mapping(path: Path | None) -> Any:
    if path is None:
        return None
    from dialer.leads.headers import parse_mapping

    try:
        with path.open("rb") as raw:
            return parse_mapping(tomllib.load(raw), source=str(path))
    except tomllib.TOMLDecodeError as exc:
        raise LeadFileError(f"{path}: not valid TOML ({exc})") from None
    except ValueError as exc:
        raise LeadFileError(str(exc)) from None


@contextmanager
def _progress(show: bool, label: str) -> Iterator[Any]:
    """A progress bar on stderr for a person at a terminal; nothing for scripts and --json."""
    if not show or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _errors_text(errors: list[dict[str, Any]]) -> list[str]:
    lines = [f"  line {e['line']}: {e['reason']}" for e in errors[:_SHOWN_ERRORS]]
    if len(errors) > _SHOWN_ERRORS:
        lines.append(f"  ... and {len(errors) - _SHOWN_ERRORS} more (--json lists them all)")
    return lines


@cli.group()
def leads() -> None:
    """Lead lists: load purchased lists into campaigns."""


@leads.command("import")
@config_option
@click.argument("file", type=_FILE)
@click.option("--campaign", required=True, help="The campaign (made if it does not exist).")
@click.option("--list", "list_name", default=None, help="The list within the campaign (default: the file's name).")
@click.option("--region", default="RU", show_default=True, help="Where numbers without a country code are from.")
@click.option("--mapping", type=_FILE, default=None, help='TOML: [columns] "Header" = "phone" | "full_name" | ...')
@click.option("--encoding", default=None, help="The file's encoding (default: detected; UTF-8 or Windows-1251).")
@click.option(
    "--dedupe-days", type=click.IntRange(min=0), default=None, help="Skip numbers any campaign got within N days."
)
@click.option("--require-consent", is_flag=True, help="Import only rows whose consent column says yes.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def leads_import(obj: CliContext, /, file: Path, **kwargs: Any) -> None:
    """Import a CSV (comma, semicolon or tab) or XLSX lead file into a campaign, all rows or none."""
    from switchboard.leads.importer import ImportOptions, import_leads

    as_json = kwargs.pop("as_json")
    options = ImportOptions(
        campaign=kwargs["campaign"],
        list_name=kwargs["list_name"],
        region=kwargs["region"],
        mapping=_mapping(kwargs["mapping"]),
        encoding=kwargs["encoding"],
        dedupe_days=kwargs["dedupe_days"],
        require_consent=kwargs["require_consent"],
    )
    engine = _engine(obj)
    with _progress(not as_json, f"importing {file.name}") as progress:
        report = import_leads(engine, file, options, progress=progress)
    data = report.as_json()
    summary = (
        f"{file.name}: {data['imported']} of {data['rows']} rows imported into {report.campaign} / "
        f"{report.list_name}; {data['rejected']} rejected, {data['duplicates']} duplicates, {data['dnc']} on DNC, "
        f"{data['no_consent']} without consent ({data['seconds']:.1f} s)"
    )
    emit(data, as_json, "\n".join([summary, *_errors_text(data["errors"])]))


@cli.group()
def dnc() -> None:
    """Do-not-call lists, system-wide or per campaign."""


@dnc.command("import")
@config_option
@click.argument("file", type=_FILE)
@click.option("--campaign", default=None, help="The campaign's own list (default: the system-wide list).")
@click.option("--region", default="RU", show_default=True, help="Where numbers without a country code are from.")
@click.option("--encoding", default=None, help="The file's encoding (default: detected).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def dnc_import(
    obj: CliContext, file: Path, campaign: str | None, region: str, encoding: str | None, as_json: bool
) -> None:
    """Put every number of a file (one a line, or a phone column) on a do-not-call list."""
    from switchboard.leads.dnc_file import import_dnc

    report = import_dnc(_engine(obj), file, campaign=campaign, region=region, encoding=encoding)
    data = report.as_json()
    scope = f"campaign {campaign}" if campaign else "the system-wide list"
    summary = (
        f"{file.name}: {data['added']} numbers added to {scope} ({data['already']} already there, "
        f"{data['rejected']} rows rejected); {data['leads_marked']} leads will not be called"
    )
    emit(data, as_json, "\n".join([summary, *_errors_text(data["errors"])]))


@dnc.command("add")
@config_option
@click.argument("number")
@click.option("--campaign", default=None, help="The campaign's own list (default: the system-wide list).")
@click.option("--region", default="RU", show_default=True, help="Where a number without a country code is from.")
@click.option("--reason", default=None, help="Why (kept with the entry).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def dnc_add(obj: CliContext, number: str, campaign: str | None, region: str, reason: str | None, as_json: bool) -> None:
    """Put one number on a do-not-call list."""
    from switchboard.leads.dnc_file import add_dnc_number
    from switchboard.privacy import mask_number

    added = add_dnc_number(_engine(obj), number, campaign=campaign, region=region, reason=reason)
    data = {"added": added.added, "already": added.already, "leads_marked": added.leads_marked}
    scope = f"campaign {campaign}" if campaign else "the system-wide list"
    state = "added to" if added.added else "already on"
    emit(
        data,
        as_json,
        f"{mask_number(number.strip(), 4)} {state} {scope}; {added.leads_marked} leads will not be called",
    )
