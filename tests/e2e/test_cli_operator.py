"""`switchboard operator screen|dispose` as an operator's tools would run them: the screen pop of the campaign
call they are on (from the platform's live state in Redis and the store), and the disposition closing it."""

from __future__ import annotations

import json
from pathlib import Path

import redis

from switchboard import keys
from switchboard.lab.redis import RedisProcess
from switchboard.store.attempts import finish_attempt, record_attempt
from switchboard.store.calls import make_engine
from tests.e2e.test_cli_campaign import EXAMPLE, GOLDEN_SITE, LIST, NAME, WEDNESDAY_NOON, as_json, run


async def test_the_screen_pop_shows_the_lead_and_script_and_the_disposition_closes_the_attempt(tmp_path: Path) -> None:
    assert run(tmp_path, "campaign", "create", str(EXAMPLE), "--config", str(GOLDEN_SITE)).returncode == 0
    (tmp_path / "list.csv").write_text(LIST, encoding="utf-8")
    imported = run(tmp_path, "leads", "import", "list.csv", "--campaign", NAME, "--config", str(GOLDEN_SITE))
    assert imported.returncode == 0, imported.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    attempt = record_attempt(engine, 1, now=WEDNESDAY_NOON)
    finish_attempt(engine, attempt, "answered", now=WEDNESDAY_NOON + 60, operator="op1001", talk_s=50.0)
    server = RedisProcess(tmp_path / "redis")
    await server.start()
    try:
        site = tmp_path / "site.toml"
        site.write_text(f'redis_url = "{server.url}"\n' + GOLDEN_SITE.read_text(), encoding="utf-8")
        live = redis.Redis.from_url(server.url, decode_responses=True)
        call = {"operator": "op1001", "queue": "sales", "started_at": WEDNESDAY_NOON, "answered_at": WEDNESDAY_NOON}
        live.hset(keys.calls_in_progress(), f"switchboard-out-{attempt}", json.dumps(call))
        screen = as_json(run(tmp_path, "operator", "screen", "op1001", "--json", "--config", str(site)))
        assert screen["attempt_id"] == attempt and screen["campaign"] == NAME and screen["direction"] == "outbound"
        assert "Иван" in screen["script"] and screen["order_form"]["values"]["full_name"] == "Иванов Иван"
        idle = as_json(run(tmp_path, "operator", "screen", "op1002", "--json", "--config", str(site)))
        assert idle == {"operator": "op1002", "call": None}
        live.close()
    finally:
        await server.stop()
    dispose = ("operator", "dispose", str(attempt), "--config", str(GOLDEN_SITE))
    refused = run(tmp_path, *dispose, "refused", "--reason", "too_expensive", "--json")
    assert as_json(refused)["status"] == "done"
    again = run(tmp_path, *dispose, "nonsense")
    assert again.returncode == 1 and "already has a disposition" in again.stderr  # one disposition per attempt
