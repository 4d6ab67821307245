"""The demo's outbound campaign: a sample purchased list imported, dialled through the trunk into the lab's telephone
network (SIPp: the number's last digit says a person, busy or no answer), people bridged in to an operator in
session mode, and that operator's dispositions (sales and refusals with reasons) entered as a script would.
"""

from __future__ import annotations

import asyncio
import csv
import random
import secrets
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dialer.campaigns.settings import parse_campaign
from switchboard.lab.stack import LabStack
from switchboard.leads.importer import ImportOptions, import_leads
from switchboard.store.attempts import record_disposition
from switchboard.store.campaign_report import campaign_report
from switchboard.store.campaigns import save_campaign
from switchboard.store.schema import attempts, campaigns

CAMPAIGN = "Demo spring offer"
QUEUE = "outbound"
SKILL = "outbound"
SALES_USER = "op1099"
SALES_OPERATOR: dict[str, Any] = {"sip_user": SALES_USER, "name": "Olga Sales", "skills": {SKILL: 3}}
LEADS = 24
# The network's number plan: ...1 a person, ...2 busy, ...3 no answer.
LAST_DIGITS = "1" * 8 + "2" + "3"
REFUSALS = ("too_expensive", "other_provider", "not_interested", "no_need", "bad_time")


def outbound_site(data: dict[str, Any], network_port: int) -> dict[str, Any]:
    """The lab site with the campaign's queue, its operator (in session mode in the demo) and its dialer."""
    data = dict(data)
    data["skills"] = [*data["skills"], SKILL]
    data["queues"] = [*data["queues"], {"name": QUEUE, "requires": {SKILL: 1}, "wrapup_s": 2}]
    data["operators"] = [*data["operators"], dict(SALES_OPERATOR, secret=secrets.token_urlsafe(12))]
    data["trunk"] = dict(data["trunk"], port=network_port)
    # Predictive, as a real campaign would run: with no answers yet in its legal window it dials progressively.
    data["dialers"] = [
        {"campaign": CAMPAIGN, "queue": QUEUE, "method": "predictive", "ring_timeout_s": 15, "max_lines": 2}
    ]
    return data


def sample_list(folder: Path, rows: int = LEADS, seed: int = 7) -> Path:
    """A purchased list as a telephone operator sells it: semicolon CSV, Russian headers, numbers as typed."""
    rng = random.Random(seed)
    path = folder / "purchased-list.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["ФИО", "Телефон", "Город"])
        for n in range(rows):
            digits = f"916{rng.randrange(1000000):07d}"[:-1] + rng.choice(LAST_DIGITS)
            writer.writerow([f"Клиент {n + 1}", f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}", "Москва"])
    return path


async def start_campaign(lab: LabStack, folder: Path) -> dict[str, Any]:
    """Create the campaign, import the sample list, put its operator in session mode, and start dialling."""
    assert lab.platform and lab.phones and lab.site
    engine = lab.platform.store.engine
    settings = parse_campaign(
        {"name": CAMPAIGN, "hours": {"every_day": "00:00-24:00"}, "retry": {"busy": {"after": "1h"}}}
    )
    await asyncio.to_thread(save_campaign, engine, settings)
    with engine.begin() as conn:  # paused until its operator is in her bridge
        conn.execute(campaigns.update().where(campaigns.c.name == CAMPAIGN).values(status="paused"))
    path = sample_list(folder)
    report = await asyncio.to_thread(import_leads, engine, path, ImportOptions(campaign=CAMPAIGN))
    await lab.start_sessions([SALES_USER])
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.name == CAMPAIGN).values(status="active"))
    return {"rows": report.counts.rows, "imported": report.counts.imported}


async def enter_dispositions(lab: LabStack, rng: random.Random) -> None:
    """What the operator records after each conversation: a sale, or a refusal with its reason."""
    assert lab.platform
    engine = lab.platform.store.engine
    query = sa.select(attempts.c.id).where(attempts.c.result == "answered", attempts.c.disposition_id.is_(None))
    with engine.connect() as conn:
        pending = list(conn.execute(query).scalars())
    for attempt_id in pending:
        if rng.random() < 0.35:
            await asyncio.to_thread(record_disposition, engine, attempt_id, "sale")
        else:
            reason = rng.choice(REFUSALS)
            await asyncio.to_thread(record_disposition, engine, attempt_id, "refused", refusal_reason=reason)


async def finish_campaign(lab: LabStack, rng: random.Random, timeout: float = 60.0) -> dict[str, Any]:
    """Stop dialling, let the calls under way end, enter the last dispositions; the campaign's figures."""
    assert lab.platform and lab.phones
    engine = lab.platform.store.engine
    with engine.begin() as conn:
        conn.execute(campaigns.update().where(campaigns.c.name == CAMPAIGN).values(status="paused"))
    dialer = lab.platform.dialer
    await lab.wait_for(lambda: not dialer.inflight, timeout, "the campaign's calls over")
    await enter_dispositions(lab, rng)
    await lab.end_sessions([SALES_USER])
    figures = dialer.figures[CAMPAIGN]
    report = await asyncio.to_thread(campaign_report, engine, CAMPAIGN)
    totals = report["totals"]
    reasons = {r["code"]: r["count"] for r in totals["refusals"]["reasons"]}
    return {
        "dialed": figures.dialed,
        "answered": figures.answered,
        "abandoned": figures.abandoned,
        "abandon_rate": round(figures.abandoned / figures.answered, 4) if figures.answered else 0.0,
        "sales": totals["sales"],
        "refusals": reasons,
        "results": dict(sorted(figures.results.items())),
    }
