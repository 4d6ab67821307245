"""The campaign report over seeded attempts: every figure equals a count made directly from what was seeded.

Attempts go through the store's own calls (record, finish, disposition, score) with random results, operators,
dispositions, refusal reasons and scores; the expected report is counted in Python from the seeded records.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dialer.campaigns.model import DEFAULT_DISPOSITIONS, DEFAULT_REFUSAL_REASONS
from switchboard.errors import AttemptRefusedError
from switchboard.store.attempts import finish_attempt, record_attempt, record_disposition, score_attempt
from switchboard.store.campaign_report import campaign_report
from switchboard.store.schema import lead_lists, leads
from tests.integration.leads.campaign_helpers import T0, add_leads, make_campaign

RESULTS = ["answered"] * 5 + ["no_answer"] * 3 + ["busy", "machine", "failed", "abandoned", "congestion", "cancelled"]
OPERATORS = ["anna", "boris", "vera"]
FLAGS = {d.code: d for d in DEFAULT_DISPOSITIONS}
LABELS = {r.code: r.label for r in DEFAULT_REFUSAL_REASONS}
REASONS = [r.code for r in DEFAULT_REFUSAL_REASONS if not r.dnc] * 6 + ["do_not_call"]  # few leave for good
LISTS = {"весна.csv": 36, "осень.csv": 24, "пусто.csv": 0}


@dataclass
class Seeded:
    """One attempt as the test made it."""

    list_name: str
    started_at: float
    result: str | None = None
    operator: str | None = None
    talk_s: float | None = None
    code: str | None = None
    reason: str | None = None
    score: int | None = None


def seed(engine: Engine, seed_number: int, zone: str) -> list[Seeded]:
    rng = random.Random(seed_number)
    cid = make_campaign(
        engine,
        default_zone=zone,
        hours={"every_day": "00:00-24:00"},
        max_attempts=40,
        max_attempts_per_day=40,
        retry={r: {"after": "0s"} for r in ("no_answer", "busy", "machine", "failed", "abandoned", "congestion")},
        dispositions=[
            {"code": d.code, "label": d.label, "retry_after": "0s"}
            | {k: getattr(d, k) for k in ("success", "contact", "final", "callback", "dnc", "refusal")}
            for d in DEFAULT_DISPOSITIONS
            if not d.callback
        ],
    )
    lead_list: dict[int, str] = {}
    for i, (name, size) in enumerate(LISTS.items()):
        phones = [f"+7912{seed_number:02d}{i}{n:04d}" for n in range(size)]
        for lead_id in add_leads(engine, cid, name, phones, zones=(rng.choice(["Europe/Moscow", "Asia/Omsk"]),)):
            lead_list[lead_id] = name
    seeded: list[Seeded] = []
    at = T0 - 2 * 86400
    refused = 0
    while len(seeded) < 220:
        at += rng.choice([60.0, 600.0, 1800.0, 3600.0, 5400.0])  # crosses hours, days and clock changes
        lead_id = rng.choice(list(lead_list))
        try:
            attempt_id = record_attempt(engine, lead_id, now=at)
        except AttemptRefusedError:
            refused += 1  # done, do-not-call or in progress: the dialer would pick another lead
            assert refused < 5000, "the seed ran out of leads to call"
            continue
        seeded.append(made := Seeded(lead_list[lead_id], at))
        if rng.random() < 0.03:
            continue  # still on the call when the report is made
        made.result = rng.choice(RESULTS)
        if made.result == "answered":
            made.operator = rng.choice(OPERATORS)
            made.talk_s = rng.randrange(0, 1200) / 4  # quarter seconds: sums are exact in binary
        finish_attempt(engine, attempt_id, made.result, now=at + 30, operator=made.operator, talk_s=made.talk_s)
        if made.result == "answered" and rng.random() < 0.85:
            made.code = rng.choice(["sale", "refused", "refused", "thinking", "not_available", "wrong_number"])
            made.reason = rng.choice(REASONS) if FLAGS[made.code].refusal else None
            record_disposition(engine, attempt_id, made.code, refusal_reason=made.reason, now=at + 40)
        if made.operator and rng.random() < 0.5:
            made.score = rng.randint(1, 5)
            score_attempt(engine, attempt_id, made.score)
    return seeded


def ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def figures(attempts: list[Seeded], statuses: Counter[str]) -> dict[str, Any]:
    """A scope's figures, counted one attempt at a time."""
    contacts = sum(1 for a in attempts if a.code and FLAGS[a.code].contact)
    sales = sum(1 for a in attempts if a.code and FLAGS[a.code].success)
    reasons = Counter(a.reason for a in attempts if a.reason)
    refused = sum(reasons.values())
    return {
        "leads": sum(statuses.values()),
        "leads_by_status": dict(sorted(statuses.items())),
        "attempts": len(attempts),
        "answered": sum(1 for a in attempts if a.result == "answered"),
        "contacts": contacts,
        "sales": sales,
        "conversion": ratio(sales, contacts),
        "talk_s": round(sum(a.talk_s or 0.0 for a in attempts), 1),
        "outcomes": dict(sorted(Counter(a.result or "pending" for a in attempts).items())),
        "dispositions": dict(sorted(Counter(a.code for a in attempts if a.code).items())),
        "refusals": {
            "total": refused,
            "reasons": sorted(
                (
                    {"code": code, "label": LABELS[code], "count": n, "share": ratio(n, refused)}
                    for code, n in reasons.items()
                ),
                key=lambda r: (-r["count"], r["code"]),
            ),
        },
    }


def expected_report(seeded: list[Seeded], statuses: dict[str, Counter[str]], zone: str) -> dict[str, Any]:
    by_operator: dict[str, list[Seeded]] = defaultdict(list)
    for a in seeded:
        if a.operator:
            by_operator[a.operator].append(a)
    operators = []
    for name in sorted(by_operator):
        mine = by_operator[name]
        contacts = sum(1 for a in mine if a.code and FLAGS[a.code].contact)
        sales = sum(1 for a in mine if a.code and FLAGS[a.code].success)
        scores = [a.score for a in mine if a.score is not None]
        operators.append(
            {
                "operator": name,
                "calls": len(mine),
                "talk_s": round(sum(a.talk_s or 0.0 for a in mine), 1),
                "contacts": contacts,
                "sales": sales,
                "conversion": ratio(sales, contacts),
                "scored": len(scores),
                "average_score": round(sum(scores) / len(scores), 2) if scores else None,
            }
        )
    hours = [{"hour": h, "attempts": 0, "answered": 0, "contacts": 0, "sales": 0} for h in range(24)]
    for a in seeded:
        hour = hours[dt.datetime.fromtimestamp(a.started_at, zoneinfo.ZoneInfo(zone)).hour]
        hour["attempts"] += 1
        hour["answered"] += a.result == "answered"
        hour["contacts"] += bool(a.code and FLAGS[a.code].contact)
        hour["sales"] += bool(a.code and FLAGS[a.code].success)
    every: Counter[str] = Counter()
    for counts in statuses.values():
        every.update(counts)
    return {
        "campaign": "Весна",
        "zone": zone,
        "totals": figures(seeded, every),
        "lists": [
            {"name": name} | figures([a for a in seeded if a.list_name == name], statuses[name]) for name in LISTS
        ],
        "operators": operators,
        "hours": hours,
    }


def lead_statuses(engine: Engine) -> dict[str, Counter[str]]:
    """Where each lead stands, read row by row (the rules put them there; the report only counts them)."""
    query = sa.select(lead_lists.c.name, leads.c.status).join(lead_lists, lead_lists.c.id == leads.c.list_id)
    found: dict[str, Counter[str]] = {name: Counter() for name in LISTS}
    with engine.connect() as conn:
        for list_name, status in conn.execute(query):
            found[list_name][status] += 1
    return found


@pytest.mark.parametrize(
    ("seed_number", "zone"),
    [(1, "Europe/Moscow"), (2, "Asia/Kolkata"), (3, "America/New_York")],  # whole, half-hour and clock-changing
)
def test_every_report_figure_equals_a_direct_count(engine: Engine, seed_number: int, zone: str) -> None:
    seeded = seed(engine, seed_number, zone)
    assert len(seeded) > 150 and any(a.reason for a in seeded) and any(a.code == "sale" for a in seeded)
    report = campaign_report(engine, "Весна")
    expected = expected_report(seeded, lead_statuses(engine), zone)
    for part in ("totals", "lists", "operators", "hours"):
        assert report[part] == expected[part], part
    assert report == expected
    totals = report["totals"]
    assert sum(lst["attempts"] for lst in report["lists"]) == totals["attempts"] == sum(totals["outcomes"].values())
    assert sum(h["attempts"] for h in report["hours"]) == totals["attempts"]
    assert sum(op["calls"] for op in report["operators"]) == totals["answered"]
    assert sum(r["count"] for r in totals["refusals"]["reasons"]) == totals["dispositions"].get("refused", 0)


def test_a_campaign_without_attempts_reports_zeros(engine: Engine) -> None:
    make_campaign(engine)
    report = campaign_report(engine, "Весна")
    assert report["totals"]["attempts"] == 0 and report["totals"]["conversion"] is None
    assert report["operators"] == [] and sum(h["attempts"] for h in report["hours"]) == 0
