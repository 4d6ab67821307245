"""Every lead's fate and every operator's comings and goings, drawn in advance so all policies face the same day.

Lead i draws its numbers from one stream per quantity (outcome, ring times, talk, wrap-up, AMD's error), so whichever
policy dials lead i, at whatever moment, gets the same person with the same talk time. Only the live share may
depend on when it is dialed (a scenario's live_schedule): the outcome is read off the same uniform at that moment.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from dialer.sim.scenario import DialerScenario

LIVE, MACHINE, BUSY, NO_ANSWER = range(4)
CHURN_IN_S = 45 * 60.0  # a churning operator's spells logged in and out: exponential, these means
CHURN_OUT_S = 15 * 60.0
_BLOCK = 1024


@dataclass(frozen=True, slots=True)
class Fate:
    kind: int  # LIVE, MACHINE, BUSY, NO_ANSWER (a person or machine answering after the timeout is NO_ANSWER)
    ends_s: float  # launch to the answer (live, machine) or to the release (busy, no answer)
    talk_s: float
    wrapup_s: float
    amd_miss: bool  # AMD would take this person for a machine


class LeadStream:
    """Lead fates, drawn lazily in blocks, identical for every policy that runs the same seed."""

    def __init__(self, scenario: DialerScenario, seed: int) -> None:
        self.scenario = scenario
        names = ("outcome", "live", "machine", "talk", "wrapup", "amd")
        self._rngs = [random.Random(f"{seed}:lead:{name}") for name in names]
        self._draws: list[list[float]] = [[] for _ in names]
        live, machine, busy, _ = scenario.outcomes
        self._base = (live, machine, busy)

    def fate(self, index: int, into_shift_s: float) -> Fate:
        """Lead `index` dialed `into_shift_s` seconds after its shift started."""
        while index >= len(self._draws[0]):
            self._extend()
        u, live_ring, machine_ring, talk, wrapup, amd = (draws[index] for draws in self._draws)
        spec = self.scenario
        live0, machine0, busy0 = self._base
        live = spec.live_share(into_shift_s)
        scale = (1.0 - live) / (1.0 - live0)  # the other outcomes keep their proportions
        timeout = spec.no_answer_timeout_s
        if u < live:
            if live_ring > timeout:
                return Fate(NO_ANSWER, timeout, talk, wrapup, False)
            return Fate(LIVE, live_ring, talk, wrapup, amd < spec.amd_false_positive)
        if u < live + machine0 * scale:
            return (
                Fate(MACHINE, machine_ring, 0.0, 0.0, False)
                if machine_ring <= timeout
                else Fate(NO_ANSWER, timeout, 0.0, 0.0, False)
            )
        if u < live + (machine0 + busy0) * scale:
            return Fate(BUSY, spec.busy_s, 0.0, 0.0, False)
        return Fate(NO_ANSWER, timeout, 0.0, 0.0, False)

    def live_ring(self, index: int) -> float:
        """When a person would answer lead `index` (the oracle's knowledge, whatever the lead's outcome)."""
        while index >= len(self._draws[1]):
            self._extend()
        return self._draws[1][index]

    def _extend(self) -> None:
        spec = self.scenario
        samplers: tuple[Callable[[random.Random], float], ...] = (
            lambda rng: rng.random(),
            spec.live_ring_s.sample,
            spec.machine_ring_s.sample,
            spec.talk_s.sample,
            spec.wrapup_s.sample,
            lambda rng: rng.random(),
        )
        for rng, draws, sample in zip(self._rngs, self._draws, samplers, strict=True):
            draws.extend(sample(rng) for _ in range(_BLOCK))


def churn_spells(scenario: DialerScenario, seed: int, operator: int, day: int) -> list[tuple[float, float]]:
    """A churning operator's spells away in one shift, as (log-out request, log-in) seconds into the shift.

    Spells in and out alternate with exponential lengths; the shift starts in either, in proportion to their means.
    A log-out request while on a call takes effect once the wrap-up is done.
    """
    rng = random.Random(f"{seed}:churn:{operator}:{day}")
    shift = scenario.shift_s
    spells: list[tuple[float, float]] = []
    t = 0.0
    logged_in = rng.random() < CHURN_IN_S / (CHURN_IN_S + CHURN_OUT_S)
    if not logged_in:
        back = rng.expovariate(1.0 / CHURN_OUT_S)
        spells.append((0.0, back))
        t = back
    while t < shift:
        out = t + rng.expovariate(1.0 / CHURN_IN_S)
        back = out + rng.expovariate(1.0 / CHURN_OUT_S)
        if out < shift:
            spells.append((out, back))
        t = back
    return spells
