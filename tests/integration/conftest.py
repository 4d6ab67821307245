"""Integration fixtures: one real lab stack per module, cleaned between tests, with a leak check after each.

Between tests: every channel hung up, Redis flushed, tables emptied (the wazo pattern).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa

from switchboard.lab.stack import LabStack
from switchboard.store.schema import metadata

log = logging.getLogger("switchboard.tests")
SIPP_DIR = Path(__file__).resolve().parents[1] / "sipp"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest_asyncio.fixture(scope="module")
async def lab_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LabStack]:
    async with LabStack(tmp_path_factory.mktemp("lab"), operators=3) as stack:
        yield stack


@pytest_asyncio.fixture
async def lab(lab_stack: LabStack, request: pytest.FixtureRequest) -> AsyncIterator[LabStack]:
    """The module's stack, clean at the start; the test fails if it leaves channels or AGI sessions behind."""
    assert lab_stack.asterisk and lab_stack.platform
    dialer = lab_stack.platform.dialer
    if dialer.campaigns:  # the tables were emptied: the ids the dialer cached may come back for new campaigns
        await lab_stack.wait_for(lambda: not dialer.campaigns, 10, "the dialer's cached campaigns forgotten")
    log.info("=== start %s", request.node.nodeid)
    _mark(lab_stack, f"START {request.node.nodeid}")
    yield lab_stack
    _mark(lab_stack, f"END {request.node.nodeid}")
    try:
        await lab_stack.wait_idle(timeout=20)
    except Exception:
        pass
    leaks = await lab_stack.leaks()
    await _clean(lab_stack)
    if leaks:
        pytest.fail(f"left behind after the test: {leaks}")


def _mark(lab: LabStack, text: str) -> None:
    """A line in Asterisk's own log (appended, as its logger does) so a failure can be read test by test."""
    assert lab.asterisk
    with (lab.asterisk.conf_dir / "log" / "messages").open("a", encoding="utf-8") as messages:
        messages.write(f"[switchboard-test] --- {text}\n")


async def _clean(lab: LabStack) -> None:
    assert lab.asterisk and lab.platform
    await lab.asterisk.cli("channel request hangup all", check=False)
    await lab.platform.flush()
    await lab.platform.live.redis.flushdb()
    with lab.platform.store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(sa.delete(table))
    lab.platform.picture.calls.clear()
    for key in lab.platform.picture.counters:
        lab.platform.picture.counters[key] = 0
