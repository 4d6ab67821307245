"""The platform's live picture: operators' phones and the calls in progress, kept in memory from AMI events.

Routing reads it without I/O; Redis mirrors it for other processes; after a restart it is rebuilt from SQL and AMI.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from acd.model import CallView, OperatorView, Presence
from acd.routing import choose_operator
from switchboard.config import Site
from switchboard.events import CallerHungUp, Event, OperatorAnswered, OperatorMissed, PhoneStateChanged
from switchboard.store.calls import CallRecord

# Device states in which a phone can take a call.
FREE_STATES = frozenset({"NOT_INUSE"})
OFFLINE_STATES = frozenset({"UNAVAILABLE", "INVALID", "UNKNOWN"})
COUNTERS = ("offered", "answered", "abandoned", "missed", "no_operator")


@dataclass
class OperatorLive:
    sip_user: str
    skills: dict[str, int]
    phone_state: str = "UNAVAILABLE"
    offered_call: str | None = None  # uniqueid of the call we dialed this operator for
    idle_since: float = 0.0

    def presence(self) -> Presence:
        if self.phone_state in OFFLINE_STATES:
            return Presence.UNREGISTERED
        if self.offered_call is not None:
            return Presence.OFFERED
        if self.phone_state not in FREE_STATES:
            return Presence.ON_CALL
        return Presence.AVAILABLE

    def view(self) -> OperatorView:
        return OperatorView(self.sip_user, self.presence(), self.skills, self.idle_since)


@dataclass(frozen=True, slots=True)
class RouteResult:
    """What the route script tells the dialplan."""

    call_id: str
    target: str  # Dial string, "" when nobody is free
    recording: str  # absolute path, "" when not recorded
    operator: str | None
    reason: str


@dataclass
class Picture:
    site: Site
    operators: dict[str, OperatorLive] = field(default_factory=dict)
    calls: dict[str, CallRecord] = field(default_factory=dict)  # by the caller channel's uniqueid
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    built: bool = False  # rebuilt once: from then on the picture is newer than the SQL records

    def __post_init__(self) -> None:
        for op in self.site.operators:
            self.operators.setdefault(op.sip_user, OperatorLive(op.sip_user, dict(op.skills)))

    # -- routing -------------------------------------------------------------------------------
    def route_inbound(self, uniqueid: str, caller: str, hotline: str, now: float) -> tuple[RouteResult, CallRecord]:
        """Choose the operator for a hotline call, mark them offered, and open the call record."""
        queue = self.site.hotline_queue(hotline)
        call_id = str(uuid.uuid4())
        call = CallView(call_id, hotline, queue.name if queue else "", dict(queue.requires) if queue else {}, now)
        decision = choose_operator(call, (op.view() for op in self.operators.values()), now)
        recording = self._recording_path(call_id, queue.recording if queue else None) if decision.operator else ""
        if decision.operator:
            self.operators[decision.operator].offered_call = uniqueid
        record = CallRecord(
            id=call_id,
            uniqueid=uniqueid,
            direction="inbound",
            caller=caller,
            hotline=hotline,
            queue=call.queue or None,
            operator=decision.operator,
            started_at=now,
            recording=recording or None,
        )
        self.counters["offered"] += 1
        if decision.operator is None:
            self.counters["no_operator"] += 1
            record = replace(record, outcome="no_operator")
        self.calls[uniqueid] = record
        target = f"PJSIP/{decision.operator}" if decision.operator else ""
        return RouteResult(call_id, target, recording, decision.operator, decision.reason), record

    def _recording_path(self, call_id: str, queue_setting: bool | None) -> str:
        enabled = self.site.recording if queue_setting is None else queue_setting
        return str(Path(self.site.recordings_path) / f"{call_id}.wav") if enabled else ""

    # -- events --------------------------------------------------------------------------------
    def apply(self, event: Event) -> CallRecord | None:
        """Fold one event into the picture; returns the call record to persist when one changed."""
        if isinstance(event, PhoneStateChanged):
            self._phone_state(event)
            return None
        record = self.calls.get(event.uniqueid)
        if record is None:
            return None
        if isinstance(event, CallerHungUp):
            return self.end_call(record, event.at, event.cause)
        if record.outcome is not None:
            return None  # decided already: a late or repeated DialEnd must not count the call twice
        if isinstance(event, OperatorAnswered):
            self._release_offer(record)
            self.counters["answered"] += 1
            return self._update(replace(record, answered_at=event.at, outcome="answered"))
        if isinstance(event, OperatorMissed):
            self._release_offer(record, at=event.at)
            if event.status == "CANCEL":  # the caller gave up while the phone rang: an abandon, counted at hangup
                return None
            self.counters["missed"] += 1
            return self._update(replace(record, outcome="missed"))
        return None

    def end_call(self, record: CallRecord, at: float, cause: int | None) -> CallRecord:
        self._release_offer(record, at=at)
        del self.calls[record.uniqueid]
        outcome = record.outcome
        if outcome is None:
            outcome = "abandoned"
            self.counters["abandoned"] += 1
        return replace(record, ended_at=at, hangup_cause=cause, outcome=outcome)

    def _update(self, record: CallRecord) -> CallRecord:
        self.calls[record.uniqueid] = record
        return record

    def _release_offer(self, record: CallRecord, at: float | None = None) -> None:
        op = self.operators.get(record.operator or "")
        if op is not None and op.offered_call == record.uniqueid:
            op.offered_call = None
            if at is not None and op.phone_state in FREE_STATES:
                op.idle_since = at

    def _phone_state(self, event: PhoneStateChanged) -> None:
        op = self.operators.get(event.sip_user)
        if op is None:
            return
        was_free = op.phone_state in FREE_STATES
        op.phone_state = event.state
        if op.phone_state in FREE_STATES and not was_free:
            op.idle_since = event.at

    # -- rebuild after a (re)connect -----------------------------------------------------------
    def rebuild(
        self,
        phone_states: dict[str, str],
        live_uniqueids: set[str],
        open_records: Iterable[CallRecord],
        now: float,
        *,
        listed_at: float | None = None,
    ) -> list[CallRecord]:
        """Reset from DeviceStateList, CoreShowChannels and the open SQL records; returns the records closed.

        Only a picture never built adopts the open SQL records (a new process learns its calls there); afterwards
        SQL lags the picture. Calls routed at or after `listed_at` (when the channels were listed) are kept.
        """
        for sip_user, op in self.operators.items():
            op.phone_state = phone_states.get(sip_user, "UNAVAILABLE")
            op.offered_call = None
            if op.phone_state in FREE_STATES:
                op.idle_since = min(op.idle_since or now, now)
        if not self.built:
            for record in open_records:
                if record.uniqueid not in self.calls:
                    self._adopt(record)
            self.built = True
        closed = []
        for uniqueid, record in list(self.calls.items()):
            listed = listed_at is None or record.started_at < listed_at
            if listed and uniqueid not in live_uniqueids:
                # The call ended while we could not see it: close it with the time we learned of it.
                closed.append(self.end_call(record, now, None))
            elif record.outcome is None and (rung := self.operators.get(record.operator or "")) is not None:
                rung.offered_call = uniqueid  # still ringing; an operator gone from the site has nothing to mark
        return closed

    def _adopt(self, record: CallRecord) -> None:
        """A call routed by an earlier process: counted here too, so the counters still add up."""
        self.calls[record.uniqueid] = record
        self.counters["offered"] += 1
        if record.outcome in self.counters:
            self.counters[record.outcome] += 1

    def operator_states(self) -> dict[str, str]:
        return {user: op.presence().value for user, op in self.operators.items()}
