"""An AMI listener in a process of its own that keeps chosen events, each with the moment it read them.

For benchmarks: every AMI client in a process parses every event, and on the platform's event loop that parsing
(about half a millisecond a call) would be charged to the routing being measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from switchboard.ami.client import AmiClient, ConnectionChange
from switchboard.ami.framing import AmiMessage
from switchboard.config import Site
from switchboard.errors import LabError

# (time.monotonic() in the recorder when it read the event, the event)
AmiRecord = tuple[float, AmiMessage]


class AmiRecorderProcess:
    """`python -m switchboard.lab.ami_recorder OUT`: logs in as the site's runtime AMI user, writes the events named
    in `events` to OUT as JSON lines until stop() (its stdin closes), then stop() returns them in order."""

    def __init__(self, site: Site, out: Path, events: Iterable[str]) -> None:
        self.out = Path(out)
        self._stderr_path = self.out.with_name(self.out.name + ".stderr")
        self._config = {
            "host": str(site.asterisk.host),
            "port": site.asterisk.ami_port,
            "user": site.ami.user,
            "secret": site.ami.secret,  # on stdin: never on a command line that `ps` shows
            "events": sorted(events),
        }
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> AmiRecorderProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self, timeout: float = 15.0) -> None:
        """Start the recorder and wait until it is logged in and following events."""
        pipe = asyncio.subprocess.PIPE
        with self._stderr_path.open("wb") as stderr:  # a file: a pipe nobody reads could fill and stall it
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "switchboard.lab.ami_recorder",
                str(self.out),
                stdin=pipe,
                stdout=pipe,
                stderr=stderr,
            )
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(self._config).encode() + b"\n")
        await self.proc.stdin.drain()
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except TimeoutError:
            line = b""
        if line.strip() != b"ready":
            await self.stop()
            errors = self._stderr_path.read_text(errors="replace").strip()[-2000:]
            raise LabError(f"the AMI recorder did not start: {errors}")

    async def stop(self, timeout: float = 10.0) -> list[AmiRecord]:
        """Stop the recorder (killing it if it lingers) and return what it wrote."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            if proc.stdin is not None:
                with contextlib.suppress(ConnectionError):
                    proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        return read_records(self.out)


def read_records(path: Path) -> list[AmiRecord]:
    """The recorder's file: one JSON [seconds, [[key, value], ...]] a line; a torn last line is dropped."""
    records: list[AmiRecord] = []
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            at, headers = json.loads(line)
        except ValueError:
            continue
        records.append((float(at), AmiMessage(tuple((str(k), str(v)) for k, v in headers))))
    return records


async def _record(config: dict[str, Any], out: Path) -> None:
    wanted = frozenset(config["events"])
    client = AmiClient(config["host"], config["port"], config["user"], config["secret"], name="recorder")
    await client.connect()
    with out.open("w", encoding="utf-8") as file:
        print("ready", flush=True)

        async def collect() -> None:
            async for item in client.events():
                if not isinstance(item, ConnectionChange) and item.get("Event") in wanted:
                    file.write(json.dumps([time.monotonic(), item.headers]) + "\n")

        collecting = asyncio.create_task(collect())
        await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
        await client.close()
        await collecting


def main(argv: list[str]) -> int:
    config = json.loads(sys.stdin.readline())
    try:
        asyncio.run(_record(config, Path(argv[0])))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent cleans up
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
