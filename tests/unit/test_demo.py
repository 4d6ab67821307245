"""The demo's pure parts: the callers' mix over hotlines and menu keys, queue figures from call records, misrouting.

The demo itself (a real Asterisk) runs in `make demo`; here only the figures it reports are pinned.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from acd import stats
from switchboard.config import Site, parse_site
from switchboard.demo import caller_rows, misrouted_total
from switchboard.demo_figures import is_misrouted, queue_figures, tally_from_records
from switchboard.store.calls import CallRecord


def _site() -> Site:
    data: dict[str, Any] = {
        "skills": ["general", "tax"],
        "ami": {"secret": "unit-test-secret", "admin_secret": "unit-test-admin"},
        "queues": [
            {"name": "general", "requires": {"general": 1}},
            {
                "name": "tax",
                "requires": {"tax": 1},
                "sl_seconds": 10,
                "steps": [{"after_s": 0, "min_level": 4}, {"after_s": 20, "min_level": 2}],
            },
        ],
        "hotlines": [
            {"number": "100", "queue": "general"},
            {"number": "111", "queue": "tax", "menu": {"2": "general", "1": "tax"}},
        ],
        "operators": [
            {"sip_user": "expert", "secret": "unit-test-secret", "name": "E", "skills": {"general": 1, "tax": 5}},
            {"sip_user": "novice", "secret": "unit-test-secret", "name": "N", "skills": {"general": 1, "tax": 2}},
            {"sip_user": "clerk", "secret": "unit-test-secret", "name": "C", "skills": {"general": 3}},
        ],
    }
    return parse_site(data)


def _call(
    n: int, queue: str, operator: str | None, wait: float | None, outcome: str, ended: float = 60.0
) -> CallRecord:
    answered = 1000.0 + wait if wait is not None else None
    return CallRecord(
        id=f"c{n}", uniqueid=f"u{n}", direction="inbound", caller="5550000", hotline="111", queue=queue,
        operator=operator, started_at=1000.0, answered_at=answered, ended_at=1000.0 + ended, outcome=outcome,
    )  # fmt: skip


def test_callers_take_turns_over_hotlines_and_every_menu_key_and_pressing_nothing() -> None:
    """Each round dials every hotline; a menu hotline gets each of its keys and one caller who presses nothing."""
    rows = caller_rows(_site(), 10)
    assert len(rows) == 10
    assert rows[:4] == [
        {"number": "100", "digits": ""},
        {"number": "111", "digits": "1"},
        {"number": "111", "digits": "2"},
        {"number": "111", "digits": ""},
    ]
    assert Counter(row["number"] for row in rows) == {"100": 3, "111": 7}


def test_a_call_answered_before_widening_needs_the_specialist_level() -> None:
    """At 5 s the tax queue asks level 4: the expert qualifies, the level-2 novice does not."""
    site = _site()
    assert not is_misrouted(_call(1, "tax", "expert", 5, "answered"), site)
    assert is_misrouted(_call(2, "tax", "novice", 5, "answered"), site)


def test_after_widening_the_lower_level_qualifies_but_never_someone_without_the_skill() -> None:
    """At 25 s level 2 is enough; an operator without tax stays misrouted, and so does an unknown operator."""
    site = _site()
    assert not is_misrouted(_call(1, "tax", "novice", 25, "answered"), site)
    assert is_misrouted(_call(2, "tax", "clerk", 25, "answered"), site)
    assert is_misrouted(_call(3, "tax", "op9999", 25, "answered"), site)


def test_unanswered_calls_are_never_misrouted() -> None:
    """Only an answer can be misrouted: abandons and calls without an operator are not."""
    site = _site()
    assert not is_misrouted(_call(1, "tax", "clerk", None, "abandoned"), site)
    assert not is_misrouted(_call(2, "tax", None, None, "no_operator"), site)


def test_tally_from_records_counts_service_level_asa_and_abandons() -> None:
    """Answered in 4 s and 16 s (target 10 s), one abandon at 30 s, one timeout: SL 1/3, ASA 10 s, abandons 1/3."""
    records = [
        _call(1, "tax", "expert", 4, "answered"),
        _call(2, "tax", "expert", 16, "answered"),
        _call(3, "tax", None, None, "abandoned", ended=30),
        _call(4, "tax", None, None, "timeout"),
        _call(5, "general", "clerk", 1, "answered"),
    ]
    tally = tally_from_records(records, _site().queue("tax"))
    assert (tally.offered, tally.answered, tally.answered_in_sl, tally.abandoned, tally.timed_out) == (4, 2, 1, 1, 1)
    figures = stats.figures(tally)
    assert (round(figures.service_level, 3), figures.asa_s, round(figures.abandon_rate, 3)) == (0.333, 10.0, 0.333)


def test_queue_figures_come_from_the_live_tallies_and_report_where_sql_disagrees() -> None:
    """Tallies that match the records give no disagreement; a tally that missed an answer is reported."""
    site = _site()
    records = [_call(1, "tax", "expert", 4, "answered"), _call(2, "tax", "novice", 5, "answered")]
    tax = stats.answered(stats.answered(stats.offered(stats.offered(stats.QueueTally())), 4, 10), 5, 10)
    figures, disagreements = queue_figures(site, {"tax": tax}, records)
    assert disagreements == []
    assert figures["tax"] == {
        "offered": 2, "answered": 2, "abandoned": 0, "service_level": 1.0, "asa_s": 4.5, "abandon_rate": 0.0,
        "misrouted": 1,
    }  # fmt: skip
    assert figures["general"]["misrouted"] == 0
    assert misrouted_total({"queues": figures}) == 1
    short = stats.answered(stats.offered(stats.QueueTally()), 4, 10)
    _, disagreements = queue_figures(site, {"tax": short}, records)
    assert any("answered 1 live, 2 in SQL" in text for text in disagreements)
