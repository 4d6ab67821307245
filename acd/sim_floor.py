"""The simulated floor: calls waiting, operators idle, and the interface every routing policy implements.

The simulator owns these records and applies the matches a policy returns; policies only read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from acd.model import CallView, OperatorView, Presence


@dataclass(slots=True)
class SimCall:
    index: int
    queue: int  # index into the scenario's queues
    view: CallView  # what routing sees (call_id is str(index))
    talk_s: float
    wrapup_s: float
    patience_s: float  # math.inf: never gives up

    @property
    def arrived_at(self) -> float:
        return self.view.arrived_at


@dataclass(slots=True)
class SimOperator:
    index: int
    sip_user: str
    skills: Mapping[str, int]
    idle_since: float = 0.0  # end of the last wrap-up (0: start of the day)
    last_answered_at: float | None = None  # when the last call was put through (mod_callcenter's last_offered_call)
    last_hangup_at: float | None = None  # end of the last talk (app_queue's lastcall)
    talk_s_today: float = 0.0

    def view(self) -> OperatorView:
        return OperatorView(
            self.sip_user,
            Presence.AVAILABLE,
            self.skills,
            idle_since=self.idle_since,
            talk_s_today=self.talk_s_today,
            last_offered_at=self.last_answered_at or 0.0,
        )


@dataclass(slots=True)
class Floor:
    """Who waits (in arrival order, overall and per queue) and who is idle, right now."""

    queue_count: int
    waiting: dict[int, SimCall] = field(default_factory=dict)
    by_queue: list[dict[int, SimCall]] = field(default_factory=list)
    idle: dict[int, SimOperator] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_queue = [{} for _ in range(self.queue_count)]

    def enqueue(self, call: SimCall) -> None:
        self.waiting[call.index] = call
        self.by_queue[call.queue][call.index] = call

    def dequeue(self, call: SimCall) -> None:
        del self.waiting[call.index]
        del self.by_queue[call.queue][call.index]


Match = tuple[SimCall, SimOperator]


class Policy(Protocol):
    """A routing policy: told what just changed on the floor, it answers with the calls to put through now.

    Every match must pair a waiting call with an idle operator, each used at most once.
    """

    name: str

    def wake_offsets(self, call: SimCall) -> Iterable[float]:
        """Seconds after arrival at which this call's eligible operators change (a step, a penalty or tier rule)."""
        ...

    def on_arrival(self, call: SimCall, floor: Floor, now: float) -> list[Match]: ...

    def on_free(self, operator: SimOperator, floor: Floor, now: float) -> list[Match]: ...

    def on_wake(self, call: SimCall, floor: Floor, now: float) -> list[Match]: ...

    def on_abandon(self, floor: Floor, now: float) -> list[Match]: ...


class DispatchPolicy:
    """A policy that rescans the whole floor after every change, as app_queue and mod_callcenter do by polling."""

    name = "dispatch"

    def dispatch(self, floor: Floor, now: float) -> list[Match]:
        raise NotImplementedError

    def on_arrival(self, call: SimCall, floor: Floor, now: float) -> list[Match]:
        return self.dispatch(floor, now)

    def on_free(self, operator: SimOperator, floor: Floor, now: float) -> list[Match]:
        return self.dispatch(floor, now)

    def on_wake(self, call: SimCall, floor: Floor, now: float) -> list[Match]:
        return self.dispatch(floor, now)

    def on_abandon(self, floor: Floor, now: float) -> list[Match]:
        return self.dispatch(floor, now)
