"""The demo's per-queue figures: the live picture's tallies, the same figures counted again from the SQL call
records to cross-check them, and the calls answered by an operator lacking the skills the call needed then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from acd import stats
from acd.skills import required_levels
from switchboard.config import Queue, Site
from switchboard.picture_moves import TIMED_OUT
from switchboard.store.calls import CallRecord

# Ratios from two sources agree exactly (same floats); ASA is a mean of the same waits, summed in another order.
TOLERANCE = 1e-6


def tally_from_records(records: Iterable[CallRecord], queue: Queue) -> stats.QueueTally:
    """A queue's tally counted from finished call records (what the picture's tally should hold)."""
    tally = stats.QueueTally()
    for record in records:
        if record.queue != queue.name:
            continue
        tally = stats.offered(tally)
        if record.answered_at is not None:
            tally = stats.answered(tally, record.answered_at - record.started_at, queue.sl_seconds)
        elif record.outcome == "abandoned" and record.ended_at is not None:
            tally = stats.abandoned(tally, record.ended_at - record.started_at, queue.sl_seconds)
        elif record.outcome in TIMED_OUT:
            tally = stats.timed_out(tally)
        if record.answered_at is not None and record.ended_at is not None:
            tally = stats.completed(tally, record.ended_at - record.answered_at, float(queue.wrapup_s))
    return tally


def is_misrouted(record: CallRecord, site: Site) -> bool:
    """Answered by an operator short of a level the call required at the answer moment (widening applied)."""
    if record.answered_at is None or record.operator is None or record.queue is None:
        return False
    call = site.queue(record.queue).rule().call(record.id, record.hotline or "", record.started_at)
    try:
        skills: Mapping[str, int] = site.operator(record.operator).skills
    except KeyError:
        return True  # answered by someone who is no operator of this site
    return any(skills.get(skill, 0) < level for skill, level in required_levels(call, record.answered_at).items())


def queue_figures(
    site: Site, tallies: Mapping[str, stats.QueueTally], records: list[CallRecord]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Per queue: service level, ASA and abandon rate from the live tallies, with counts and misrouted calls;
    and the disagreements between the tallies and the records (empty when they agree)."""
    figures: dict[str, dict[str, Any]] = {}
    disagreements: list[str] = []
    for queue in site.queues:
        live = tallies.get(queue.name, stats.QueueTally())
        counted = tally_from_records(records, queue)
        shown, check = stats.figures(live), stats.figures(counted)
        for name in ("service_level", "asa_s", "abandon_rate"):
            if abs(getattr(shown, name) - getattr(check, name)) > TOLERANCE:
                disagreements.append(
                    f"queue {queue.name}: {name} {getattr(shown, name):.3f} live, {getattr(check, name):.3f} in SQL"
                )
        for name in ("offered", "answered", "abandoned"):
            if getattr(live, name) != getattr(counted, name):
                disagreements.append(
                    f"queue {queue.name}: {name} {getattr(live, name)} live, {getattr(counted, name)} in SQL"
                )
        figures[queue.name] = {
            "offered": live.offered,
            "answered": live.answered,
            "abandoned": live.abandoned,
            "service_level": round(shown.service_level, 3),
            "asa_s": round(shown.asa_s, 2),
            "abandon_rate": round(shown.abandon_rate, 3),
            "misrouted": sum(1 for r in records if r.queue == queue.name and is_misrouted(r, site)),
        }
    return figures, disagreements
