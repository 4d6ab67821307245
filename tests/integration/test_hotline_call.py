"""The first end-to-end path on the real Asterisk: SIPp caller -> hotline -> FastAGI route -> operator softphone.

Each call is recorded with MixMonitor, and its call record is written from the AMI events.
"""

from __future__ import annotations

from pathlib import Path

from switchboard.lab.sipp import run_callers
from switchboard.lab.stack import LabStack

CALLER = Path(__file__).resolve().parents[1] / "sipp" / "caller.xml"
HOSTILE = ['"', ";", "&", "|", "`", "$(id)", "${SHELL(id)}", "1;Dial(PJSIP/op1002)", "a\"b'c"]


def _as_asterisk_reads_it(caller: str) -> str:
    """PJSIP cuts the user part at ';' (user options such as ;isub=) and AGI says "unknown" for an empty one."""
    return caller.split(";", 1)[0] or "unknown"


async def _configure(lab: LabStack, talk_s: float = 2.0) -> None:
    assert lab.site and lab.phones
    for op in lab.site.operators:
        await lab.phones.configure(op.sip_user, answer_after_s=0.3, talk_s=talk_s, auto_answer=True)


async def test_hotline_call_reaches_an_operator_is_recorded_and_written(lab: LabStack) -> None:
    """A caller dials the hotline, an operator's softphone answers, a recording and a call record exist."""
    assert lab.site and lab.platform
    await _configure(lab)
    hotline = lab.site.hotlines[0].number
    result = await run_callers(
        CALLER, "127.0.0.1", lab.site.asterisk.sip_port, number=hotline, calls=1, rate=1, concurrency=1,
        call_seconds=20, injection_rows=[{"caller_number": "+15550001234", "caller_name": "Jane Caller"}], timeout=40,
    )  # fmt: skip
    assert result.all_successful, result
    await lab.wait_idle()
    await lab.platform.flush()
    [record] = lab.platform.store.all_calls()
    assert record.caller == "+15550001234"
    assert record.hotline == hotline
    assert record.operator in {op.sip_user for op in lab.site.operators}
    assert record.outcome == "answered"
    assert record.started_at <= record.answered_at <= record.ended_at  # type: ignore[operator]
    assert record.recording and Path(record.recording).is_file()
    assert Path(record.recording).parent == lab.site.recordings_path
    assert Path(record.recording).stat().st_size > 44  # more than a WAV header: audio was bridged


async def test_several_callers_each_reach_a_different_free_operator(lab: LabStack) -> None:
    """Three callers at once are spread over three operators; nobody is offered two calls."""
    assert lab.site and lab.platform
    await _configure(lab, talk_s=3.0)
    result = await run_callers(
        CALLER, "127.0.0.1", lab.site.asterisk.sip_port, number=lab.site.hotlines[0].number, calls=3, rate=20,
        concurrency=3, call_seconds=20, timeout=40,
    )  # fmt: skip
    assert result.all_successful, result
    await lab.wait_idle()
    await lab.platform.flush()
    records = lab.platform.store.all_calls()
    assert len(records) == 3
    assert all(r.outcome == "answered" for r in records)
    assert len({r.operator for r in records}) == 3


async def test_hostile_caller_ids_never_reach_a_dial_string(lab: LabStack) -> None:
    """Caller IDs with quotes, ';', '&', '|', backticks, $( or ${SHELL(id)} are kept as data and dial nobody else."""
    assert lab.site and lab.platform
    await _configure(lab, talk_s=0.5)
    rows = [{"caller_number": text} for text in HOSTILE]
    result = await run_callers(
        CALLER, "127.0.0.1", lab.site.asterisk.sip_port, number=lab.site.hotlines[0].number, calls=len(rows), rate=2,
        concurrency=1, call_seconds=20, injection_rows=rows, timeout=90,
    )  # fmt: skip
    assert result.all_successful, result
    await lab.wait_idle()
    await lab.platform.flush()
    records = lab.platform.store.all_calls()
    assert sorted(r.caller for r in records) == sorted(_as_asterisk_reads_it(text) for text in HOSTILE)
    operators = {op.sip_user for op in lab.site.operators}
    assert all(r.outcome == "answered" and r.operator in operators for r in records)
    log = (lab.asterisk.conf_dir / "log" / "messages").read_text(errors="replace")  # type: ignore[union-attr]
    assert "uid=" not in log  # $(id) and ${SHELL(id)} were never run


async def test_unknown_number_hears_no_service_and_routes_nobody(lab: LabStack) -> None:
    """Digits that are no hotline (even hostile ones) get the no-service prompt; no AGI, no call record."""
    assert lab.site and lab.platform
    result = await run_callers(
        CALLER, "127.0.0.1", lab.site.asterisk.sip_port, number="5550000", calls=2, rate=5, concurrency=2,
        call_seconds=20, injection_rows=[{"number": "5550000"}, {"number": "1${SHELL(id)}"}], timeout=40,
    )  # fmt: skip
    assert result.successful + result.failed == 2
    await lab.wait_idle()
    await lab.platform.flush()
    assert lab.platform.store.all_calls() == []


async def test_nobody_free_plays_all_busy_and_records_no_operator(lab: LabStack) -> None:
    """With every phone unregistered, the caller hears the all-busy prompt and the record says no_operator."""
    assert lab.site and lab.platform and lab.phones
    for op in lab.site.operators:
        await lab.phones.unregister(op.sip_user)
    await lab.wait_for(
        lambda: all(lab.platform_op_state(op.sip_user) == "UNAVAILABLE" for op in lab.site.operators),  # type: ignore[union-attr]
        15, "phones unavailable",
    )  # fmt: skip
    try:
        result = await run_callers(
            CALLER, "127.0.0.1", lab.site.asterisk.sip_port, number=lab.site.hotlines[0].number, calls=1, rate=1,
            concurrency=1, call_seconds=20, timeout=40,
        )  # fmt: skip
        assert result.all_successful, result
        await lab.wait_idle()
        await lab.platform.flush()
        [record] = lab.platform.store.all_calls()
        assert record.outcome == "no_operator"
        assert record.operator is None
        assert record.recording is None
    finally:
        await lab.register_all()
