"""Callers and a simulated telephone network for tests and the demo, played by SIPp on loopback.

run_callers() places calls (tests/sipp/caller*.xml); SippNetwork answers the trunk's calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import math
import os
import random
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from switchboard.errors import LabError

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "tests" / "sipp"

NUMBER_PLAN = """
SippNetwork's number plan, chosen by the LAST DIGIT of the dialed number (network_uas.xml):
  ...1  live answer: rings ring_s, answers, talks until either side hangs up (BYE after talk_s)
  ...2  busy: 486 Busy Here
  ...3  no answer: rings (180) until the caller gives up (CANCEL -> 200, 487)
  ...4  answering machine: answers after one ring and plays a long greeting, then as live
  ...5  network failure: 503 Service Unavailable
  ...6  number does not exist: 404 Not Found
  0, 7, 8, 9  live answer, as ...1
"""

# SIPp exit codes (sipp -h, 3.6): 0 all calls successful, 1 at least one failed,
# 97 stopped by an internal command, 99 normal exit without any call processed,
# -1 (255) fatal error, -2 (254) fatal error binding a socket.
EXIT_ALL_OK, EXIT_SOME_FAILED, EXIT_INTERNAL_STOP, EXIT_NO_CALLS = 0, 1, 97, 99
_COUNTED_EXITS = {EXIT_ALL_OK, EXIT_SOME_FAILED, EXIT_INTERNAL_STOP, EXIT_NO_CALLS}
# Fields of a SIP URI user part that need no escaping (RFC 3261 unreserved and '+').
_USER_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()+")
# What caller_menu.xml may press (field4): the sixteen DTMF keys.
DTMF_KEYS = "0123456789*#ABCD"


@dataclass(frozen=True)
class SippResult:
    """How a SIPp run ended: its call counts (from -trace_stat) and its exit code."""

    successful: int
    failed: int
    exit_code: int
    stats: Mapping[str, str] = field(default_factory=dict)
    errors: str = ""

    @property
    def all_successful(self) -> bool:
        return self.exit_code == EXIT_ALL_OK and self.failed == 0


def sipp_binary() -> str:
    """The sipp executable on PATH; LabError if SIPp is not installed."""
    found = shutil.which("sipp")
    if found is None:
        raise LabError("sipp is not installed (Debian package sip-tester; make setup installs it)")
    return found


def scenario_path(scenario: str | os.PathLike[str]) -> Path:
    """A scenario given by path, or by file name inside tests/sipp/."""
    path = Path(scenario)
    if not path.exists() and not path.is_absolute():
        path = SCENARIO_DIR / path
    if not path.is_file():
        raise LabError(f"no SIPp scenario at {path}")
    return path


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_media_port() -> int:
    """An even port whose next three are free too: SIPp binds RTP and RTCP for audio and video."""
    for _ in range(200):
        base = random.randrange(40000, 60000, 2)
        socks: list[socket.socket] = []
        try:
            for offset in range(4):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise LabError("no free block of four UDP ports for SIPp's media")


def sip_user(text: str) -> str:
    """Percent-encode a SIP URI user part; Asterisk decodes it back into the caller ID."""
    return "".join(c if c in _USER_SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def sip_display_name(text: str) -> str:
    """Escape a display name for use inside double quotes (RFC 3261 quoted-pair)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def injection_file(path: Path, rows: Sequence[Mapping[str, str]], number: str | None) -> None:
    """Write SIPp's -inf CSV: tag; dialed number; caller ID number; caller ID name; menu key (may be empty)."""
    lines = ["SEQUENTIAL"]
    for index, row in enumerate(rows or [{}], start=1):
        dialed = row.get("number", number)
        if dialed is None:
            raise LabError(f"injection row {index} has no number and run_callers got none")
        caller = row.get("caller_number", f"55501{index:05d}")
        name = row.get("caller_name", f"Lab caller {index}")
        # SIPp splits fields on ';' with no escape and reads a line per call; the numbers are
        # percent-encoded, but a display name has no such escape (put ';' in the number).
        if any(bad in name for bad in (";", "\r", "\n")):
            raise LabError(f"row {index}: a caller_name cannot hold ';' or a line break")
        digits = row.get("digits", "")
        # The key becomes a SIP INFO body line (Signal=<key>): one DTMF key, or none, and nothing else.
        if digits and (len(digits) != 1 or digits not in DTMF_KEYS):
            raise LabError(f"row {index}: digits must be one DTMF key ({DTMF_KEYS}) or empty, not {digits!r}")
        fields = [f"r{index}", sip_user(dialed), sip_user(caller), sip_display_name(name), digits]
        lines.append(";".join(fields) + ";")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_stats(path: Path) -> dict[str, str]:
    """The last row of a -trace_stat CSV (';'-separated, cumulative counters end in '(C)')."""
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        rows = [row for row in csv.reader(handle, delimiter=";") if row]
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))


def _count(stats: Mapping[str, str], name: str) -> int:
    value = stats.get(f"{name}(C)", "0").strip()
    return int(value) if value.isdigit() else 0


def _tail(path: Path, limit: int = 4000) -> str:
    if not path.exists():
        return ""
    return path.read_text(encoding="utf-8", errors="replace")[-limit:]


def _result(exit_code: int, workdir: Path) -> SippResult:
    stats = read_stats(workdir / "stats.csv")
    errors = _tail(workdir / "errors.log") + _tail(workdir / "stderr.log")
    # caller_hangup_early.xml polls with receive timeouts; SIPp logs each one. Not errors.
    errors = "\n".join(x for x in errors.splitlines() if "receive timeout on message" not in x)
    if exit_code not in _COUNTED_EXITS:
        raise LabError(f"sipp failed (exit {exit_code}): {errors.strip()[-1500:]}")
    successful = _count(stats, "SuccessfulCall")
    return SippResult(successful, _count(stats, "FailedCall"), exit_code, stats, errors)


def _common_args(scenario: Path, workdir: Path) -> list[str]:
    return [
        sipp_binary(), "-sf", str(scenario), "-i", "127.0.0.1", "-mi", "127.0.0.1",
        "-p", str(free_udp_port()), "-mp", str(free_media_port()), "-rtp_echo", "-nostdin",
        "-trace_stat", "-stf", str(workdir / "stats.csv"), "-fd", "1",
        "-trace_err", "-error_file", str(workdir / "errors.log"),
        "-trace_screen", "-screen_file", str(workdir / "screen.log"),
    ]  # fmt: skip


async def _spawn(args: Sequence[str], workdir: Path) -> asyncio.subprocess.Process:
    with (workdir / "stderr.log").open("wb") as stderr:
        return await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
            cwd=workdir,  # SIPp drops any trace file we did not name into its cwd
        )


async def _reap(proc: asyncio.subprocess.Process, grace: float) -> int:
    """Wait for SIPp; SIGTERM then SIGKILL if it outstays the grace period."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None and proc.returncode is None:
            proc.send_signal(sig)
        try:
            return await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            continue
    return await proc.wait()


async def run_callers(
    scenario: str | os.PathLike[str],
    target_host: str,
    target_port: int,
    *,
    number: str | None,
    calls: int,
    rate: float,
    concurrency: int,
    call_seconds: float,
    injection_rows: Sequence[Mapping[str, str]] | None = None,
    timeout: float,
    workdir: str | os.PathLike[str] | None = None,
) -> SippResult:
    """Place `calls` calls at `rate` a second, at most `concurrency` at once, and count them.

    Each injection row may set "number" (dialed), "caller_number", "caller_name" and "digits"
    (the menu key caller_menu.xml presses; other scenarios ignore it); rows are used in turn.
    call_seconds is the talk time (caller.xml) or the time before the caller gives up
    (caller_hangup_early.xml). SIPp itself stops after `timeout` seconds.
    """
    path = scenario_path(scenario)
    with _workspace(workdir) as work:
        injection_file(work / "calls.csv", list(injection_rows or []), number)
        call_ms = str(max(1, round(call_seconds * 1000)))
        args = [
            *_common_args(path, work),
            f"{target_host}:{target_port}",
            "-inf", str(work / "calls.csv"),
            "-m", str(calls), "-r", f"{rate:g}", "-l", str(concurrency),
            "-d", call_ms, "-key", "call_ms", call_ms,
            "-timeout", f"{max(1, round(timeout))}s", "-timeout_error",
        ]  # fmt: skip
        proc = await _spawn(args, work)
        try:
            exit_code = await asyncio.wait_for(proc.wait(), timeout + 15)
        except TimeoutError:
            await _reap(proc, 3)
            raise LabError(f"sipp did not stop within {timeout + 15:.0f}s") from None
        finally:
            if proc.returncode is None:
                await _reap(proc, 3)
        return _result(exit_code, work)


@contextlib.contextmanager
def _workspace(workdir: str | os.PathLike[str] | None) -> Iterator[Path]:
    """A kept directory (its old SIPp outputs removed) or a temporary one."""
    if workdir is not None:
        path = Path(workdir)
        path.mkdir(parents=True, exist_ok=True)
        for stale in ("stats.csv", "errors.log", "screen.log", "stderr.log"):
            (path / stale).unlink(missing_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="sipp-") as temp:
        yield Path(temp)


class SippNetwork:
    """The telephone network behind Asterisk's trunk: a SIPp UAS on 127.0.0.1 (see NUMBER_PLAN)."""

    __doc__ = (__doc__ or "") + NUMBER_PLAN

    def __init__(
        self,
        *,
        ring_s: float = 1.0,
        talk_s: float = 30.0,
        scenario: str | os.PathLike[str] = "network_uas.xml",
        workdir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._ring_s = ring_s
        self._talk_s = talk_s
        self._scenario = scenario_path(scenario)
        self._workdir = workdir
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self.port = 0

    async def __aenter__(self) -> SippNetwork:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise LabError("SippNetwork has not been started")
        return Path(self._workdir)

    async def start(self, timeout: float = 10.0) -> int:
        """Start listening; returns the UDP port to point the trunk's contact at."""
        if self._workdir is None:
            self._temp = tempfile.TemporaryDirectory(prefix="sipp-network-")
            self._workdir = self._temp.name
        work = self.workdir
        work.mkdir(parents=True, exist_ok=True)
        args = _common_args(self._scenario, work)
        self.port = int(args[args.index("-p") + 1])
        args += ["-d", str(round(self._talk_s * 1000))]
        args += ["-key", "ring_ms", str(round(self._ring_s * 1000))]
        # network_uas.xml streams it (relative to SIPp's cwd) when a machine answers.
        (work / "greeting.ulaw").write_bytes(greeting_ulaw())
        self._proc = await _spawn(args, work)
        await self._wait_listening(timeout)
        return self.port

    async def stop(self, timeout: float = 10.0) -> SippResult:
        """Let calls in progress end (SIGUSR1: SIPp's soft exit), then stop; returns the counts."""
        proc, self._proc = self._proc, None
        try:
            if proc is None:
                return SippResult(0, 0, EXIT_NO_CALLS)
            if proc.returncode is None:
                proc.send_signal(signal.SIGUSR1)
            exit_code = await _reap(proc, timeout)
            if exit_code in (-signal.SIGTERM, -signal.SIGKILL):
                exit_code = EXIT_INTERNAL_STOP  # we stopped it: its counts still stand
            return _result(exit_code, self.workdir)
        finally:
            if self._temp is not None:
                self._temp.cleanup()
                self._temp = None
                self._workdir = None

    async def _wait_listening(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self._proc is not None and self._proc.returncode is not None:
                errors = _tail(self.workdir / "stderr.log")
                raise LabError(f"sipp network exited at start ({self._proc.returncode}): {errors}")
            if _port_taken(self.port):
                return
            await asyncio.sleep(0.05)
        raise LabError(f"sipp network did not bind 127.0.0.1:{self.port} in {timeout}s")


def _port_taken(port: int) -> bool:
    """Whether something is bound to the UDP port (we probe by binding, not by sending)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def greeting_ulaw(seconds: float = 8.0) -> bytes:
    """An answering machine's greeting for AMD: voiced syllables with short gaps, PCMU 8 kHz."""
    samples = []
    for n in range(int(seconds * 8000)):
        t = n / 8000
        syllable, phase = divmod(t, 0.28)
        if phase > 0.22:  # the gap between syllables
            samples.append(0)
            continue
        pitch = 140 + 40 * math.sin(syllable * 1.7)
        voiced = sum(math.sin(2 * math.pi * pitch * k * t) / k for k in (1, 2, 3, 5))
        envelope = math.sin(math.pi * phase / 0.22)
        samples.append(int(9000 * envelope * voiced))
    return bytes(_linear_to_ulaw(s) for s in samples)


def _linear_to_ulaw(sample: int) -> int:
    """G.711 mu-law of a 16-bit sample (audioop is deprecated, and this is all we need)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF
