"""The running platform: AMI events in, FastAGI routing out, call records to SQL, live state to Redis.

The imperative shell around acd/: it turns events into calls of the core, and decisions into actions and rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from agi_scripts.operator import build_operator_handler
from agi_scripts.outbound import build_outbound_handler
from agi_scripts.route import HoldPlan, build_route_handler
from agi_scripts.server import FastAgiServer
from asterisk_conf import variables
from switchboard.ami.client import AmiClient, ConnectionChange
from switchboard.ami.translate import PJSIP_PREFIX, sessions_in, translate
from switchboard.commands import CommandConsumer
from switchboard.config import Site
from switchboard.errors import AmiError, StoreError, SwitchboardError
from switchboard.live import LiveState
from switchboard.outbound import OutboundDialer
from switchboard.picture import Arrival, Picture, Waiter
from switchboard.privacy import mask_number
from switchboard.queue_log import QueueLogWriter, read_entries, sessions_from_queue_log
from switchboard.store.calls import CallRecord, CallStore, make_engine

log = logging.getLogger("switchboard.platform")
FLUSH_EVERY_S = 0.2
PUBLISH_EVERY_S = 0.5
TICK_S = 0.5  # wrap-ups ending and widening steps passing are noticed at most this late
RINGING = frozenset({"RINGING", "RINGINUSE"})
SETTLE_TIMEOUT_S = 2.0  # how long a caller back from a ring-no-answer waits for the DialEnd saying why
GIL_SWITCH_S = 0.001
PAUSE_REASONS = {"1": "lunch", "2": "training", "3": "mentoring", "4": "outbound work", "5": "break"}


@dataclass(frozen=True)
class _Snapshot:
    """What a connect hook read for the picture's rebuild."""

    phone_states: dict[str, str]
    live: set[str]
    open_records: list[CallRecord]
    listed_at: float
    sessions: dict[str, str]  # channel uniqueid -> operator, for the phones found in their holding bridge


# The AMI event classes the platform follows: every event translate() reads is in `call` (DeviceStateChange, DialEnd,
# Hangup, ConfbridgeJoin, OriginateResponse), `system` says Asterisk is up. The dialplan class (a Newexten and VarSets
# for every priority run) and RTCP reports would be most of the traffic, read and dropped on the routing event loop.
EVENT_CLASSES = "system,call"


class Platform:
    def __init__(self, site: Site, *, clock: Callable[[], float] = time.time) -> None:
        self.site = site
        self.clock = clock
        self.picture = Picture(site)
        self.store = CallStore(make_engine(site.store_url_effective))
        self.live = LiveState(site.redis_url)
        self.ami = AmiClient(
            str(site.asterisk.host), site.asterisk.ami_port, site.ami.user, site.ami.secret, name="runtime",
            events=EVENT_CLASSES,
        )  # fmt: skip
        self.dialer = OutboundDialer(site, self.store.engine, self.ami, self.picture, clock, redis=self.live.redis)
        self._dialer_tasks: set[asyncio.Task[None]] = set()
        self.agi = FastAgiServer(
            {
                variables.AGI_ROUTE: build_route_handler(self, clock),
                variables.AGI_OPERATOR: build_operator_handler(self, clock),
                variables.AGI_OUTBOUND: build_outbound_handler(self.dialer, clock),
            }
        )
        self.queue_log = QueueLogWriter(site.queue_log_path)
        self.errors: list[str] = []
        self.reconnects = 0
        self._pending: dict[str, CallRecord] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._snapshot: _Snapshot | None = None  # read by the connect hook, applied at the up marker
        self._flush_lock = asyncio.Lock()
        self._settling: dict[str, list[asyncio.Future[None]]] = {}  # caller uniqueid -> route scripts waiting

    # -- the route script's port ---------------------------------------------------------------
    def route_call(self, uniqueid: str, caller: str, hotline: str, now: float, choice: str = "") -> Arrival:
        arrival = self.picture.route_call(uniqueid, caller, hotline, now, choice)
        routed = arrival.result
        what = f"{routed.operator or 'nobody'} ({routed.reason})" if routed else "queued"
        log.info("call %s from %s to %s: %s", uniqueid, mask_number(caller), hotline, what)
        return arrival

    async def last_offer_settled(self, uniqueid: str) -> None:
        """Return once the caller's last offer is over in the picture (or after a timeout): its DialEnd applied and
        the phone that rang no longer ringing.

        Dial returns, and the dialplan comes back to the route script, before the AMI events that say so reach us.
        Routed first, the late DialEnd would be read against the next operator's offer (leaving the one who let it
        ring out offered for good), and the decision would hang on which of the two events happened to come first.
        """
        if not self._still_offered(uniqueid):
            return
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._settling.setdefault(uniqueid, []).append(settled)
        try:
            await asyncio.wait_for(settled, SETTLE_TIMEOUT_S)
        except TimeoutError:
            log.warning(
                "call %s: no DialEnd for its last offer after %.1fs; routing it anyway", uniqueid, SETTLE_TIMEOUT_S
            )
        finally:
            waiting = self._settling.get(uniqueid, [])
            if settled in waiting:
                waiting.remove(settled)
            if not waiting:
                self._settling.pop(uniqueid, None)

    def _still_offered(self, uniqueid: str) -> bool:
        record = self.picture.calls.get(uniqueid)
        state = self.picture.operators.get(record.operator or "") if record is not None else None
        return state is not None and (state.offered_call == uniqueid or state.phone_state in RINGING)

    def _wake_settled(self) -> None:
        for uniqueid, waiting in list(self._settling.items()):
            if not self._still_offered(uniqueid):
                for settled in waiting:
                    if not settled.done():
                        settled.set_result(None)

    def hold_plan(self, uniqueid: str) -> HoldPlan:
        record = self.picture.calls[uniqueid]
        queue = self.site.queue(record.queue) if record.queue else None
        if queue is None:
            return HoldPlan("default", 0, record.started_at + 60)
        return HoldPlan(
            queue.music_on_hold, queue.announce_every_s, record.started_at + queue.max_wait_s,
            queue.on_max_wait, queue.callback_prompt, self.picture.voicemail_path(uniqueid),
        )  # fmt: skip

    def position(self, uniqueid: str) -> tuple[int, float | None]:
        return self.picture.position(uniqueid), self.picture.expected_wait(uniqueid)

    def waiting(self, uniqueid: str) -> Waiter | None:
        return self.picture.waiter_of(uniqueid)

    def leave(self, uniqueid: str, now: float, outcome: str = "timeout", key: str = "") -> Arrival | None:
        arrival = self.picture.leave(uniqueid, now, outcome, key)
        log.info("call %s left its queue at the maximum wait: %s", uniqueid, outcome)
        return arrival

    def transfer(self, uniqueid: str, target: str, now: float, extension: str = "") -> Arrival:
        arrival = self.picture.transfer(uniqueid, target, now, extension)
        log.info("call %s transferred to %s", uniqueid, target)
        return arrival

    async def transfer_call(self, sip_user: str, extension: str) -> None:
        """Send the operator's current call on, as their phone's blind transfer would: to a transfer extension."""
        if extension not in self.site.transfer_targets():
            raise SwitchboardError(f"extension = {extension!r}: no queue or operator has this transfer extension")
        state = self.picture.operators.get(sip_user)
        if state is None or state.on_call is None:
            raise SwitchboardError(f"operator = {sip_user!r}: not on a call")
        channels = await self.ami.list_action("CoreShowChannels")
        channel = next((c.get("Channel") for c in channels if c.get("Uniqueid") == state.on_call), None)
        if not channel:
            raise SwitchboardError(f"operator = {sip_user!r}: their caller's channel is gone")
        headers = {"Channel": channel, "Context": variables.CTX_TRANSFER, "Exten": extension, "Priority": "1"}
        await self.ami.action("Redirect", headers)

    # -- operators: the feature-code script's port and the CLI/API's --------------------------
    def operator_command(self, sip_user: str, command: str, reason_code: str, now: float) -> str:
        """Log in, log out, pause (reason by digit) or unpause; returns the prompt that confirms it."""
        if sip_user not in self.picture.operators:
            return "agent-incorrect"
        if command == "login":
            self.picture.login(sip_user, now)
            return "agent-loginok"
        if command == "logout":
            self.picture.logout(sip_user, now)
            return "agent-loggedoff"
        if command == "pause":
            self.picture.pause(sip_user, PAUSE_REASONS.get(reason_code, "paused"), now)
            return "dictate/paused"
        if command == "wrapup":
            return "auth-thankyou" if self.picture.set_wrapup_code(sip_user, reason_code) else "beeperr"
        self.picture.unpause(sip_user, now)
        return "auth-thankyou"

    def start_session(self, sip_user: str, channel: str, now: float) -> str | None:
        """Session mode from the phone's feature code: the holding bridge it joins, None for no operator."""
        if sip_user not in self.picture.operators:
            return None
        bridge = self.picture.start_session(sip_user, channel, now)
        log.info("operator %s in session mode (%s)", sip_user, bridge)
        return bridge

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        # SQL writes and file flushes run in worker threads; a thread may keep the GIL for the whole switch interval
        # (5 ms by default) while a route script waits for the event loop. 1 ms bounds that wait.
        sys.setswitchinterval(GIL_SWITCH_S)
        await asyncio.to_thread(self.store.create_schema)
        (self.site.recordings_path / "voicemail").mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._restore_sessions)
        await self.agi.start(str(self.site.fastagi.host), self.site.fastagi.port)
        self.ami.add_connect_hook(self._rebuild)
        await self.ami.connect()
        self._tasks = [
            asyncio.create_task(self._follow_events(), name="platform-events"),
            asyncio.create_task(self._flush_loop(), name="platform-flush"),
            asyncio.create_task(self._tick_loop(), name="platform-tick"),
            # The console and the CLI ask for logins, pauses ... over Redis (switchboard/commands.py).
            asyncio.create_task(CommandConsumer(self, self.site.redis_url, clock=self.clock).run(), name="commands"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.agi.stop()
        await self.ami.close()
        await self.flush()
        self.queue_log.close()
        await self.live.publish(self.picture, ami_connected=False)
        await self.live.close()

    async def run_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    def _restore_sessions(self) -> None:
        """Logins and pauses survive a restart: the last ADDMEMBER/REMOVEMEMBER and PAUSE/UNPAUSE per operator in
        our queue_log say where each one stood (as app_queue's persistentmembers keeps them in astdb)."""
        path = self.site.queue_log_path
        if not path.exists():
            return
        sessions = sessions_from_queue_log(read_entries(path))
        now = self.clock()
        for sip_user, (logged_in, paused_reason) in sessions.items():
            self.picture.restore_session(sip_user, logged_in, paused_reason, now)
        if sessions:
            log.info("restored %d operators' logins and pauses from %s", len(sessions), path)

    # -- AMI -----------------------------------------------------------------------------------
    async def _rebuild(self, ami: AmiClient) -> None:
        """After every (re)connect, read what the picture is rebuilt from: phones (DeviceStateList), live calls
        (CoreShowChannels) and, for a picture never built, the open SQL records.

        The event follower applies it at the up marker: after the old link's last events, which would otherwise
        overwrite it, and before the new link's first.
        """
        open_records: list[CallRecord] = []
        if not self.picture.built:  # once built, the picture is newer than SQL: a reconnect needs no SQL
            await self.flush()
            open_records = await asyncio.to_thread(self.store.open_calls)
        states = {}
        for item in await ami.list_action("DeviceStateList"):
            device = item.get("Device") or ""
            if device.startswith(PJSIP_PREFIX):
                states[device[len(PJSIP_PREFIX) :]] = item.get("State") or "UNKNOWN"
        listed_at = self.clock()  # calls routed from now on may be missing from the list: they are kept
        channels = await ami.list_action("CoreShowChannels")
        live = {item.get("Uniqueid") or "" for item in channels}
        self._snapshot = _Snapshot(states, live, open_records, listed_at, sessions_in(channels))

    def _apply_snapshot(self) -> None:
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is None:
            return
        closed = self.picture.rebuild(
            snapshot.phone_states, snapshot.live, snapshot.open_records, self.clock(), listed_at=snapshot.listed_at,
            sessions=snapshot.sessions,
        )  # fmt: skip
        if self.site.dialers:
            self.dialer.on_reconnect(snapshot.live, closed, snapshot.listed_at)
        log.info(
            "picture rebuilt: %d phones, %d live channels, %d calls closed",
            len(snapshot.phone_states),
            len(snapshot.live),
            len(closed),
        )

    async def _follow_events(self) -> None:
        async for item in self.ami.events():
            try:
                if isinstance(item, ConnectionChange):
                    log.info("AMI %s: %s", "up" if item.up else "down", item.reason)
                    if item.up:
                        self.reconnects += 1
                        self._apply_snapshot()
                    continue
                event = translate(item, self.clock())
                if event is not None:
                    record = self.picture.apply(event)
                    if self.site.dialers:  # attempts are closed in SQL off the event path, in order per call
                        task = asyncio.create_task(self.dialer.on_event(event, record))
                        self._dialer_tasks.add(task)
                        task.add_done_callback(self._dialer_tasks.discard)
            except Exception as exc:  # one odd event must never stop the platform following calls
                what = "rebuild" if isinstance(item, ConnectionChange) else f"event {item.get('Event')}"
                log.exception("%s not applied", what)
                self.errors.append(f"{what}: {exc}")
            finally:
                if self._settling:
                    self._wake_settled()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                self.picture.tick(self.clock())
                if self.site.dialers:
                    await self.dialer.tick()
            except Exception as exc:
                log.exception("tick failed")
                self.errors.append(f"tick: {exc}")

    # -- persistence ---------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        last_publish = 0.0
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            await self.flush()
            if self.clock() - last_publish >= PUBLISH_EVERY_S:
                await self.live.publish(self.picture, self.ami.connected)
                last_publish = self.clock()

    async def flush(self) -> None:
        # One flush at a time, so an older version of a record never overwrites a newer one.
        async with self._flush_lock:
            for entry in self.picture.queue_log:
                self.queue_log.append(entry)
            self.picture.queue_log.clear()
            for record in self.picture.take_dirty():
                self._pending[record.id] = record
            await self._flush_callbacks()
            if not self._pending:
                return
            batch, self._pending = list(self._pending.values()), {}
            try:
                await asyncio.to_thread(self.store.upsert, batch)
            except StoreError as exc:
                # Keep the records: the next flush tries again, nothing routed is lost.
                for record in batch:
                    self._pending.setdefault(record.id, record)
                log.exception("call records not written; kept for the next flush")
                self.errors.append(str(exc))

    async def _flush_callbacks(self) -> None:
        requests, self.picture.callback_requests = self.picture.callback_requests, []
        if not requests:
            return
        try:
            await asyncio.to_thread(self.store.add_callbacks, requests)
        except StoreError as exc:
            self.picture.callback_requests[:0] = requests  # kept for the next flush
            log.exception("callback tasks not written; kept for the next flush")
            self.errors.append(str(exc))

    async def ping_ami(self) -> bool:
        try:
            await self.ami.action("Ping")
        except AmiError:
            return False
        return True
