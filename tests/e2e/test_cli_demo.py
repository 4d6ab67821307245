"""`switchboard demo --json`, the main job, end to end: a real Asterisk, callers, operators and a campaign."""

from __future__ import annotations

import json

from tests.e2e.test_cli_site import run


def test_demo_answers_every_caller_runs_the_campaign_and_reports_it() -> None:
    """A short demo: inbound calls answered by qualified operators, the campaign dialled and reported, no errors."""
    out = run("demo", "--minutes", "0.4", "--json", timeout=400)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    inbound, outbound = report["inbound"], report["outbound"]
    assert inbound["answered"] > 0 and inbound["failed"] == 0 and report["errors"] == []
    assert all(queue["misrouted"] == 0 for queue in report["queues"].values())
    assert outbound["dialed"] > 0 and outbound["answered"] > 0
    assert outbound["abandon_rate"] <= 0.03
    refused = sum(outbound["refusals"].values())
    assert outbound["sales"] + refused == outbound["answered"] - outbound["abandoned"]
    assert set(outbound) >= {"dialed", "answered", "abandoned", "abandon_rate", "sales", "refusals"}
    assert report["recordings"] >= inbound["answered"]
