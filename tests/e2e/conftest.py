"""Fixtures shared by the e2e tests: one real redis-server per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from switchboard.lab.redis import RedisProcess


@pytest_asyncio.fixture(scope="module")
async def redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A redis-server of the module's own (nothing saved), stopped after the module's last test."""
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    await server.start()
    yield server.url
    await server.stop()
