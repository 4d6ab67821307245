"""`make demo`: a real Asterisk, Redis, the platform, softphone operators and SIPp callers, ending in a report.

Everything runs on free loopback ports in a temporary folder (or --keep DIR) and is stopped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from acd import stats
from switchboard.config import Site
from switchboard.demo_figures import queue_figures
from switchboard.demo_outbound import (
    CAMPAIGN,
    SALES_USER,
    enter_dispositions,
    finish_campaign,
    outbound_site,
    start_campaign,
)
from switchboard.lab.sipp import SippNetwork, SippResult, run_callers
from switchboard.lab.site import lab_site_dict
from switchboard.lab.stack import LabStack

CALLER_SCENARIO = Path(__file__).resolve().parents[1] / "tests" / "sipp" / "caller_menu.xml"
TALK_S = 4.0
ANSWER_AFTER_S = 0.5
PATIENCE_S = 60.0  # how long a caller stays after the menu before hanging up, answered or not


async def run_demo(
    *, minutes: float, operators: int, rate: float, quiet: bool = False, keep: Path | None = None
) -> dict[str, Any]:
    console = Console(stderr=True, quiet=quiet)
    with contextlib.ExitStack() as cleanup:
        folder = keep or Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="switchboard-demo-")))
        folder.mkdir(parents=True, exist_ok=True)
        console.print(
            f"[bold]Switchboard demo[/] in {folder}: starting Redis, Asterisk, the platform, {operators} operators"
        )
        network = SippNetwork(ring_s=1.0, talk_s=TALK_S)
        await network.start()
        try:
            data = outbound_site(lab_site_dict(folder, operators=operators), network.port)
            async with LabStack(folder, site_data=data) as lab:
                report = await _run(lab, folder, console, minutes=minutes, operators=operators, rate=rate, quiet=quiet)
        finally:
            await network.stop()
        console.print(_report_table(report))
        return report


async def _run(
    lab: LabStack, folder: Path, console: Console, *, minutes: float, operators: int, rate: float, quiet: bool
) -> dict[str, Any]:
    assert lab.site and lab.platform and lab.phones
    inbound_operators = [op for op in lab.site.operators if op.sip_user != SALES_USER]
    for op in inbound_operators:
        await lab.phones.configure(op.sip_user, answer_after_s=ANSWER_AFTER_S, talk_s=TALK_S, auto_answer=True)
    imported = await start_campaign(lab, folder)
    console.print(f"campaign {CAMPAIGN!r}: {imported['imported']} of {imported['rows']} purchased leads imported")
    calls = max(1, round(minutes * 60 * rate))
    rows = caller_rows(lab.site, calls)
    console.print(f"{calls} callers at {rate}/s for about {minutes} min, to: {_hotlines_text(lab.site)}")
    started = time.monotonic()
    sipp = asyncio.create_task(
        run_callers(
            CALLER_SCENARIO, "127.0.0.1", lab.site.asterisk.sip_port, number=None, calls=calls, rate=rate,
            concurrency=max(6, operators * 4), call_seconds=PATIENCE_S, injection_rows=rows,
            timeout=minutes * 60 + 120,
        )
    )  # fmt: skip
    rng = random.Random(11)
    with Live(_progress(lab, started), console=console, refresh_per_second=2, transient=quiet) as live:
        while not sipp.done():
            live.update(_progress(lab, started))
            await enter_dispositions(lab, rng)
            await asyncio.sleep(0.5)
        live.update(_progress(lab, started))
    console.print()
    result = sipp.result()
    outbound = await finish_campaign(lab, rng)
    await lab.wait_idle(timeout=30)
    await lab.platform.flush()
    return _report(lab, result) | {"outbound": outbound}


def caller_rows(site: Site, calls: int) -> list[dict[str, str]]:
    """SIPp injection rows taking turns over the hotlines; a menu hotline's callers take turns over its keys,
    and one in each round presses nothing (the hotline's default queue)."""
    per_hotline = [
        [{"number": line.number, "digits": digit} for digit in [*sorted(line.menu), ""]]
        if line.menu
        else [{"number": line.number, "digits": ""}]
        for line in site.hotlines
    ]
    turns = [row for group in itertools.zip_longest(*per_hotline) for row in group if row is not None]
    return list(itertools.islice(itertools.cycle(turns), calls))


def _hotlines_text(site: Site) -> str:
    parts = []
    for line in site.hotlines:
        menu = ", ".join(f"{digit} {queue}" for digit, queue in sorted(line.menu.items()))
        parts.append(f"{line.number} ({menu}; else {line.queue})" if menu else f"{line.number} ({line.queue})")
    return "; ".join(parts)


def _progress(lab: LabStack, started: float) -> Group:
    assert lab.platform and lab.site
    picture = lab.platform.picture
    queues = Table(title=f"live, {time.monotonic() - started:.0f}s", pad_edge=False)  # 80 columns hold it
    queues.add_column("queue", no_wrap=True)
    for column in ("waiting", "offered", "answered", "abandoned", "SL", "ASA", "abandon"):
        queues.add_column(column, justify="right")
    waiting = [w.call.queue for w in picture.waiting.values()]
    for queue in lab.site.queues:
        tally = picture.tallies.get(queue.name, stats.QueueTally())
        figures = stats.figures(tally)
        counts = (waiting.count(queue.name), tally.offered, tally.answered, tally.abandoned)
        rates = (f"{figures.service_level:.0%}", f"{figures.asa_s:.1f}s", f"{figures.abandon_rate:.0%}")
        queues.add_row(queue.name, *(str(n) for n in counts), *rates)
    by_state: dict[str, list[str]] = {}
    for user, state in picture.operator_states(lab.platform.clock()).items():
        by_state.setdefault(state, []).append(user)
    people = Table(show_header=True)
    people.add_column("operators")
    people.add_column("who")
    for state, users in sorted(by_state.items()):
        people.add_row(f"{state} ({len(users)})", ", ".join(sorted(users)))
    dialer = lab.platform.dialer.figures.get(CAMPAIGN)
    if dialer is None:
        return Group(queues, people)
    line = (
        f"campaign {CAMPAIGN!r}: dialed {dialer.dialed}, people {dialer.answered}, abandoned {dialer.abandoned}, "
        f"ringing now {sum(1 for f in lab.platform.dialer.inflight.values() if f.answered_at is None)}"
    )
    return Group(queues, people, line)


def _report(lab: LabStack, sipp: SippResult) -> dict[str, Any]:
    assert lab.platform and lab.site
    every = lab.platform.store.all_calls()
    records = [r for r in every if r.direction == "inbound"]
    outcomes = [r.outcome for r in records]
    recordings = [r.recording for r in every if r.recording and Path(r.recording).exists()]
    queues, disagreements = queue_figures(lab.site, lab.platform.picture.tallies, every)
    return {
        "inbound": {
            "offered": len(records),
            "answered": outcomes.count("answered"),
            "abandoned": outcomes.count("abandoned"),
            "no_operator": outcomes.count("no_operator"),
            "missed": outcomes.count("missed"),
            "failed": sipp.failed,
        },
        "queues": queues,
        "callers": {"placed": sipp.successful + sipp.failed, "successful": sipp.successful, "failed": sipp.failed},
        "operators": len(lab.site.operators),
        "recordings": len(recordings),
        "errors": [*lab.platform.errors, *disagreements],
    }


def _report_table(report: dict[str, Any]) -> Table:
    table = Table(title="Switchboard demo report")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report["inbound"].items():
        table.add_row(f"inbound {key}", str(value))
    for name, queue in report["queues"].items():
        table.add_row(
            f"queue {name}",
            f"SL {queue['service_level']:.0%}  ASA {queue['asa_s']}s  abandon {queue['abandon_rate']:.0%}  "
            f"misrouted {queue['misrouted']}",
        )
    outbound = report.get("outbound")
    if outbound:
        refusals = ", ".join(f"{reason} {n}" for reason, n in outbound["refusals"].items()) or "none"
        table.add_row(
            "outbound",
            f"dialed {outbound['dialed']}  answered {outbound['answered']}  abandoned {outbound['abandoned']} "
            f"({outbound['abandon_rate']:.1%})  sales {outbound['sales']}",
        )
        table.add_row("refusals", refusals)
    table.add_row("operators", str(report["operators"]))
    table.add_row("recordings", str(report["recordings"]))
    table.add_row("errors", str(len(report["errors"])))
    return table


def misrouted_total(report: dict[str, Any]) -> int:
    """Calls answered by an operator without the skill level they needed, over all queues."""
    return sum(int(queue["misrouted"]) for queue in report.get("queues", {}).values())
