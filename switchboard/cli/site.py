"""Site commands: check the configuration, render Asterisk's, run the platform, list calls, run the demo.

Each command is a thin layer over the modules that do the work.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

import click
from redis.exceptions import RedisError

from switchboard.cli.base import CliContext, cli, config_option, emit


@cli.group()
def config() -> None:
    """Check the site configuration."""


@config.command("check")
@config_option
@click.option("--ports", is_flag=True, help="Also check that the listening ports are free now.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def config_check(obj: CliContext, ports: bool, as_json: bool) -> None:
    """Load and validate the site file; print a summary."""
    site = obj.site(check_ports=ports)
    data = {
        "ok": True,
        "file": str(site.source),
        "operators": len(site.operators),
        "queues": len(site.queues),
        "hotlines": [h.number for h in site.hotlines],
        "skills": site.skills,
    }
    emit(
        data,
        as_json,
        f"{site.source}: ok ({len(site.operators)} operators, {len(site.queues)} queues, "
        f"{len(site.hotlines)} hotlines)",
    )


@cli.group()
def asterisk() -> None:
    """Asterisk configuration."""


@asterisk.command("render")
@config_option
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the config set (Asterisk's writable folders are made under it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the written files as JSON.")
@click.pass_obj
def asterisk_render(obj: CliContext, out: Path, as_json: bool) -> None:
    """Render a complete Asterisk config set from the site file; start it with `asterisk -C OUT/asterisk.conf -f`."""
    from asterisk_conf.render import render_asterisk, template_names

    conf = render_asterisk(obj.site(), out)
    files = [str(out / name) for name in template_names()]
    emit(
        {"asterisk_conf": str(conf), "files": files},
        as_json,
        f"wrote {len(files)} files; start with: asterisk -C {conf} -f",
    )


@cli.command("run")
@config_option
@click.pass_obj
def run(obj: CliContext) -> None:
    """Run the platform (AMI, FastAGI, call records, live state) until interrupted."""
    from switchboard.platform import Platform

    site = obj.site()
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    try:
        asyncio.run(Platform(site).run_forever())
    except KeyboardInterrupt:
        pass


@cli.command("calls")
@config_option
@click.option("--limit", default=20, show_default=True, help="How many of the latest calls.")
@click.option("--json", "as_json", is_flag=True, help="Print the call records as JSON.")
@click.pass_obj
def calls(obj: CliContext, limit: int, as_json: bool) -> None:
    """The latest call records."""
    from switchboard.store.calls import CallStore, make_engine

    store = CallStore(make_engine(obj.site().store_url_effective))
    store.create_schema()
    rows = [dataclasses.asdict(r) for r in store.all_calls()[-limit:]]
    lines = [
        f"{r['started_at']:.0f} {r['caller']:>16} -> {r['hotline'] or '-':<14} {r['operator'] or '-':<10} "
        f"{r['outcome'] or 'in progress'}"
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or "no calls yet")


@cli.command("callbacks")
@config_option
@click.option("--status", default="pending", show_default=True, help="pending, done, cancelled, or 'all'.")
@click.option("--json", "as_json", is_flag=True, help="Print the tasks as JSON.")
@click.pass_obj
def callbacks(obj: CliContext, status: str, as_json: bool) -> None:
    """Hotline callers who asked to be called back (or left a message) at a queue's maximum wait."""
    from switchboard.store.calls import CallStore, make_engine

    store = CallStore(make_engine(obj.site().store_url_effective))
    store.create_schema()
    rows = store.callbacks(None if status == "all" else status)
    lines = [
        f"{r['requested_at']:.0f} {r['queue']:<12} {r['phone']:>16} {r['kind']:<9} {r['status']}"
        + (f" {r['message']}" if r["message"] else "")
        for r in rows
    ]
    emit(rows, as_json, "\n".join(lines) or f"no {status} callback tasks")


@cli.command("queues")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_obj
def queues(obj: CliContext, as_json: bool) -> None:
    """The live wallboard: each queue's figures as the running platform last wrote them to Redis."""
    from switchboard.live import LiveState

    async def read() -> dict[str, dict[str, Any]]:
        live = LiveState(obj.site().redis_url)
        try:
            return await live.read_queues()
        finally:
            await live.close()

    try:
        board = asyncio.run(read())
    except (OSError, RedisError) as exc:
        raise click.ClickException(
            f"redis_url = {obj.site().redis_url!r}: cannot read the live figures: {exc}"
        ) from None
    lines = [
        f"{name:<12} waiting {f['waiting']:>3}  longest {f['longest_wait_s']:>6}s  SL {f['service_level']:.0%}  "
        f"ASA {f['asa_s']}s  abandoned {f['abandon_rate']:.0%}  occupancy {f['occupancy']:.0%}"
        for name, f in board.items()
    ]
    emit(board, as_json, "\n".join(lines) or "no live figures (is the platform running?)")


@cli.command("demo")
@click.option("--minutes", default=1.0, show_default=True, type=float, help="How long the simulated callers call.")
@click.option("--operators", default=3, show_default=True, type=click.IntRange(1, 5), help="Operators on softphones.")
# 0.4/s keeps the default three operators busy: callers wait a few seconds, the specialists' queues widen now
# and then, nobody gives up.
@click.option("--rate", default=0.4, show_default=True, type=float, help="New callers per second.")
@click.option("--json", "as_json", is_flag=True, help="Print only the final report, as JSON.")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's folder here (configs, logs, database, recordings).",
)
def demo(minutes: float, operators: int, rate: float, as_json: bool, keep: Path | None) -> None:
    """Start a real Asterisk, Redis, the platform, softphone operators and SIPp callers; print a report.

    Exits 1 when no call was answered, a caller's call failed, or an operator answered a call without the skills.
    """
    from switchboard.demo import misrouted_total, run_demo

    report = asyncio.run(run_demo(minutes=minutes, operators=operators, rate=rate, quiet=as_json, keep=keep))
    if as_json:
        emit(report, True)
    if report["inbound"]["answered"] == 0 or report["inbound"]["failed"] or misrouted_total(report):
        sys.exit(1)
