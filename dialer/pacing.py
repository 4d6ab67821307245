"""Pacing: how many calls an outbound campaign launches now, for preview, progressive, power and predictive dialing.

Pure: the shell (or the simulator) passes a snapshot of the floor and what has been learned, and the time.

The predictive method, in short (dialer.pacing_model, _governor and _learning say why each part is as it is):
at every event and at least every second, look at the operators free now and about to be free, and at the calls
ringing with their ages; launch one more call while the chance that it ends abandoned stays under a threshold.
That chance is counted as what the call adds to the expected abandoned calls, per call that connects: its own
risk and the risk it adds to the calls already ringing that it would overtake. The threshold is tuned online
toward the target rate; the governor refuses any launch that would lift the upper bound on the window's rate
over the cap, and slides back to progressive as the headroom under the cap runs out. Progressive launches (a
free operator for every call in flight) are always allowed: they abandon nobody but AMD's false positives.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from dialer.pacing_governor import AbandonWindow, InFlight, fallback, headroom, rate_bound, tuned_threshold
from dialer.pacing_learning import Ending, Estimates
from dialer.pacing_model import Timing, launch_risks, picture

__all__ = [
    "Decision",
    "Ending",
    "Estimates",
    "Floor",
    "Method",
    "PacingMemory",
    "PacingParams",
    "PacingState",
    "Work",
    "amd_pays",
    "answer_recorded",
    "attempt_ended",
    "calls_to_launch",
    "new_memory",
    "work_done",
]

_BATCH = 16  # risks are computed this many calls at a time; most decisions stop inside the first batch


class Method(enum.StrEnum):
    PREVIEW = "preview"  # the operator sees the lead and starts the call: the dialer launches nothing
    PROGRESSIVE = "progressive"  # one call per free operator
    POWER = "power"  # a fixed ratio of calls per free operator
    PREDICTIVE = "predictive"


@dataclass(frozen=True, slots=True)
class PacingParams:
    """A campaign's pacing settings; the times are the dialplan's own (timeout, AMD, grace)."""

    method: Method = Method.PREDICTIVE
    ratio: float = 2.0  # power: calls in flight per free operator
    max_abandon_rate: float = 0.03  # the legal cap (FCC and Ofcom: 3%)
    target_rate: float | None = None  # what the threshold is tuned toward; None: 95% of the cap
    window_s: float = 30 * 86400.0  # FCC: 30 days; Ofcom (UK mode): 24 hours
    grace_s: float = 2.0  # from the end of the greeting to an operator on the line
    amd: bool = True
    amd_human_s: float = 0.8  # a HUMAN (or NOTSURE) verdict comes this long after the greeting
    amd_machine_s: float = 3.0  # a MACHINE verdict comes this long after the answer
    amd_false_positive: float = 0.0  # audited share of people AMD takes for machines: hung up on, so abandoned
    dial_timeout_s: float = 20.0
    confidence_z: float = 1.645  # one-sided 95%
    slide_calls: float = 2.0  # headroom under the cap, in abandoned calls, below which predictive slides back
    threshold_gain: float = 0.1
    max_launch: int = 400  # per decision: a guard for the trunks, not a pacing rule

    @property
    def target(self) -> float:
        """The total abandonment rate aimed at (AMD's false positives included)."""
        return self.target_rate if self.target_rate is not None else 0.95 * self.max_abandon_rate

    @property
    def false_positive_share(self) -> float:
        return self.amd_false_positive if self.amd else 0.0

    @property
    def drop_target(self) -> float:
        """What is left of the target for calls that find no operator, once AMD's false positives are paid."""
        return max(self.target - self.false_positive_share, self.target / 20.0)

    @property
    def timing(self) -> Timing:
        human = self.amd_human_s if self.amd else 0.0
        return Timing(self.dial_timeout_s, human, self.amd_machine_s if self.amd else 0.0, self.grace_s - human)


@dataclass(frozen=True, slots=True)
class Floor:
    """The campaign's operators and calls right now. Times are absolute seconds on the caller's clock."""

    free: int  # ready for a call, nobody put through yet
    talking_since: tuple[float, ...] = ()  # talking with a person since
    wrapup_since: tuple[float, ...] = ()
    machine_since: tuple[float, ...] = ()  # put through to a machine (AMD off) since
    ringing_since: tuple[float, ...] = ()  # launched, not yet ended or connectable
    ringing_risk: tuple[float, ...] = ()  # each ringing call's risk as its Decision gave it (0 if unknown)
    waiting: int = 0  # connectable, waiting for an operator within the grace


@dataclass(frozen=True, slots=True)
class PacingMemory:
    """What pacing carries from one decision to the next: estimates, the window's counts, the tuned threshold."""

    estimates: Estimates = field(default_factory=Estimates.prior)
    window: AbandonWindow = field(default_factory=AbandonWindow)
    threshold: float = 0.05
    pending: tuple[tuple[float, Ending, float], ...] = ()  # ended attempts not yet learned from: (launched, ...)


@dataclass(frozen=True, slots=True)
class PacingState:
    floor: Floor
    memory: PacingMemory


@dataclass(frozen=True, slots=True)
class Decision:
    launch: int
    risks: tuple[float, ...] = ()  # per launched call: what it adds to the expected abandoned calls, per connect
    bound: float = 0.0  # the governor's bound on the window's rate once these calls have ended
    predictive_share: float = 1.0  # 1: fully predictive; 0: fallen back to progressive


def new_memory(params: PacingParams, estimates: Estimates | None = None) -> PacingMemory:
    """A campaign's first memory: prior estimates, an empty window, the threshold at twice the drop target."""
    return PacingMemory(estimates or Estimates.prior(), AbandonWindow(params.window_s), 2.0 * params.drop_target)


def calls_to_launch(state: PacingState, params: PacingParams, now: float) -> Decision:
    """How many calls to launch now, and for predictive why (risks, bound)."""
    floor = state.floor
    progressive = max(0, floor.free - floor.waiting - len(floor.ringing_since))
    if params.method is Method.PREVIEW:
        return Decision(0)
    if params.method is Method.PROGRESSIVE:
        return Decision(min(progressive, params.max_launch))
    if params.method is Method.POWER:
        wanted = math.floor(params.ratio * floor.free + 0.5) - floor.waiting - len(floor.ringing_since)
        return Decision(min(max(wanted, 0), params.max_launch))
    return _predictive(state, params, now, progressive)


def _predictive(state: PacingState, params: PacingParams, now: float, progressive: int) -> Decision:
    floor, memory = state.floor, state.memory
    ringing = now - np.asarray(floor.ringing_since, dtype=np.float64)
    ages = {
        "talk": now - np.asarray(floor.talking_since, dtype=np.float64),
        "wrapup": now - np.asarray(floor.wrapup_since, dtype=np.float64),
        "machine": now - np.asarray(floor.machine_since, dtype=np.float64),
    }
    pic = picture(memory.estimates, params.timing, ages, floor.free, floor.waiting, ringing)
    fp = params.false_positive_share  # every connectable call also carries AMD's unseen false positives
    flight = InFlight()
    for connect, risk in zip(pic.ringing_connect.tolist(), _padded(floor.ringing_risk, ringing.size), strict=True):
        flight = flight.plus(connect, risk + fp)
    abandoned, answered = memory.window.totals(now)
    cap, z = params.max_abandon_rate, params.confidence_z
    # the slide counts only answers already had (dialer.pacing_governor says why)
    share = fallback(headroom(abandoned, answered, replace(flight, answers=0.0), z, cap), params.slide_calls)
    threshold = memory.threshold * share
    risks: list[float] = []
    while len(risks) < params.max_launch:
        for raw in launch_risks(pic, len(risks), _BATCH).tolist():
            risk = max(raw, risks[-1]) if risks else raw  # one more call never makes the next one safer
            more = flight.plus(pic.connect_share, risk + fp)
            safe = risk < threshold and rate_bound(abandoned, answered, more, z) <= cap  # False on a NaN too
            if len(risks) >= progressive and not safe:
                return Decision(len(risks), tuple(risks), rate_bound(abandoned, answered, flight, z), share)
            risks.append(risk)
            flight = more
            if len(risks) >= params.max_launch:
                break
    return Decision(len(risks), tuple(risks), rate_bound(abandoned, answered, flight, z), share)


def _padded(values: Sequence[float], size: int) -> list[float]:
    return [*values[:size], *([0.0] * (size - len(values)))]


def attempt_ended(
    memory: PacingMemory, params: PacingParams, ending: Ending, after_s: float, now: float
) -> PacingMemory:
    """An attempt ended (connectable, machine, busy, no answer) `after_s` seconds after its launch, at `now`.

    Attempts are learned from in launch order, once every attempt launched before them has ended too (the
    timeout and the verdict bound that): a fresh wave's quick endings (busy, early answers) would otherwise pass
    for the whole story, and a campaign's first minute would think nearly every call is answered within 10 s.
    What is learned is when the call was answered: the AMD verdict's delay is known and the model adds it back.
    """
    timing = params.timing
    launched = now - after_s
    if ending is Ending.CONNECTABLE:
        after_s -= timing.connect_delay_s
    elif ending is Ending.MACHINE:
        after_s -= timing.machine_delay_s
    pending = (*memory.pending, (launched, ending, after_s))
    complete = now - (timing.timeout_s + max(timing.connect_delay_s, timing.machine_delay_s) + 1.0)
    if pending[0][0] > complete and len(pending) < 10_000:  # (a guard: a stalled clock must not hoard them)
        return replace(memory, pending=pending)
    ready = sorted(entry for entry in pending if entry[0] <= complete)
    estimates = memory.estimates
    for _, done, seconds in ready:
        estimates = estimates.attempt_ended(done, seconds)
    return replace(memory, estimates=estimates, pending=tuple(e for e in pending if e[0] > complete))


def answer_recorded(memory: PacingMemory, params: PacingParams, now: float, *, dropped: bool) -> PacingMemory:
    """A connectable call was put through to an operator, or dropped when the grace ran out.

    With AMD on, each HUMAN verdict stands for 1 / (1 - fp) people of whom fp / (1 - fp) were hung up on unseen;
    they are counted as expected values, so the window's rate is the one a regulator's audit would find.
    """
    fp = params.false_positive_share
    unseen = fp / (1.0 - fp) if fp < 1.0 else 0.0
    window = memory.window.added(now, (1.0 if dropped else 0.0) + unseen, 1.0 + unseen)
    abandoned, answered = window.totals(now)
    held = fallback(headroom(abandoned, answered, InFlight(), 0.0, params.max_abandon_rate), params.slide_calls) < 1
    threshold = tuned_threshold(memory.threshold, dropped, params.drop_target, params.threshold_gain, held=held)
    return replace(memory, window=window, threshold=threshold)


def amd_pays(params: PacingParams) -> bool:
    """Whether to run AMD at all: not when its false positives would eat more than a quarter of the cap.

    A person AMD hangs up on is abandoned, so AMD spends fp of the cap before pacing has risked anything, and its
    verdict takes 0.8 s of the 2 s grace. Without it operators hear the machines themselves, a few seconds each.
    Measured in the simulator: with error-free AMD, dialing without it cost 1 point of occupancy (B) and 4 (A,
    where machines outnumber people); with AMD wrong on 1% of people (C), dialing without it gave the same
    occupancy and a lower abandonment rate.
    """
    return params.amd and params.amd_false_positive <= params.max_abandon_rate / 4


class Work(enum.Enum):
    TALK = "talk"
    WRAPUP = "wrapup"
    MACHINE = "machine"  # an operator hanging up on a machine (AMD off)


def work_done(memory: PacingMemory, work: Work, seconds: float) -> PacingMemory:
    """An operator finished a talk, a wrap-up or a machine: the duration feeds the supply side of the model."""
    est = memory.estimates
    if work is Work.TALK:
        est = est.talk_ended(seconds)
    elif work is Work.WRAPUP:
        est = est.wrapup_ended(seconds)
    else:
        est = est.machine_dropped(seconds)
    return replace(memory, estimates=est)
