"""Milliseconds from the AGI request to the Dial of the chosen operator on the real Asterisk, beside the same figure
for app_queue on the same Asterisk with the same operators: prints one JSON line (a table goes to stderr).

Our path: a SIPp caller dials the hotline, the dialplan answers and runs FastAGI `route`, our engine picks a free
pjsua2 operator, the dialplan Dials it. Measured from the Newexten event of AGI(.../route) to the DialBegin event
of the caller's channel. app_queue: the same callers dial an extension that answers and runs Queue() over the same
operators as static members (leastrecent, ringinuse=no); measured from the Newexten of Queue to the DialBegin.
Both ends are taken from the Timestamp header Asterisk's manager puts on every AMI event (timestampevents = yes), so
both sides are timed by the same clock in the same way; the listener runs in a process of its own, so parsing the
events costs the platform's event loop nothing. Callers are paced so that an operator is always free: this measures
routing, not waiting ("held" counts our callers who heard music first). Target for ours: p99 < 5 ms.

    .venv/bin/python benchmarks/acd_latency.py [--calls 200] [--operators 6] [--rate 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asterisk_conf import variables
from switchboard.errors import LabError
from switchboard.lab.ami_recorder import AmiRecorderProcess
from switchboard.lab.sipp import SippResult, run_callers
from switchboard.lab.site import lab_site_dict
from switchboard.lab.stack import LabStack
from switchboard.picture import FREE_STATES

HOTLINE = "+18005550100"
QUEUE = "general"
APP_QUEUE = "latency-benchmark"
APP_QUEUE_NUMBER = "18005550900"
CALLER = "caller.xml"
CALLER_PATIENCE_S = 30.0  # the caller stays on; the operator's softphone ends each call after --talk seconds
FOLLOWED = frozenset({"Newexten", "DialBegin", "MusicOnHoldStart", "Hangup"})

Record = tuple[float, Mapping[str, str]]  # (when the listener read it, monotonic seconds; the AMI event)


# -- the pure part: events in, latencies out ------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    """One routing: from the start event to the caller's DialBegin."""

    uniqueid: str
    operator: str  # the channel dialed (DialBegin's DestChannel)
    asterisk_ms: float | None  # between the two events' Timestamp headers; None if either had none
    listener_ms: float  # between their arrivals at our AMI listener
    held: bool  # music on hold started in between (our route script holds a caller only when nobody is free)


@dataclass(frozen=True)
class Pairing:
    latencies: list[Latency]
    unpaired: int  # starts that reached no Dial: the caller hung up first, or the run ended


def timestamp_us(event: Mapping[str, str]) -> int | None:
    """The event's `Timestamp: 1718000000.123456` in whole microseconds (exact, unlike a float), or None."""
    text = event.get("Timestamp", "").strip()
    seconds, _, fraction = text.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        return None
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


def is_route_agi(event: Mapping[str, str]) -> bool:
    """The dialplan starting our FastAGI `route` script (the hotline's routing request)."""
    return (
        event.get("Event") == "Newexten"
        and event.get("Application") == "AGI"
        and f"/{variables.AGI_ROUTE}," in event.get("AppData", "") + ","
    )


def is_queue_app(queue: str) -> Callable[[Mapping[str, str]], bool]:
    """The dialplan starting app_queue's Queue(queue, ...)."""

    def starts(event: Mapping[str, str]) -> bool:
        return (
            event.get("Event") == "Newexten"
            and event.get("Application") == "Queue"
            and event.get("AppData", "").split(",", 1)[0] == queue
        )

    return starts


def pair_latencies(records: Iterable[Record], is_start: Callable[[Mapping[str, str]], bool]) -> Pairing:
    """Pair each start with the next DialBegin of the same caller channel (Uniqueid), in event order.

    A later DialBegin with no new start (app_queue ringing the next member) is not a routing and is skipped; a start
    that meets the caller's Hangup, another start, or the end of the events first counts as unpaired.
    """
    open_starts: dict[str, tuple[Record, bool]] = {}
    latencies: list[Latency] = []
    unpaired = 0
    for record in records:
        event = record[1]
        uniqueid = event.get("Uniqueid", "")
        if is_start(event):
            unpaired += uniqueid in open_starts
            open_starts[uniqueid] = (record, False)
        elif uniqueid not in open_starts:
            continue
        elif event.get("Event") == "MusicOnHoldStart":
            open_starts[uniqueid] = (open_starts[uniqueid][0], True)
        elif event.get("Event") == "DialBegin":
            start, held = open_starts.pop(uniqueid)
            latencies.append(_latency(uniqueid, start, record, held))
        elif event.get("Event") == "Hangup":
            del open_starts[uniqueid]
            unpaired += 1
    return Pairing(latencies, unpaired + len(open_starts))


def _latency(uniqueid: str, start: Record, dial: Record, held: bool) -> Latency:
    begun, dialed = timestamp_us(start[1]), timestamp_us(dial[1])
    asterisk_ms = None if begun is None or dialed is None else (dialed - begun) / 1000
    operator = dial[1].get("DestChannel", "").rsplit("-", 1)[0]  # PJSIP/op3001-0000002a -> PJSIP/op3001
    return Latency(uniqueid, operator, asterisk_ms, (dial[0] - start[0]) * 1000, held)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least `fraction` of the values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary(pairing: Pairing) -> dict[str, Any]:
    """p50/p99/max by Asterisk's clock (the headline), and by our listener's clock as a cross-check."""
    by_asterisk = [x.asterisk_ms for x in pairing.latencies if x.asterisk_ms is not None]
    by_listener = [x.listener_ms for x in pairing.latencies]

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "p50_ms": ms(percentile(by_asterisk, 0.50)),
        "p99_ms": ms(percentile(by_asterisk, 0.99)),
        "max_ms": ms(max(by_asterisk, default=None)),
        "calls": len(pairing.latencies),
        "no_dial": pairing.unpaired,
        "operators_dialed": len({x.operator for x in pairing.latencies}),
        "without_timestamp": len(by_listener) - len(by_asterisk),
        "listener_clock": {"p50_ms": ms(percentile(by_listener, 0.50)), "p99_ms": ms(percentile(by_listener, 0.99))},
    }


def app_queue_config(queue: str, members: Sequence[str], ring_timeout_s: int) -> str:
    """queues.conf lines: the same operators as static members, free ones only, least recently called first."""
    settings = [
        "strategy = leastrecent",
        "ringinuse = no",
        "wrapuptime = 0",
        f"timeout = {ring_timeout_s}",
        "autofill = yes",
        "joinempty = yes",
        "leavewhenempty = no",
        "announce-frequency = 0",
        "periodic-announce-frequency = 0",
        "announce-position = no",
        "announce-holdtime = no",
    ]
    lines = [f"[{queue}]", *settings, *(f"member => PJSIP/{sip_user}" for sip_user in members)]
    return "\n; Added by benchmarks/acd_latency.py: app_queue over the same operators.\n" + "\n".join(lines) + "\n"


def app_queue_dialplan(number: str, queue: str, options: str = "") -> str:
    """The inbound extension for app_queue: answer first, as our hotline does before its AGI, then Queue()."""
    app = f"Queue({queue},{options})" if options else f"Queue({queue})"
    return (
        "\n; Added by benchmarks/acd_latency.py: app_queue beside our hotline.\n"
        f"[{variables.CTX_INBOUND}]\n"
        f"exten => {number},1,Answer()\n"
        f" same => n,{app}\n"
        " same => n,Hangup()\n"
    )


# -- the shell: the lab stack, SIPp callers, and an AMI listener in its own process ----------------------------------


def site_data(folder: Path, operators: int, recording: bool) -> dict[str, Any]:
    """One hotline to one queue that every operator takes, with no wrap-up and no announcements."""
    data = lab_site_dict(folder, operators=0)
    data["operators"] = [
        {"sip_user": f"op{3001 + n}", "name": f"Operator {n + 1}", "skills": {"general": 5}}
        | {"secret": secrets.token_urlsafe(12)}
        for n in range(operators)
    ]
    data["queues"] = [{"name": QUEUE, "requires": {"general": 1}, "wrapup_s": 0, "announce_every_s": 0}]
    data["hotlines"] = [{"number": HOTLINE, "queue": QUEUE}]
    data["recording"] = recording
    return data


async def install_app_queue(lab: LabStack, queue_options: str) -> None:
    """Append the queue and its extension to the running Asterisk's rendered files (ours only), then reload."""
    assert lab.asterisk and lab.site
    conf_dir = lab.asterisk.conf_dir
    members = [op.sip_user for op in lab.site.operators]
    with (conf_dir / "queues.conf").open("a", encoding="utf-8") as queues:
        queues.write(app_queue_config(APP_QUEUE, members, lab.site.acd.ring_timeout_s))
    with (conf_dir / "extensions.conf").open("a", encoding="utf-8") as extensions:
        extensions.write(app_queue_dialplan(APP_QUEUE_NUMBER, APP_QUEUE, queue_options))
    await lab.asterisk.cli("module reload app_queue.so")
    await lab.asterisk.cli("dialplan reload")
    shown = await lab.asterisk.cli(f"queue show {APP_QUEUE}")
    if shown.count("PJSIP/") != len(members):
        raise LabError(f"app_queue did not load the benchmark queue: {shown.strip()}")
    if "Queue(" not in await lab.asterisk.cli(f"dialplan show {APP_QUEUE_NUMBER}@{variables.CTX_INBOUND}"):
        raise LabError("the app_queue extension is not in the dialplan after the reload")


async def callers(lab: LabStack, number: str, calls: int, options: argparse.Namespace) -> SippResult:
    """Place `calls` calls at a steady rate, never more at once than there are operators less one."""
    assert lab.site
    return await run_callers(
        CALLER, "127.0.0.1", lab.site.asterisk.sip_port, number=number, calls=calls, rate=options.rate,
        concurrency=max(1, options.operators - 1), call_seconds=CALLER_PATIENCE_S,
        timeout=calls / options.rate + CALLER_PATIENCE_S + 30,
    )  # fmt: skip


async def settle(lab: LabStack, ours_next: bool) -> None:
    """No channel left, and (before our batch) every operator free in our engine's picture."""
    assert lab.site
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while await lab.channels():
        if loop.time() > deadline:
            raise LabError(f"channels still up after 30 s: {await lab.channels()}")
        await asyncio.sleep(0.1)
    if ours_next:
        users = [op.sip_user for op in lab.site.operators]
        await lab.wait_for(lambda: all(lab.platform_op_state(u) in FREE_STATES for u in users), 30, "operators free")


def batches(calls: int, rounds: int) -> list[int]:
    """`calls` split over `rounds` as evenly as can be (rounds alternate the two sides, so load drift hits both)."""
    rounds = max(1, min(rounds, calls))
    return [calls // rounds + (n < calls % rounds) for n in range(rounds)]


SIDES = {"ours": (HOTLINE, is_route_agi), "app_queue": (APP_QUEUE_NUMBER, is_queue_app(APP_QUEUE))}


async def place_calls(
    lab: LabStack, options: argparse.Namespace, stop: asyncio.Event
) -> tuple[dict[str, dict[str, int]], float]:
    """Warm up both sides, then alternate them in rounds; returns SIPp's counts and when the measured calls began."""
    for side, (number, _) in SIDES.items():  # the first AGI connection, the first app_queue call: not counted
        await settle(lab, ours_next=side == "ours")
        check_stop(stop)
        await callers(lab, number, options.warmup, options)
    await settle(lab, ours_next=True)
    measured_from = time.monotonic()  # the recorder stamps events with the same system-wide clock
    placed = {side: {"sipp_successful": 0, "failed": 0} for side in SIDES}
    for calls in batches(options.calls, options.rounds):
        for side, (number, _) in SIDES.items():
            await settle(lab, ours_next=side == "ours")
            check_stop(stop)
            result = await callers(lab, number, calls, options)
            placed[side]["sipp_successful"] += result.successful
            placed[side]["failed"] += result.failed
    await settle(lab, ours_next=False)
    return placed, measured_from


def check_stop(stop: asyncio.Event) -> None:
    """After Ctrl-C or SIGTERM, place no more calls: the signal's cancel is lost if it lands as SIPp exits (on
    Python 3.11, asyncio.wait_for returns the finished result instead of raising)."""
    if stop.is_set():
        raise asyncio.CancelledError


def side_figures(records: Sequence[Record], placed: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, Any]]:
    figures = {}
    for side, (_, starts) in SIDES.items():
        pairing = pair_latencies(records, starts)
        figures[side] = summary(pairing) | dict(placed[side])
        if side == "ours":  # Queue() starts music on every call (unless option r), so only ours tells a wait
            figures[side]["held"] = sum(x.held for x in pairing.latencies)
    return figures


async def run(options: argparse.Namespace, folder: Path, stop: asyncio.Event) -> dict[str, Any]:
    load_before = round(os.getloadavg()[0], 2)  # other work on this shared machine skews every figure
    data = site_data(folder, options.operators, options.recording)
    async with LabStack(folder, site_data=data) as lab:
        assert lab.site and lab.phones and lab.asterisk and lab.platform
        for op in lab.site.operators:
            await lab.phones.configure(op.sip_user, answer_after_s=options.answer, talk_s=options.talk)
        await install_app_queue(lab, options.queue_options)
        version = (await lab.asterisk.cli("core show version")).split()
        recorder = AmiRecorderProcess(lab.site, folder / "ami-events.jsonl", FOLLOWED)
        await recorder.start()
        try:
            placed, measured_from = await place_calls(lab, options, stop)
        finally:
            records = await recorder.stop()
        errors = list(lab.platform.errors)
    figures = side_figures([r for r in records if r[0] >= measured_from], placed)
    return figures["ours"] | {
        "app_queue": figures["app_queue"] | {"queue_options": options.queue_options},
        "operators": options.operators,
        "rate_per_s": options.rate,
        "rounds": len(batches(options.calls, options.rounds)),
        "answer_after_s": options.answer,
        "talk_s": options.talk,
        "recording": options.recording,
        "clock": "AMI Timestamp header (manager.conf timestampevents = yes)",
        "asterisk_version": version[1] if len(version) > 1 else "unknown",
        "platform_errors": errors[:10],
        "python": platform.python_version(),
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_1m_before": load_before,
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }


def table(figures: Mapping[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [("", "p50 ms", "p99 ms", "max ms", "calls", "no dial", "failed")]
    for name, side in (("ours (AGI -> Dial)", figures), ("app_queue (Queue -> Dial)", figures["app_queue"])):
        cells = (side["p50_ms"], side["p99_ms"], side["max_ms"], side["calls"], side["no_dial"], side["failed"])
        rows.append((name, *(str(cell) for cell in cells)))
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200, help="measured calls on each side (default 200)")
    parser.add_argument("--operators", type=int, default=6, help="operators' softphones (default 6)")
    parser.add_argument("--rate", type=float, default=3.0, help="calls a second (default 3)")
    parser.add_argument("--answer", type=float, default=0.2, help="seconds before a softphone answers (default 0.2)")
    parser.add_argument("--talk", type=float, default=0.5, help="seconds an operator talks (default 0.5)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured calls on each side first (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="alternate the two sides this many times (default 2)")
    parser.add_argument("--recording", action="store_true", help="record our calls (MixMonitor before the Dial)")
    parser.add_argument("--queue-options", default="", help="Queue() options, e.g. r: ringing instead of music")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (logs, configs, ami-events.jsonl)")
    parser.add_argument("--quiet", action="store_true", help="no table on stderr")
    options = parser.parse_args(argv)
    if options.operators < 2 or options.calls < 1 or options.rate <= 0 or options.warmup < 1:
        parser.error("need --operators >= 2, --calls >= 1, --warmup >= 1 and --rate > 0")
    return options


async def _main(options: argparse.Namespace) -> dict[str, Any]:
    main_task = asyncio.current_task()
    assert main_task is not None
    stop = asyncio.Event()

    def interrupt() -> None:
        # Cancel once: the lab stack then stops Asterisk, Redis, the softphones and SIPp on the way out.
        # A second Ctrl-C must not cancel that cleanup half-way.
        if not stop.is_set():
            stop.set()
            main_task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, interrupt)
    with contextlib.ExitStack() as cleanup:
        if options.keep is not None:
            folder = options.keep
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="acd-latency-")))
        figures = await run(options, folder, stop)
        check_stop(stop)  # a signal during the last batch or the cleanup: no figures from a cut run
        return figures


def main() -> int:
    options = parse_options()
    try:
        figures = asyncio.run(_main(options))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: everything started was stopped", file=sys.stderr)
        return 130
    if not options.quiet:
        print(table(figures), file=sys.stderr)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
