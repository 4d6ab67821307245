"""Our FastAGI server under real Asterisk: stalled or garbage clients never block calls, and failures are heard.

A handler that fails sends the caller to the fail extension, which plays a prompt: no dead air.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path

from agi_scripts.server import AgiSession
from asterisk_conf import variables
from switchboard.lab.sipp import run_callers
from switchboard.lab.stack import LabStack

CALLER = Path(__file__).resolve().parents[1] / "sipp" / "caller.xml"


async def _call(lab: LabStack, calls: int = 1) -> None:
    assert lab.site
    result = await run_callers(
        CALLER, "127.0.0.1", lab.site.asterisk.sip_port, number=lab.site.hotlines[0].number, calls=calls,
        rate=10, concurrency=calls, call_seconds=20, timeout=40,
    )  # fmt: skip
    assert result.all_successful, result


async def test_half_open_and_garbage_agi_clients_do_not_block_real_calls(lab: LabStack) -> None:
    """Ten clients stalled mid-header and one sending garbage; real hotline calls are routed meanwhile."""
    assert lab.site and lab.platform and lab.phones
    for op in lab.site.operators:
        await lab.phones.configure(op.sip_user, answer_after_s=0.2, talk_s=1.0, auto_answer=True)
    port = lab.site.fastagi.port
    stalled = []
    for _ in range(10):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"agi_network: yes\nagi_request: agi://127.0.0.1/route\nagi_chan")
        await writer.drain()
        stalled.append((reader, writer))
    _, garbage = await asyncio.open_connection("127.0.0.1", port)
    garbage.write(bytes(range(256)) * 64)
    await garbage.drain()
    try:
        await _call(lab, calls=3)
        await lab.wait_idle()
        await lab.platform.flush()
        assert [r.outcome for r in lab.platform.store.all_calls()] == ["answered"] * 3
    finally:
        for _, writer in [*stalled, (None, garbage)]:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    await lab.wait_for(lambda: lab.platform.agi.active_sessions == 0, 10, "AGI sessions to close")  # type: ignore[union-attr]


async def test_a_failing_route_script_sends_the_caller_to_the_fail_message(lab: LabStack) -> None:
    """When the route script raises, the caller hears the 'sorry' prompt from the fail context and is hung up."""
    assert lab.platform and lab.asterisk
    server = lab.platform.agi

    async def broken(session: AgiSession) -> None:
        await session.set_variable(variables.CALL_ID, "broken")
        raise RuntimeError("routing blew up")

    with _replaced_handler(server.handlers, variables.AGI_ROUTE, broken):
        await _call(lab)
        await lab.wait_idle()
    rows = _cdr_rows(lab.asterisk.conf_dir)
    assert rows, "no CDR written"
    row = rows[-1]  # cdr_csv: ..., lastapp at 7, ..., uniqueid, userfield last
    assert row[-1] == "routing-failed"  # set by the fail context just before its prompt
    assert row[7] in {"Playback", "Hangup"}


@contextlib.contextmanager
def _replaced_handler(handlers: dict[str, object], name: str, handler: object) -> Iterator[None]:
    original = handlers[name]
    handlers[name] = handler
    try:
        yield
    finally:
        handlers[name] = original


def _cdr_rows(conf_dir: Path) -> list[list[str]]:
    master = conf_dir / "log" / "cdr-csv" / "Master.csv"
    if not master.exists():
        return []
    with master.open(newline="", encoding="utf-8", errors="replace") as handle:
        return list(csv.reader(handle))
