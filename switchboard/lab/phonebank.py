"""The phone bank process: operators' softphones on one pjsua2 Endpoint, driven by JSON lines.

Run by `python -m switchboard.lab.softphone`; SoftphoneBank (softphone.py) documents the protocol.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import queue
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pjsua2 as pj

from switchboard.lab.doorbell import Doorbell
from switchboard.lab.sipphones import Behaviour, DoorbellAccount, Softphone
from switchboard.lab.softphone import SOFTPHONES_PER_PROCESS

Job = Callable[[], object]
DOORBELL_USER = "switchboard-bank-doorbell"
# A doorbell ring lost or refused (pjsua at its call limit) is rung again after this long.
RERING_AFTER_S = 1.0
# pjsua's compiled-in ceiling in this wheel (PJSUA_MAX_CALLS): 4 calls, doorbell rings
# included; see SOFTPHONES_PER_PROCESS.
MAX_CALLS = 4


@dataclass(frozen=True)
class Later:
    """A job the worker wants run after a delay; the main thread keeps the clock."""

    delay_s: float
    job: Job


class EventWriter:
    """Writes JSON-line events from any thread without ever blocking pjsip's worker."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="events", daemon=True)
        self._thread.start()

    def emit(self, ev: str, **fields: object) -> None:
        self._lines.put(json.dumps({"ev": ev, **fields}, default=str))

    def close(self) -> None:
        self._lines.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while (line := self._lines.get()) is not None:
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except OSError:
                return  # the parent is gone; the stdin EOF will stop us


class PhoneBank:
    """Owns the Endpoint; every pjsua2 call after open() happens in a job on the worker thread."""

    def __init__(self, out: EventWriter, inbox: queue.SimpleQueue[object], log_path: str | None):
        self.out = out
        self._inbox = inbox
        self._log_path = log_path
        self._ep: Any = None
        self._jobs: deque[Job] = deque()
        self._lock = threading.Lock()
        self._rung_at: float | None = None
        self._phones: dict[str, Softphone] = {}
        self._behaviours: dict[str, Behaviour] = {}
        self._doorbell: Doorbell | None = None
        self._doorbell_account: DoorbellAccount | None = None
        self.transport_id = -1
        self.port = 0

    # -- main thread -------------------------------------------------------------------------

    def open(self) -> None:
        """Start pjsua: UDP on 127.0.0.1 (any free port), null audio, no STUN or ICE."""
        self._ep = pj.Endpoint()
        self._ep.libCreate()
        self._ep.libInit(self._ep_config())
        transport = pj.TransportConfig()
        transport.boundAddress = "127.0.0.1"
        transport.port = 0
        self.transport_id = self._ep.transportCreate(pj.TransportType.UDP, transport)
        local_name = self._ep.transportGetInfo(self.transport_id).localName
        self.port = int(str(local_name).rsplit(":", 1)[1])
        self._ep.libStart()
        self._ep.audDevManager.setNullDev()
        self._doorbell = Doorbell(self.port, DOORBELL_USER)
        # Last pjsua2 call of the main thread until close(): from here on callbacks can run.
        account = DoorbellAccount(self)
        config = pj.AccountConfig()
        config.idUri = self._doorbell.uri
        config.sipConfig.transportId = self.transport_id
        account.create(config, True)
        self._doorbell_account = account

    def _ep_config(self) -> Any:
        config = pj.EpConfig()
        config.uaConfig.threadCnt = 1
        config.uaConfig.maxCalls = MAX_CALLS
        config.logConfig.consoleLevel = 0
        config.logConfig.level = 5 if self._log_path else 0
        if self._log_path:
            config.logConfig.filename = self._log_path
            config.logConfig.msgLogging = 1
        config.medConfig.clockRate = 8000
        config.medConfig.sndClockRate = 8000
        config.medConfig.noVad = True  # keep RTP flowing through silences, as a headset does
        return config

    def handle_line(self, line: str) -> bool:
        """Queue one command for the worker; False when the command is quit."""
        try:
            msg = json.loads(line)
        except ValueError as exc:
            self.out.emit("error", message=f"bad command line: {exc}")
            return True
        if not isinstance(msg, dict) or not isinstance(msg.get("cmd"), str):
            self.out.emit("error", message="bad command line: a JSON object with a string 'cmd'")
            return True
        if msg["cmd"] == "quit":
            return False
        self.submit(lambda: self._execute(msg))
        return True

    def submit(self, job: Job) -> None:
        """Queue a job for the worker thread and ring the doorbell unless a ring is pending."""
        with self._lock:
            self._jobs.append(job)
            if self._rung_at is not None:
                return
            self._rung_at = time.monotonic()
        self._ring()

    def check_doorbell(self, now: float) -> None:
        """Ring again if a ring went unanswered (lost, or refused at pjsua's call limit)."""
        with self._lock:
            stale = self._rung_at is not None and now - self._rung_at > RERING_AFTER_S
            if stale:
                self._rung_at = now
        if stale:
            self._ring()

    def _ring(self) -> None:
        if self._doorbell is not None:
            self._doorbell.ring()

    def busy(self) -> bool:
        """Whether a call is still up (read from the main thread: plain dicts, no pjsua2)."""
        return any(phone.calls for phone in list(self._phones.values()))

    def close(self, timeout_s: float = 5.0) -> bool:
        """Hang up, unregister and destroy the library; False if the worker stopped answering."""
        self.submit(self._hang_up_everything)
        deadline = time.monotonic() + timeout_s
        while self.busy() and time.monotonic() < deadline:
            self.check_doorbell(time.monotonic())
            time.sleep(0.05)
        released = threading.Event()
        self.submit(lambda: self._release_everything(released))
        while not released.wait(0.1) and time.monotonic() < deadline + timeout_s:
            self.check_doorbell(time.monotonic())
        if self._doorbell is not None:
            self._doorbell.close()
        if not released.is_set():
            return False
        # Let a ring still in flight run (its job list is empty) before we hold the GIL in C++.
        time.sleep(0.2)
        self._ep.libDestroy()
        return True

    # -- worker thread (inside the doorbell account's callback) ------------------------------

    def run_jobs(self) -> None:
        with self._lock:
            jobs = list(self._jobs)
            self._jobs.clear()
            self._rung_at = None
        for job in jobs:
            try:
                job()
            except Exception as exc:
                self.report("job", exc)

    def emit(self, ev: str, **fields: object) -> None:
        self.out.emit(ev, **fields)

    def later(self, delay_s: float, job: Job) -> None:
        self._inbox.put(Later(max(0.0, delay_s), job))

    def report(self, where: str, exc: BaseException) -> None:
        traceback.print_exception(exc, file=sys.stderr)
        self.out.emit("error", message=f"{where}: {exc}")

    def connect_audio(self, media: Any) -> None:
        """Wire a call to the null sound device both ways, as a headset would be."""
        devices = self._ep.audDevManager
        devices.captureDevMedia.startTransmit(media)
        media.startTransmit(devices.playbackDevMedia)

    def _execute(self, msg: dict[str, Any]) -> None:
        cmd = msg["cmd"]
        reply = {"id": msg.get("id"), "cmd": cmd, "user": msg.get("user")}
        try:
            handler = self._handlers().get(cmd)
            if handler is None:
                raise ValueError(f"unknown command {cmd!r}")
            extra = handler(msg) or {}
        except Exception as exc:  # pjsua2 raises RuntimeError; the parent gets every kind
            self.out.emit("error", message=f"{cmd}: {exc}", **reply)
            return
        self.out.emit("done", **reply, **extra)

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]]:
        return {
            "register": self._register,
            "unregister": lambda m: self._phone(m).setRegistration(False),
            "set": self._set,
            "hangup": lambda m: {"calls": self._phone(m).hang_up()},
            "dial": lambda m: {"call_id": self._phone(m).dial(str(m["uri"]))},
            "dtmf": lambda m: {"call_id": self._phone(m).send_dtmf(str(m["digits"]))},
        }

    def _phone(self, msg: dict[str, Any]) -> Softphone:
        user = str(msg["user"])
        if user not in self._phones:
            raise LookupError(f"no softphone registered for {user!r}")
        return self._phones[user]

    def _register(self, msg: dict[str, Any]) -> None:
        user, registrar = str(msg["user"]), str(msg["registrar"])
        config = pj.AccountConfig()
        config.idUri = _identity(user, registrar, msg.get("display"))
        config.regConfig.registrarUri = f"sip:{registrar}"
        config.regConfig.retryIntervalSec = 0  # report a refusal instead of retrying quietly
        config.sipConfig.transportId = self.transport_id
        config.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, str(msg["secret"])))
        phone = self._phones.get(user)
        if phone is not None:
            phone.modify(config)  # keeps the account, and so the calls that refer to it
            # modify() with an unchanged config sends nothing: after an unregister, register again.
            phone.setRegistration(True)
            return
        if len(self._phones) >= SOFTPHONES_PER_PROCESS:
            raise OverflowError(f"a phone bank process holds {SOFTPHONES_PER_PROCESS} softphones")
        phone = Softphone(self, user, self._behaviours.setdefault(user, Behaviour()))
        phone.create(config)
        self._phones[user] = phone

    def _set(self, msg: dict[str, Any]) -> None:
        behaviour = self._behaviours.setdefault(str(msg["user"]), Behaviour())
        if "auto_answer" in msg:
            behaviour.auto_answer = bool(msg["auto_answer"])
        if "answer_after_s" in msg:
            behaviour.answer_after_s = float(msg["answer_after_s"])
        if "talk_s" in msg:
            behaviour.talk_s = None if msg["talk_s"] is None else float(msg["talk_s"])

    def _hang_up_everything(self) -> None:
        for phone in self._phones.values():
            phone.hang_up()

    def _release_everything(self, released: threading.Event) -> None:
        for phone in self._phones.values():
            phone.calls.clear()  # ~Call hangs up any call still up
            phone.shutdown()  # unregisters; no callback reaches Python for it any more
        released.set()


def _identity(user: str, registrar: str, display: object) -> str:
    uri = f"sip:{user}@{registrar}"
    if not display:
        return uri
    quoted = str(display).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{uri}>'


def _claim_stdout() -> int:
    """Keep fd 1 for events only: pjsip and anything native that prints goes to stderr."""
    events_fd = os.dup(1)
    os.dup2(2, 1)
    return events_fd


def _read_stdin(inbox: queue.SimpleQueue[object]) -> None:
    for line in sys.stdin:
        if line.strip():
            inbox.put(line)
    inbox.put(None)  # EOF: the parent is gone, so is the bank


def serve(bank: PhoneBank, inbox: queue.SimpleQueue[object]) -> None:
    """Main-thread loop: commands in, timers kept here, jobs handed to the worker."""
    timers: list[tuple[float, int, Job]] = []
    order = itertools.count()
    while True:
        wait = 0.25 if not timers else min(0.25, max(0.0, timers[0][0] - time.monotonic()))
        try:
            item = inbox.get(timeout=wait)
        except queue.Empty:
            item = ""
        if item is None:
            return
        if isinstance(item, Later):
            heapq.heappush(timers, (time.monotonic() + item.delay_s, next(order), item.job))
        elif item and not bank.handle_line(str(item)):
            return
        now = time.monotonic()
        while timers and timers[0][0] <= now:
            bank.submit(heapq.heappop(timers)[2])
        bank.check_doorbell(now)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m switchboard.lab.softphone")
    parser.add_argument("--log", help="write pjsip's log (level 5, SIP messages) to this file")
    args = parser.parse_args(argv)
    out = EventWriter(_claim_stdout())
    inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
    bank = PhoneBank(out, inbox, args.log)
    try:
        bank.open()
    except Exception as exc:
        out.emit("error", message=f"the phone bank could not start: {exc}")
        out.close()
        return 2
    out.emit("ready", port=bank.port)
    threading.Thread(target=_read_stdin, args=(inbox,), name="commands", daemon=True).start()
    serve(bank, inbox)
    clean = bank.close()
    out.emit("stopped", clean=clean)
    out.close()
    return 0 if clean else 1
