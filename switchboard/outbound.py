"""The outbound dialer's shell: it picks a campaign's due leads, writes each attempt, originates it over AMI, and
closes the attempt from what Asterisk and the ACD report. How many calls to place is the pacing's decision.

Every attempt row is committed before its Originate is sent, and an Originate is never sent twice: a failed or
unanswered action closes its attempt as failed, and the lead's retry rule decides what happens next. A lead is
`in_progress` from its attempt row until the attempt ends, so the pick never takes it twice; after a restart the
attempts whose channel is gone are closed, and those still on a call are followed to their end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.engine import Engine

from asterisk_conf import variables
from dialer.campaigns.model import Result
from switchboard.ami.client import AmiClient
from switchboard.config import DialerSection, Site
from switchboard.errors import AmiError, AttemptRefusedError, SwitchboardError
from switchboard.events import CallerHungUp, Event, OperatorAnswered, OriginateFailed
from switchboard.outbound_board import DialerBoard
from switchboard.outbound_pacing import Pacer, PastAttempt, Ringing, free_operators
from switchboard.picture import Arrival, Picture
from switchboard.privacy import mask_number
from switchboard.store import attempts as store_attempts
from switchboard.store import dialing
from switchboard.store.calls import CallRecord
from switchboard.store.campaigns import transaction
from switchboard.store.dnc import add_numbers
from switchboard.store.schema import leads

log = logging.getLogger("switchboard.outbound")
CHANNEL_PREFIX = "switchboard-out-"  # + the attempt id: the uniqueid the dialer gives each call (ChannelId)
CAMPAIGN_REFRESH_S = 2.0  # how soon a campaign started or paused with the CLI is noticed
ORIGINATE_SILENCE_S = 10.0  # an unanswered channel gone without its OriginateResponse this long: closed by cause
# OriginateResponse Reason codes (Asterisk's AST_CONTROL_*): 5 busy, 8 congestion, 3 and 1 no answer.
FAILURE_REASONS = {1: Result.NO_ANSWER, 3: Result.NO_ANSWER, 5: Result.BUSY, 8: Result.CONGESTION}
# Hangup causes of a channel that never answered: 17 busy, 18/19 no answer, 34 and 38-42 congestion.
HANGUP_CAUSES = {
    17: Result.BUSY, 18: Result.NO_ANSWER, 19: Result.NO_ANSWER,
    34: Result.CONGESTION, 38: Result.CONGESTION, 41: Result.CONGESTION, 42: Result.CONGESTION,
}  # fmt: skip


@dataclass
class InFlight:
    """A call the dialer placed and has not closed yet."""

    attempt_id: int
    lead_id: int
    phone: str
    dialer: DialerSection
    started_at: float
    answered_at: float | None = None  # when the network answered (the outbound script ran)
    result: Result | None = None  # decided before the hangup: machine, abandoned
    gone_at: float | None = None  # the channel hung up before answering; its OriginateResponse may follow
    gone_cause: int = 0
    failed_at: float | None = None  # an OriginateResponse failure with no reason: the hangup cause will say
    risk: float = 0.0  # what the pacing counted this call could add to the abandoned calls (predictive)
    put_through: bool = False  # a person answered and an operator took them (or the grace ran out: result)
    message: bool = False  # a recorded message was left on the answering machine (the lead's consent allows it)


@dataclass
class DialerFigures:
    """Counts since the platform started, per campaign: what the demo and the consoles show."""

    dialed: int = 0
    answered: int = 0  # by a person (put through or abandoned)
    abandoned: int = 0
    machines: int = 0
    failed_originates: int = 0
    results: dict[str, int] = field(default_factory=dict)


class OutboundDialer:
    def __init__(
        self,
        site: Site,
        engine: Engine,
        ami: AmiClient,
        picture: Picture,
        clock: Callable[[], float] = time.time,
        redis: aioredis.Redis | None = None,  # where the live figures go (switchboard.outbound_board)
    ) -> None:
        self.site, self.engine, self.ami, self.picture, self.clock = site, engine, ami, picture, clock
        self.board = DialerBoard(site.dialers, redis)
        self.inflight: dict[str, InFlight] = {}  # by channel id
        self.campaigns: dict[str, dialing.CampaignState] = {}
        self.figures: dict[str, DialerFigures] = {d.campaign: DialerFigures() for d in site.dialers}
        self.pacers = {d.campaign: Pacer(d, _wrapup_s(site, d)) for d in site.dialers}
        self._remembered: set[str] = set()  # campaigns whose pacing memory was rebuilt from the store
        self.errors: list[str] = []
        self._refreshed = 0.0
        self._recovered = False

    # -- placing calls -------------------------------------------------------------------------------------------
    async def tick(self) -> None:
        """Place the calls the pacing asks for, in every active campaign; close attempts whose events were lost."""
        now = self.clock()
        if now - self._refreshed >= CAMPAIGN_REFRESH_S:
            await self._refresh(now)
        self._observe(now)
        if not self._recovered or not self.ami.connected:
            return
        self._close_silent(now)
        for dialer in self.site.dialers:
            campaign = self.campaigns.get(dialer.campaign)
            if campaign is not None and campaign.status == "active":
                await self._launch(dialer, campaign, now)

    async def _refresh(self, now: float) -> None:
        for dialer in self.site.dialers:
            try:
                state = await asyncio.to_thread(dialing.campaign_state, self.engine, dialer.campaign)
                self.campaigns[dialer.campaign] = state
                if dialer.campaign not in self._remembered:
                    await self._remember(dialer, state.id)
            except SwitchboardError as exc:
                if self.campaigns.pop(dialer.campaign, None) is not None or not self._refreshed:
                    log.warning("dialer %r stopped: %s", dialer.campaign, exc)
        self._refreshed = now
        if not self._recovered and self.ami.connected:
            await self.recover()

    async def _remember(self, dialer: DialerSection, campaign_id: int) -> None:
        """The pacing's memory from the campaign's attempts: the legal window and what recent calls taught."""
        pacer, now = self.pacers[dialer.campaign], self.clock()
        since = now - pacer.params.window_s
        history = await asyncio.to_thread(dialing.pacing_history, self.engine, campaign_id, since)
        pacer.rebuild((PastAttempt(h.started_at, h.ended_at, h.result, h.answered_at, h.talk_s) for h in history), now)
        self._remembered.add(dialer.campaign)

    async def _launch(self, dialer: DialerSection, campaign: dialing.CampaignState, now: float) -> None:
        pacer = self.pacers[dialer.campaign]
        mine = [f for f in self.inflight.values() if f.dialer is dialer]
        ringing = [Ringing(f.started_at, f.risk) for f in mine if f.answered_at is None]
        waiting = sum(1 for f in mine if _waiting(f))
        wanted = pacer.launches(self.picture, ringing, waiting, now)
        if wanted <= 0:
            return
        log.debug("dialer %r: %d ringing, %d waiting: %d more", dialer.campaign, len(ringing), waiting, wanted)
        risks = pacer.last_risks
        busy_numbers = {f.phone for f in self.inflight.values()}
        due = await asyncio.to_thread(dialing.due_leads, self.engine, campaign.id, now, wanted, busy_numbers)
        for n, lead in enumerate(due):
            await self._place(dialer, campaign, lead, now, risks[n] if n < len(risks) else 0.0)

    def _ringing(self, dialer: DialerSection) -> int:
        return sum(1 for f in self.inflight.values() if f.dialer is dialer and f.answered_at is None)

    def _observe(self, now: float) -> None:
        """The floor at this tick for the console's live figures (published at most once a second)."""
        for dialer in self.site.dialers:
            campaign = self.campaigns.get(dialer.campaign)
            status = campaign.status if campaign is not None else "unknown"
            free = free_operators(dialer, self.picture, now)
            window = self.pacers[dialer.campaign].memory.window
            self.board.observe(dialer, free, self._ringing(dialer), status, window, now)
        self.board.publish(now)

    async def _place(
        self, dialer: DialerSection, campaign: dialing.CampaignState, lead: dialing.DueLead, now: float, risk: float
    ) -> None:
        try:  # the row first: hours, caps and do-not-call are checked again inside its transaction
            attempt_id = await asyncio.to_thread(store_attempts.record_attempt, self.engine, lead.id, now=now)
        except AttemptRefusedError as exc:
            log.debug("lead %d not dialled: %s", lead.id, exc)
            return
        channel = f"{CHANNEL_PREFIX}{attempt_id}"
        self.inflight[channel] = InFlight(attempt_id, lead.id, lead.phone, dialer, now, risk=risk)
        self.figures[dialer.campaign].dialed += 1
        self.board.launched(dialer, now)
        amd = self.pacers[dialer.campaign].params.amd  # on only while AMD's audited errors cost little of the cap
        message = dialer.machine_message if amd and lead.consent else ""  # never on a machine without consent
        channel_vars = (
            f"SWITCHBOARD_AMD={int(amd)},SWITCHBOARD_ABANDON_MESSAGE={dialer.abandon_message},"
            f"SWITCHBOARD_MACHINE_MESSAGE={message}"
        )
        headers = {
            "Channel": f"PJSIP/{lead.phone}@trunk",
            "Context": variables.CTX_OUTBOUND,
            "Exten": "s",
            "Priority": "1",
            "Timeout": str(dialer.ring_timeout_s * 1000),
            "CallerID": campaign.caller_id or self.site.trunk.caller_id,
            "ChannelId": channel,
            "Async": "true",
            "Variable": f"{channel_vars},SWITCHBOARD_DNC_KEY={dialer.dnc_key}",
        }
        try:
            await self.ami.action("Originate", headers)
        except AmiError as exc:  # never sent again: the attempt is closed and the retry rule decides
            self.figures[dialer.campaign].failed_originates += 1
            self._error(f"attempt {attempt_id} to {mask_number(lead.phone)} not placed: {exc}")
            await self._finish(channel, Result.FAILED, self.clock())

    # -- what Asterisk and the ACD report ------------------------------------------------------------------------
    def outbound_answered(self, uniqueid: str, now: float) -> tuple[Arrival, float] | None:
        flight = self.inflight.get(uniqueid)
        if flight is None:
            return None
        if flight.answered_at is None:
            flight.answered_at = now
            self.pacers[flight.dialer.campaign].answered(flight.started_at, now, person=True)
        arrival = self.picture.route_outbound(uniqueid, flight.phone, flight.dialer.queue, now)
        return arrival, flight.dialer.grace_s

    def outbound_abandoned(self, uniqueid: str, now: float) -> None:
        flight = self.inflight.get(uniqueid)
        if flight is not None:
            flight.result = Result.ABANDONED
            self.pacers[flight.dialer.campaign].put_through(now, dropped=True)
            self.picture.leave(uniqueid, now, "abandoned")
            log.info("attempt %d abandoned: no operator within %.1fs", flight.attempt_id, flight.dialer.grace_s)

    def outbound_machine(self, uniqueid: str, now: float, message: bool = False) -> None:
        """AMD said MACHINE (`message`: then a recorded message was left, the lead's consent allowing it)."""
        flight = self.inflight.get(uniqueid)
        if flight is not None:
            if flight.answered_at is None:
                flight.answered_at = now
                self.pacers[flight.dialer.campaign].answered(flight.started_at, now, person=False)
            flight.result = Result.MACHINE
            flight.message = flight.message or message

    def outbound_dnc(self, uniqueid: str, now: float) -> None:
        """The person pressed the do-not-call key during the abandon message: on the system's list at once."""
        flight = self.inflight.get(uniqueid)
        if flight is None:
            return
        try:
            with transaction(self.engine, "a do-not-call request") as conn:
                add_numbers(conn, [flight.phone], campaign_id=None, now=now, source="dialer", reason="asked by key")
                conn.execute(leads.update().where(leads.c.id == flight.lead_id).values(status="dnc"))
        except SwitchboardError as exc:
            self._error(f"attempt {flight.attempt_id}: do-not-call request not stored: {exc}")

    async def on_event(self, event: Event, record: CallRecord | None) -> None:
        """After the picture applied `event` (`record`: the call record it closed, if any)."""
        if isinstance(event, OperatorAnswered):
            self._put_through(event.uniqueid, event.at)
        elif isinstance(event, OriginateFailed):
            channel = event.uniqueid if event.uniqueid in self.inflight else self._by_channel(event.channel)
            flight = self.inflight.get(channel or "")
            if channel is None or flight is None or flight.answered_at is not None:
                return
            if event.reason in FAILURE_REASONS:
                await self._finish(channel, FAILURE_REASONS[event.reason], event.at)
            elif flight.gone_at is not None:  # reason 0 (e.g. busy over PJSIP): the hangup cause tells
                await self._finish(channel, HANGUP_CAUSES.get(flight.gone_cause, Result.FAILED), event.at)
            else:
                flight.failed_at = event.at
        elif isinstance(event, CallerHungUp) and event.uniqueid in self.inflight:
            flight = self.inflight[event.uniqueid]
            if flight.answered_at is None:
                flight.gone_at, flight.gone_cause = event.at, event.cause
                if flight.failed_at is not None:
                    await self._finish(event.uniqueid, HANGUP_CAUSES.get(event.cause, Result.FAILED), event.at)
                return  # else the OriginateResponse says why; kept in case it never comes
            result = flight.result or (Result.ANSWERED if record and record.answered_at else Result.ABANDONED)
            await self._finish(event.uniqueid, result, event.at, record)

    def _put_through(self, channel: str, at: float) -> None:
        """An operator took the person who answered: the pacing learns the call was not dropped."""
        flight = self.inflight.get(channel)
        if flight is not None and not flight.put_through and flight.result is None:
            flight.put_through = True
            self.pacers[flight.dialer.campaign].put_through(at, dropped=False)

    def _by_channel(self, channel: str) -> str | None:
        return next((c for c, f in self.inflight.items() if f"PJSIP/{f.phone}@trunk" == channel), None)

    def _close_silent(self, now: float) -> None:
        for channel, flight in list(self.inflight.items()):
            if flight.gone_at is not None and now - flight.gone_at > ORIGINATE_SILENCE_S:
                result = HANGUP_CAUSES.get(flight.gone_cause, Result.NO_ANSWER)
            elif flight.failed_at is not None and now - flight.failed_at > ORIGINATE_SILENCE_S:
                result = Result.FAILED
            else:
                continue
            asyncio.get_running_loop().create_task(self._finish(channel, result, now))

    async def _finish(self, channel: str, result: Result, now: float, record: CallRecord | None = None) -> None:
        flight = self.inflight.pop(channel, None)
        if flight is None:
            return
        figures = self.figures[flight.dialer.campaign]
        figures.results[result.value] = figures.results.get(result.value, 0) + 1
        figures.answered += result in (Result.ANSWERED, Result.ABANDONED)
        figures.abandoned += result is Result.ABANDONED
        figures.machines += result is Result.MACHINE
        self.board.attempt_ended(flight.dialer, result, now)
        answered = record.answered_at if record is not None else None
        pacer = self.pacers[flight.dialer.campaign]
        if flight.answered_at is None:
            pacer.unanswered(result, flight.started_at, now)
        elif result is Result.ANSWERED and answered:
            pacer.talk_ended(now - answered)
        details: dict[str, Any] = {
            "now": now, "uniqueid": channel, "answered_at": flight.answered_at,
            "operator": record.operator if record is not None else None,
            "wait_s": answered - flight.answered_at if answered and flight.answered_at else None,
            "talk_s": now - answered if answered else None,
            "recording": record.recording if record is not None and answered else None,
            "call_id": record.id if record is not None else None,
        }  # fmt: skip
        if flight.message:
            details["note"] = "recorded message left on the answering machine"
        try:
            await asyncio.to_thread(store_attempts.finish_attempt, self.engine, flight.attempt_id, result, **details)
        except SwitchboardError as exc:
            self._error(f"attempt {flight.attempt_id}: result {result.value} not stored: {exc}")

    def on_reconnect(self, live: set[str], closed: list[CallRecord], listed_at: float) -> None:
        """Asterisk came back (or the link did): calls placed before the channel list that are not on it ended
        unseen. Their attempts are closed from what the picture knew: answered, else failed."""
        by_uniqueid = {record.uniqueid: record for record in closed}
        for channel, flight in list(self.inflight.items()):
            if channel in live or flight.started_at >= listed_at:
                continue
            record = by_uniqueid.get(channel)
            answered = record is not None and record.answered_at is not None
            result = flight.result or (Result.ANSWERED if answered else Result.FAILED)
            asyncio.get_running_loop().create_task(self._finish(channel, result, self.clock(), record))

    # -- after a restart -----------------------------------------------------------------------------------------
    async def recover(self) -> None:
        """Attempts left open by an earlier process: followed if their call is still up, else closed as failed."""
        live = {item.get("Uniqueid") or "" for item in await self.ami.list_action("CoreShowChannels")}
        for dialer in self.site.dialers:
            campaign = self.campaigns.get(dialer.campaign)
            if campaign is None:
                continue
            for attempt in await asyncio.to_thread(dialing.open_attempts, self.engine, campaign.id):
                channel = f"{CHANNEL_PREFIX}{attempt.id}"
                if channel in self.inflight:
                    continue
                self.inflight[channel] = InFlight(
                    attempt.id, attempt.lead_id, attempt.phone, dialer, attempt.started_at,
                    answered_at=attempt.started_at if channel in self.picture.calls else None,
                )  # fmt: skip
                if channel not in live:
                    await self._finish(channel, Result.FAILED, self.clock())
        self._recovered = True

    def _error(self, text: str) -> None:
        log.error("%s", text)
        self.errors.append(text)


def _wrapup_s(site: Site, dialer: DialerSection) -> float:
    queue = site.queue(dialer.queue)
    return float(queue.wrapup_s) if queue is not None else 0.0


def _waiting(flight: InFlight) -> bool:
    """A person answered and waits, within the grace, for an operator."""
    return flight.answered_at is not None and flight.result is None and not flight.put_through
