"""Campaign commands: create or update a campaign from its file, show it, report on it, make a win-back campaign.

The store is $SWITCHBOARD_DB, else the site's store_url (as for `leads import`); it is migrated first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from switchboard.cli.base import CliContext, cli, config_option, emit

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _engine(obj: CliContext) -> Any:
    from switchboard.config import DB_ENV
    from switchboard.store.calls import make_engine
    from switchboard.store.migrate import upgrade

    url = os.environ.get(DB_ENV) or obj.site().store_url_effective
    engine = make_engine(url)
    upgrade(engine)
    return engine


@cli.group()
def campaign() -> None:
    """Outbound campaigns: settings, dispositions, reports, win-back."""


@campaign.command("create")
@config_option
@click.argument("file", type=_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def campaign_create(obj: CliContext, file: Path, as_json: bool) -> None:
    """Create a campaign from its TOML file, or update the campaign of that name."""
    from switchboard.store.campaigns import read_campaign_file, save_campaign

    settings, given = read_campaign_file(file)
    saved = save_campaign(_engine(obj), settings, given=given)
    data = {
        "campaign": saved.name,
        "id": saved.id,
        "created": saved.created,
        "dispositions": len(settings.dispositions),
        "refusal_reasons": len(settings.refusal_reasons),
    }
    verb = "created" if saved.created else "updated"
    emit(
        data,
        as_json,
        f"campaign {saved.name!r} {verb} ({len(settings.dispositions)} dispositions, "
        f"{len(settings.refusal_reasons)} refusal reasons)",
    )


@campaign.command("show")
@config_option
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the campaign as JSON.")
@click.pass_obj
def campaign_show(obj: CliContext, name: str, as_json: bool) -> None:
    """A campaign's settings (as its file would write them) and its lists."""
    from switchboard.store.campaigns import campaign_summary

    data = campaign_summary(_engine(obj), name)
    emit(data, as_json, None if as_json else _show_text(name, data))


def _show_text(name: str, data: dict[str, Any]) -> str:
    s = data["settings"]
    lines = [f"campaign {name!r} ({data['status']})"]
    if data["winback"]:
        wb = data["winback"]
        lines.append(f"  win-back of {wb['source']!r} for {', '.join(wb['reasons'])}")
    lines.append(f"  caller ID {s.get('caller_id', '-')}, recording {'on' if s['recording'] else 'off'}")
    lines.append(f"  at most {s['max_attempts']} attempts a lead, {s['max_attempts_per_day']} a day")
    lines.append("  hours (" + s["default_zone"] + " for leads of no zone): "
                 + ", ".join(f"{d} {w}" for d, w in s["hours"].items()))  # fmt: skip
    retry = ", ".join(f"{k} {v['after']}" + (f" x{v['max']}" if "max" in v else "") for k, v in s["retry"].items())
    lines.append(f"  retry: {retry}")
    lines.append("  dispositions: " + ", ".join(d["code"] for d in s["dispositions"]))
    lines.append("  refusal reasons: " + ", ".join(r["code"] for r in s["refusal_reasons"]))
    for lst in data["lists"]:
        statuses = ", ".join(f"{k} {v}" for k, v in lst["by_status"].items())
        lines.append(f"  list {lst['name']!r}: {lst['leads']} leads ({statuses or 'none'})")
    return "\n".join(lines)


@campaign.command("report")
@config_option
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def campaign_report_command(obj: CliContext, name: str, as_json: bool) -> None:
    """Attempts, contacts, conversion, outcomes and refusal reasons per campaign and list; operators; hours."""
    from switchboard.store.campaign_report import campaign_report

    data = campaign_report(_engine(obj), name)
    if as_json:
        emit(data, True)
        return
    from switchboard.cli.campaign_tables import print_report

    print_report(data)


@campaign.command("winback")
@config_option
@click.argument("source")
@click.option("--name", required=True, help="The win-back campaign (made with the source's settings).")
@click.option("--reasons", required=True, help="Refusal reason codes, comma-separated: too_expensive,other_provider")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def campaign_winback(obj: CliContext, source: str, name: str, reasons: str, as_json: bool) -> None:
    """A new campaign from SOURCE's leads whose last answer was a refusal for one of the reasons."""
    from switchboard.store.winback import create_winback

    report = create_winback(_engine(obj), source, name, reasons.split(","))
    data = report.as_json()
    verb = "created" if report.created else "topped up"
    emit(
        data,
        as_json,
        f"campaign {name!r} {verb} from {source!r}: {report.copied} leads copied of {report.matched} refused for "
        f"{', '.join(report.reasons)} ({report.already} already there, {report.dnc} on do-not-call)",
    )


_STATUS_OF = {"start": "active", "pause": "paused", "stop": "archived"}


def _set_status(obj: CliContext, name: str, verb: str, as_json: bool) -> None:
    """The console's start/pause/stop: the running dialer sees the status within its refresh (2 s)."""
    import getpass
    import time

    from switchboard.store.accounts import AccountStore
    from switchboard.store.campaign_console import set_status
    from switchboard.store.dialing import campaign_state

    engine = _engine(obj)
    status = _STATUS_OF[verb]
    _, was = set_status(engine, campaign_state(engine, name).id, status)
    detail = {"from": was, "to": status}
    AccountStore(engine).audit(f"cli:{getpass.getuser()}", f"campaign.{verb}", name, detail, time.time())
    emit({"campaign": name, "status": status, "was": was}, as_json, f"campaign {name!r}: {was} -> {status}")


def _status_command(verb: str, help_text: str) -> None:
    @campaign.command(verb, help=help_text)
    @config_option
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @click.pass_obj
    def command(obj: CliContext, name: str, as_json: bool) -> None:
        _set_status(obj, name, verb, as_json)


_status_command("start", "Start (or resume) dialing NAME's leads.")
_status_command("pause", "Pause NAME: no new call is placed; calls under way end as usual.")
_status_command("stop", "Stop NAME for good (archived): start it again to resume.")
