"""`make demo`: a real Asterisk, Redis, the platform, softphone operators and SIPp callers, ending in a report.

Everything runs on free loopback ports in a temporary folder (or --keep DIR) and is stopped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from switchboard.lab.sipp import run_callers
from switchboard.lab.stack import LabStack

CALLER_SCENARIO = Path(__file__).resolve().parents[1] / "tests" / "sipp" / "caller.xml"
TALK_S = 4.0
ANSWER_AFTER_S = 0.5


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
        async with LabStack(folder, operators=operators) as lab:
            assert lab.site and lab.platform and lab.phones
            for op in lab.site.operators:
                await lab.phones.configure(op.sip_user, answer_after_s=ANSWER_AFTER_S, talk_s=TALK_S, auto_answer=True)
            calls = max(1, round(minutes * 60 * rate))
            hotline = lab.site.hotlines[0].number
            console.print(f"{calls} callers dial the hotline {hotline} at {rate}/s for about {minutes} min")
            started = time.monotonic()
            sipp = asyncio.create_task(
                run_callers(
                    CALLER_SCENARIO,
                    "127.0.0.1",
                    lab.site.asterisk.sip_port,
                    number=hotline,
                    calls=calls,
                    rate=rate,
                    concurrency=max(4, operators * 2),
                    call_seconds=60.0,
                    timeout=minutes * 60 + 120,
                )
            )
            with Live(_progress(lab, started), console=console, refresh_per_second=2, transient=quiet) as live:
                while not sipp.done():
                    live.update(_progress(lab, started))
                    await asyncio.sleep(0.5)
                live.update(_progress(lab, started))
            result = sipp.result()
            await lab.wait_idle(timeout=30)
            await lab.platform.flush()
            report = _report(lab, result)
        console.print(_report_table(report))
        return report


def _progress(lab: LabStack, started: float) -> Table:
    assert lab.platform
    picture = lab.platform.picture
    table = Table(title=f"live, {time.monotonic() - started:.0f}s", show_header=True)
    for column in ("offered", "answered", "abandoned", "no operator", "in progress"):
        table.add_column(column, justify="right")
    counts = [picture.counters[key] for key in ("offered", "answered", "abandoned", "no_operator")]
    table.add_row(*(str(n) for n in [*counts, len(picture.calls)]))
    table.caption = "  ".join(f"{user}: {state}" for user, state in picture.operator_states().items())
    return table


def _report(lab: LabStack, sipp: Any) -> dict[str, Any]:
    assert lab.platform and lab.site
    records = lab.platform.store.all_calls()
    outcomes = [r.outcome for r in records]
    recordings = [r.recording for r in records if r.recording and Path(r.recording).exists()]
    return {
        "inbound": {
            "offered": len(records),
            "answered": outcomes.count("answered"),
            "abandoned": outcomes.count("abandoned"),
            "no_operator": outcomes.count("no_operator"),
            "missed": outcomes.count("missed"),
            "failed": sipp.failed,
        },
        "callers": {"placed": sipp.successful + sipp.failed, "successful": sipp.successful, "failed": sipp.failed},
        "operators": len(lab.site.operators),
        "recordings": len(recordings),
        "errors": list(lab.platform.errors),
    }


def _report_table(report: dict[str, Any]) -> Table:
    table = Table(title="Switchboard demo report")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report["inbound"].items():
        table.add_row(f"inbound {key}", str(value))
    table.add_row("operators", str(report["operators"]))
    table.add_row("recordings", str(report["recordings"]))
    table.add_row("errors", str(len(report["errors"])))
    return table
