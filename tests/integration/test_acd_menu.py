"""The hotline menu on the real Asterisk: SIPp callers press a key (SIP INFO), Read() takes it, the route script
puts the call in that key's queue, and a qualified operator answers.

The lab site's second hotline has the menu {1: tax, 2: accounting}, default tax.
"""

from __future__ import annotations

from pathlib import Path

from acd.skills import required_levels
from switchboard.config import Hotline
from switchboard.demo_figures import is_misrouted
from switchboard.lab.sipp import run_callers
from switchboard.lab.stack import LabStack
from switchboard.store.calls import CallRecord

CALLER_MENU = Path(__file__).resolve().parents[1] / "sipp" / "caller_menu.xml"


def _menu_hotline(lab: LabStack) -> Hotline:
    assert lab.site
    return next(line for line in lab.site.hotlines if line.menu)


async def _call(lab: LabStack, keys: dict[str, str]) -> dict[str, CallRecord]:
    """One caller per key (caller number -> key, "" presses nothing) on the menu hotline; their records by caller."""
    assert lab.site and lab.platform and lab.phones
    for op in lab.site.operators:
        await lab.phones.configure(op.sip_user, answer_after_s=0.3, talk_s=1.0, auto_answer=True)
    number = _menu_hotline(lab).number
    rows = [{"number": number, "caller_number": caller, "digits": key} for caller, key in keys.items()]
    result = await run_callers(
        CALLER_MENU, "127.0.0.1", lab.site.asterisk.sip_port, number=None, calls=len(rows), rate=5,
        concurrency=len(rows), call_seconds=30, injection_rows=rows, timeout=90,
    )  # fmt: skip
    assert result.all_successful, result
    await lab.wait_idle()
    await lab.platform.flush()
    records = {r.caller: r for r in lab.platform.store.all_calls()}
    assert set(records) == set(keys)
    return records


def _assert_answered_by_a_qualified_operator(lab: LabStack, record: CallRecord) -> None:
    assert lab.site and record.queue and record.operator and record.answered_at
    assert record.outcome == "answered"
    call = lab.site.queue(record.queue).rule().call(record.id, record.hotline or "", record.started_at)
    skills = lab.site.operator(record.operator).skills
    for skill, level in required_levels(call, record.answered_at).items():
        assert skills.get(skill, 0) >= level, (record, skill, level)
    assert not is_misrouted(record, lab.site)


async def test_keys_1_and_2_land_in_the_tax_and_accounting_queues_with_qualified_operators(lab: LabStack) -> None:
    """Pressing 1 queues the call for tax, 2 for accounting; each is answered by an operator holding that skill."""
    menu = _menu_hotline(lab).menu
    records = await _call(lab, {"+15550010001": "1", "+15550010002": "2"})
    assert records["+15550010001"].queue == menu["1"] == "tax"
    assert records["+15550010002"].queue == menu["2"] == "accounting"
    for record in records.values():
        _assert_answered_by_a_qualified_operator(lab, record)
    assert records["+15550010001"].operator != records["+15550010002"].operator


async def test_no_key_or_a_wrong_key_goes_to_the_hotline_default_queue(lab: LabStack) -> None:
    """Pressing nothing (Read times out twice), a key not in the menu, or '*' (filtered out) queues for the default."""
    default = _menu_hotline(lab).queue
    records = await _call(lab, {"+15550020001": "", "+15550020002": "9", "+15550020003": "*"})
    for record in records.values():
        assert record.queue == default, record
        _assert_answered_by_a_qualified_operator(lab, record)
