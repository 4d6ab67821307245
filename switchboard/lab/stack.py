"""The whole lab in one place: Redis, Asterisk from our rendered configs, the platform, and operators' softphones.

`make demo` and the integration tests start the same stack; it stops everything it started, even on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from switchboard.config import Site
from switchboard.errors import LabError
from switchboard.lab.asterisk import AsteriskProcess
from switchboard.lab.redis import RedisProcess
from switchboard.lab.sipp import SippResult, run_callers
from switchboard.lab.site import lab_site_dict, write_lab_site
from switchboard.lab.softphone import SoftphoneBank
from switchboard.picture import FREE_STATES
from switchboard.platform import Platform

log = logging.getLogger("switchboard.lab")


class LabStack:
    """Start with `async with LabStack(folder) as lab:`; everything is on free loopback ports under `folder`."""

    def __init__(self, folder: Path, *, operators: int = 3, site_data: dict[str, Any] | None = None) -> None:
        self.folder = Path(folder)
        self.operators = operators
        self.site_data = site_data
        self.redis = RedisProcess(self.folder / "redis")
        self.site: Site | None = None
        self.site_path: Path | None = None
        self.asterisk: AsteriskProcess | None = None
        self.platform: Platform | None = None
        self.phones: SoftphoneBank | None = None
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> LabStack:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _start(self) -> None:
        await self.redis.start()
        self._stack.push_async_callback(self.redis.stop)
        data = self.site_data or lab_site_dict(self.folder, operators=self.operators)
        data["redis_url"] = self.redis.url
        self.site_path, self.site = write_lab_site(self.folder, data)
        self.asterisk = AsteriskProcess(self.site, self.folder / "asterisk")
        await self.asterisk.start()
        self._stack.push_async_callback(self.asterisk.stop)
        self.platform = Platform(self.site)
        await self.platform.start()
        self._stack.push_async_callback(self.platform.stop)
        self.phones = SoftphoneBank()
        await self.phones.start()
        self._stack.push_async_callback(self.phones.stop)
        await self.register_all()

    async def hotline_caller(self, *, call_seconds: float, timeout: float, scenario: str = "caller.xml") -> SippResult:
        """One SIPp caller to the site's first hotline: with caller.xml it talks `call_seconds` once answered (or
        waits as long in the queue), then hangs up."""
        assert self.site, "the lab is not started"
        return await run_callers(
            scenario, "127.0.0.1", self.site.asterisk.sip_port, number=self.site.hotlines[0].number,
            calls=1, rate=1, concurrency=1, call_seconds=call_seconds, timeout=timeout,
        )  # fmt: skip

    async def register_all(self, timeout: float = 15.0) -> None:
        """Register every operator's softphone and wait until the platform sees each phone free."""
        assert self.site and self.phones
        registrar = f"127.0.0.1:{self.site.asterisk.sip_port}"
        for op in self.site.operators:
            await self.phones.register(op.sip_user, op.secret, registrar, display=op.name)
            assert self.platform
            self.platform.operator_command(op.sip_user, "login", "", self.platform.clock())
        await self.wait_for(
            lambda: all(self.platform_op_state(op.sip_user) in FREE_STATES for op in self.site.operators),
            timeout,
            "operators' phones free in the platform's picture",
        )

    def platform_op_state(self, sip_user: str) -> str:
        assert self.platform
        return self.platform.picture.operators[sip_user].phone_state

    async def wait_for(self, predicate: Any, timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise LabError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.05)

    async def start_sessions(self, users: Iterable[str], timeout: float = 15.0) -> None:
        """The operators' softphones dial *46 and stay in their holding bridges (session mode) until ended."""
        assert self.platform and self.phones and self.site
        users = list(users)
        for user in users:
            await self.phones.configure(user, answer_after_s=0.2, talk_s=None, auto_answer=True)
            await self.phones.dial(user, f"sip:*46@127.0.0.1:{self.site.asterisk.sip_port}")
        operators = self.platform.picture.operators
        await self.wait_for(lambda: all(operators[user].session for user in users), timeout, "session mode")

    async def end_sessions(self, users: Iterable[str], timeout: float = 15.0) -> None:
        """The softphones hang up their holding bridges; the platform sees them back in ring mode."""
        assert self.platform and self.phones
        users = list(users)
        for user in users:
            await self.phones.hangup(user)
        operators = self.platform.picture.operators
        await self.wait_for(lambda: not any(operators[user].session for user in users), timeout, "sessions over")

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """No call in progress in the picture and no channel left in Asterisk."""
        assert self.platform
        await self.wait_for(lambda: not self.platform.picture.calls, timeout, "calls to end")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self.channels():
            if loop.time() > deadline:
                raise LabError(f"channels still up after {timeout}s: {await self.channels()}")
            await asyncio.sleep(0.1)

    async def channels(self) -> list[str]:
        assert self.platform
        return [item.get("Channel") or "" for item in await self.platform.ami.list_action("CoreShowChannels")]

    async def leaks(self) -> list[str]:
        """What a finished test must not leave behind: live channels, open AGI sessions."""
        assert self.platform
        found = [f"channel {name}" for name in await self.channels()]
        if self.platform.agi.active_sessions:
            found.append(f"{self.platform.agi.active_sessions} open AGI sessions")
        return found
