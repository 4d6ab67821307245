"""/health and /metrics over a real Redis, read back from what the platform (LiveState) and the dialer
(DialerBoard) write there, and still answering when Redis is gone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from switchboard import keys
from switchboard.events import PhoneStateChanged
from switchboard.live import LiveState
from switchboard.picture import Picture
from switchboard.web.app import create_app
from tests.console_support import console_site, prepare_store, start_redis

pytestmark = pytest.mark.e2e


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    process, url = start_redis(tmp_path / "redis")
    yield url
    process.terminate()
    process.wait(10)


def _publish(site_picture: Picture, url: str) -> None:
    """What `switchboard run` writes a few times a second, and one dialer's figures as DialerBoard writes them."""

    async def write() -> None:
        live = LiveState(url)
        await live.publish(site_picture, ami_connected=True)
        await live.close()

    asyncio.run(write())
    client = redis.Redis.from_url(url)
    payload = {"dial_level": 1.5, "abandon_rate": 0.012, "updated_at": 1.0}
    client.hset(keys.dialer("spring"), mapping={k: json.dumps(v) for k, v in payload.items()})
    client.close()


def test_metrics_and_health_read_the_live_state(tmp_path: Path, redis_url: str) -> None:
    """Calls waiting, operators by state, the dialer's figures and the AMI link, as the platform wrote them."""
    from fastapi.testclient import TestClient

    _path, site = console_site(tmp_path, redis_url=redis_url)
    prepare_store(site)
    picture = Picture(site)
    picture.login("op1001", 0.0)
    picture.apply(PhoneStateChanged("op1001", "INUSE", 0.0))  # on another call: the caller waits
    picture.route_call("c1", "+79120000001", "100", 0.0)
    _publish(picture, redis_url)
    app = create_app(site)
    with TestClient(app) as client:
        text = client.get("/metrics").text
        health = client.get("/health").json()
    app.state.ctx.engine.dispose()
    lines = set(text.splitlines())
    assert "switchboard_redis_up 1" in lines
    assert "switchboard_ami_connected 1" in lines
    assert 'switchboard_calls_waiting{queue="general"} 1' in lines
    assert any(line.startswith('switchboard_longest_wait_seconds{queue="general"} ') for line in lines)
    assert 'switchboard_operators{state="on_call"} 1' in lines
    assert 'switchboard_dial_level{campaign="spring"} 1.5' in lines
    assert 'switchboard_dialer_abandon_rate{campaign="spring"} 0.012' in lines
    assert health == {
        "status": "ok",
        "store": {"ok": True},
        "redis": {"ok": True},
        "ami": {"connected": True, "state": "connected", "updated_at": health["ami"]["updated_at"]},
    }


def test_without_redis_metrics_still_answer_with_redis_up_0(tmp_path: Path) -> None:
    """Redis down: /metrics is 200 with switchboard_redis_up 0; /health says degraded but answers 200."""
    from fastapi.testclient import TestClient

    _path, site = console_site(tmp_path)  # its Redis port has nothing listening
    prepare_store(site)
    app = create_app(site)
    with TestClient(app) as client:
        metrics = client.get("/metrics")
        health = client.get("/health")
    app.state.ctx.engine.dispose()
    assert metrics.status_code == 200
    assert metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "switchboard_redis_up 0" in metrics.text.splitlines()
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["redis"]["ok"] is False
