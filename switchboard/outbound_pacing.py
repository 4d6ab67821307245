"""How many calls a dialer places now: the shell around dialer.pacing, fed from the live picture and the attempts.

A `Pacer` per campaign builds the pacing's snapshot of the floor (operators of the dialer's queue free in session
mode, talking or in wrap-up since when; calls ringing with their ages and launch risks; answered calls waiting)
and folds what happens into the pacing's memory: how attempts ended and when, calls put through or dropped, talk
and wrap-up durations. Progressive, power and predictive all decide through dialer.pacing.calls_to_launch, the
code the simulator runs. After a restart the memory is rebuilt from the store: the abandonment window from the
attempts inside it, the estimates from the campaign's recent attempts.

Only operators in session mode count: a person who answers must hear an operator within the grace time, and a
phone that rings first cannot make it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from acd.model import Presence
from acd.operators import OperatorState
from dialer.campaigns.model import Result
from dialer.pacing import (
    Ending,
    Floor,
    Method,
    PacingMemory,
    PacingParams,
    PacingState,
    Work,
    amd_pays,
    answer_recorded,
    attempt_ended,
    calls_to_launch,
    new_memory,
    work_done,
)
from switchboard.config import DialerSection
from switchboard.picture import Picture

DAY_S = 86400.0
WINDOWS_S = {"30d": 30 * DAY_S, "24h": DAY_S}
# How an attempt's result reads to the pacing's learning (answered and abandoned calls were connectable).
ENDINGS = {
    Result.ANSWERED: Ending.CONNECTABLE,
    Result.ABANDONED: Ending.CONNECTABLE,
    Result.MACHINE: Ending.MACHINE,
    Result.BUSY: Ending.BUSY,
    Result.CONGESTION: Ending.BUSY,
    Result.NO_ANSWER: Ending.NO_ANSWER,
}


def free_operators(dialer: DialerSection, picture: Picture, now: float) -> int:
    """Operators who serve the dialer's queue, in session mode, available now."""
    return sum(1 for _ in _session_operators(dialer, picture, now, Presence.AVAILABLE))


def pacing_params(dialer: DialerSection) -> PacingParams:
    """The pacing's settings from the site's dialer section (AMD's audited error rate decides if AMD pays)."""
    params = PacingParams(
        method=Method(dialer.method),
        ratio=dialer.ratio,
        max_abandon_rate=dialer.max_abandon_rate,
        window_s=WINDOWS_S[dialer.window],
        grace_s=dialer.grace_s,
        amd=dialer.amd,
        amd_false_positive=dialer.amd_false_positive,
        dial_timeout_s=float(dialer.ring_timeout_s),
        max_launch=dialer.max_lines,
    )
    return replace(params, amd=amd_pays(params))


@dataclass(frozen=True)
class Ringing:
    """A call the dialer placed that has not been answered yet: when, and the risk its launch was given."""

    started_at: float
    risk: float = 0.0


@dataclass(frozen=True)
class PastAttempt:
    """An ended attempt from the store, to rebuild the memory after a restart."""

    started_at: float
    ended_at: float
    result: Result
    answered_at: float | None = None
    talk_s: float | None = None


class Pacer:
    """One campaign's pacing: the decision, and what it learns from each attempt."""

    def __init__(self, dialer: DialerSection, wrapup_s: float = 0.0) -> None:
        self.dialer, self.wrapup_s = dialer, wrapup_s  # wrapup_s: the dialer's queue's wrap-up after each call
        self.params = pacing_params(dialer)
        self.memory: PacingMemory = new_memory(self.params)
        self.last_risks: tuple[float, ...] = ()  # of the last decision's calls, in launch order
        self.predictive_share = 1.0  # the governor's last word: 1 fully predictive, 0 slid back to progressive

    def launches(self, picture: Picture, ringing: Iterable[Ringing], waiting: int, now: float) -> int:
        """Calls to place now, within the dialer's line limit; their risks are kept in `last_risks`."""
        calls = list(ringing)
        floor = self.floor(picture, calls, waiting, now)
        decision = calls_to_launch(PacingState(floor, self.memory), self.params, now)
        wanted = max(0, min(decision.launch, self.dialer.max_lines - len(calls)))
        self.last_risks = (*decision.risks, *([0.0] * decision.launch))[:wanted]
        self.predictive_share = decision.predictive_share
        return wanted

    def floor(self, picture: Picture, ringing: list[Ringing], waiting: int, now: float) -> Floor:
        talking: list[float] = []
        wrapping: list[float] = []
        for _, state in _session_operators(self.dialer, picture, now, Presence.ON_CALL, Presence.WRAP_UP):
            record = picture.calls.get(state.on_call or "")
            if state.on_call is not None:
                talking.append(record.answered_at if record and record.answered_at else now)
            else:
                wrapping.append(state.wrapup_until - self.wrapup_s)
        return Floor(
            free=free_operators(self.dialer, picture, now),
            talking_since=tuple(talking),
            wrapup_since=tuple(wrapping),
            ringing_since=tuple(call.started_at for call in ringing),
            ringing_risk=tuple(call.risk for call in ringing),
            waiting=waiting,
        )

    # -- what happened -------------------------------------------------------------------------------------------
    def answered(self, started_at: float, now: float, *, person: bool) -> None:
        """The network answered: a person (or, without AMD, anyone), or AMD said machine."""
        ending = Ending.CONNECTABLE if person else Ending.MACHINE
        self.memory = attempt_ended(self.memory, self.params, ending, now - started_at, now)

    def unanswered(self, result: Result, started_at: float, now: float) -> None:
        """The attempt ended without an answer: busy, congestion or no answer (failures teach nothing)."""
        ending = ENDINGS.get(result)
        if ending is Ending.BUSY or ending is Ending.NO_ANSWER:
            self.memory = attempt_ended(self.memory, self.params, ending, now - started_at, now)

    def put_through(self, now: float, *, dropped: bool) -> None:
        """A connectable call reached an operator in time, or was dropped (abandoned)."""
        self.memory = answer_recorded(self.memory, self.params, now, dropped=dropped)

    def talk_ended(self, talk_s: float) -> None:
        """An operator's talk ended; the queue's wrap-up follows."""
        self.memory = work_done(self.memory, Work.TALK, talk_s)
        if self.wrapup_s > 0:
            self.memory = work_done(self.memory, Work.WRAPUP, self.wrapup_s)

    def rebuild(self, history: Iterable[PastAttempt], now: float) -> None:
        """The memory after a restart, from the campaign's attempts (oldest first): the legal window's answered and
        abandoned calls at their own times, the ending shares and durations from the recent ones."""
        memory = new_memory(self.params)
        timing = self.params.timing
        delays = {Ending.CONNECTABLE: timing.connect_delay_s, Ending.MACHINE: timing.machine_delay_s}
        window_start = now - self.params.window_s
        for past in history:
            if past.result in (Result.ANSWERED, Result.ABANDONED) and past.ended_at >= window_start:
                memory = answer_recorded(memory, self.params, past.ended_at, dropped=past.result is Result.ABANDONED)
            ending = ENDINGS.get(past.result)
            if ending is not None:  # learned as attempt_ended learns: when it was answered, without AMD's delay
                at = past.answered_at if past.answered_at is not None else past.ended_at
                seconds = max(at - past.started_at - delays.get(ending, 0.0), 0.0)
                memory = replace(memory, estimates=memory.estimates.attempt_ended(ending, seconds))
            if past.talk_s:
                memory = work_done(memory, Work.TALK, past.talk_s)
        self.memory = memory


def _session_operators(
    dialer: DialerSection, picture: Picture, now: float, *presences: Presence
) -> Iterator[tuple[str, OperatorState]]:
    for user, state in picture.operators.items():
        if state.session and state.presence(now) in presences and dialer.queue in picture.queues_of(user):
            yield user, state
