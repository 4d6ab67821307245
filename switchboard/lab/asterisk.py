"""A real Asterisk started unprivileged from our rendered configs, for tests and the demo.

It runs as `asterisk -C DIR/asterisk.conf -f -n`; the CLI is reached through its control socket.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
from pathlib import Path

from asterisk_conf.render import render_asterisk
from switchboard.config import Site
from switchboard.errors import LabError

log = logging.getLogger("switchboard.lab")
ASTERISK = shutil.which("asterisk") or "/usr/sbin/asterisk"


class AsteriskProcess:
    """One Asterisk, rendered into `conf_dir`; start, stop, kill -9 and restart it (or use it in `async with`)."""

    def __init__(self, site: Site, conf_dir: Path) -> None:
        self.site = site
        self.conf_dir = Path(conf_dir)
        self.conf_file = render_asterisk(site, self.conf_dir)
        self.proc: asyncio.subprocess.Process | None = None
        self._stderr = self.conf_dir / "log" / "stderr.log"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def __aenter__(self) -> AsteriskProcess:
        """`async with AsteriskProcess(site, folder) as asterisk:` starts it, and stops it however the block ends."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, timeout: float = 40.0) -> None:
        """Start Asterisk and wait until it is fully booted."""
        if self.running:
            return
        (self.conf_dir / "run").mkdir(exist_ok=True)
        stderr = self._stderr.open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                ASTERISK,
                "-C",
                str(self.conf_file),
                "-f",
                "-n",
                "-q",
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        finally:
            stderr.close()
        try:
            await asyncio.wait_for(self._wait_booted(), timeout)
        except TimeoutError:
            await self.kill()
            raise LabError(f"Asterisk did not boot within {timeout}s; see {self.conf_dir / 'log'}") from None
        log.info("asterisk started pid=%s conf=%s", self.proc.pid, self.conf_dir)

    async def _wait_booted(self) -> None:
        while True:
            if self.proc is None or self.proc.returncode is not None:
                raise LabError(f"Asterisk exited at start: {self.tail_log()}")
            out = await self.cli("core waitfullybooted", timeout=5.0, check=False)
            if "fully booted" in out.lower():
                return
            await asyncio.sleep(0.2)

    async def cli(self, command: str, *, timeout: float = 10.0, check: bool = True) -> str:
        """Run one CLI command through the control socket and return its output."""
        proc = await asyncio.create_subprocess_exec(
            ASTERISK,
            "-C",
            str(self.conf_file),
            "-rx",
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            if check:
                raise LabError(f"asterisk -rx {command!r} timed out") from None
            return ""
        text = out.decode(errors="replace")
        if check and proc.returncode != 0:
            raise LabError(f"asterisk -rx {command!r} failed: {text.strip()}")
        return text

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (core stop now), then terminate, then kill."""
        if not self.running:
            return
        self._signal(signal.SIGCONT)  # a test may have frozen it (SIGSTOP) to stall AMI
        await self.cli("core stop now", timeout=5.0, check=False)
        if not await self._wait_exit(timeout):
            self._signal(signal.SIGTERM)
            if not await self._wait_exit(5.0):
                await self.kill()

    async def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.running:
            self._signal(signal.SIGKILL)
            await self._wait_exit(10.0)
        # A killed Asterisk leaves its control socket behind; the next start replaces it.
        for leftover in (self.conf_dir / "run").glob("asterisk.*"):
            leftover.unlink(missing_ok=True)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def _signal(self, sig: int) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    async def _wait_exit(self, timeout: float) -> bool:
        assert self.proc is not None
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def tail_log(self, lines: int = 30) -> str:
        texts = []
        for name in ("stderr.log", "messages"):
            path = self.conf_dir / "log" / name
            if path.exists():
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts)
