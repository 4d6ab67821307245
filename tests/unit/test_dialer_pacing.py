"""Pacing decisions: preview, progressive, power and predictive, and the governor that keeps them under the cap."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

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
from dialer.pacing_learning import Estimates, LogNormalFit

NOW = 10_000.0
PARAMS = PacingParams()


def learned(params: PacingParams = PARAMS, wrapup_s: float = 30.0) -> PacingMemory:
    """A memory that has seen a campaign like benchmark B: a quarter answered after about 9 s, 30 s wrap-ups."""
    memory = new_memory(params)
    t = 0.0
    for i in range(2000):
        ending = (Ending.CONNECTABLE, Ending.NO_ANSWER, Ending.MACHINE, Ending.NO_ANSWER)[i % 4]
        after = {Ending.CONNECTABLE: 6.0 + (i % 9), Ending.MACHINE: 18.0, Ending.NO_ANSWER: 20.0}[ending]
        t += 1.0
        memory = attempt_ended(memory, params, ending, after + params.timing.connect_delay_s, t)
    for i in range(300):
        memory = work_done(memory, Work.TALK, 100.0 + i)
        memory = work_done(memory, Work.WRAPUP, wrapup_s)
    return memory


LEARNED = learned()

floors = st.builds(
    Floor,
    free=st.integers(0, 30),
    talking_since=st.lists(st.floats(NOW - 900, NOW), max_size=30).map(tuple),
    wrapup_since=st.lists(st.floats(NOW - 40, NOW), max_size=15).map(tuple),
    ringing_since=st.lists(st.floats(NOW - 25, NOW), max_size=40).map(tuple),
    waiting=st.integers(0, 3),
)


def window_at(rate: float, answered: int, memory: PacingMemory = LEARNED) -> PacingMemory:
    """The memory with `answered` answers in the window, `rate` of them abandoned."""
    abandoned = math.ceil(rate * answered)
    window = memory.window.added(NOW - 60, float(abandoned), float(answered))
    return replace(memory, window=window)


def test_preview_launches_nothing() -> None:
    """Preview: the operator starts each call, so the dialer never launches one."""
    state = PacingState(Floor(free=12), LEARNED)
    assert calls_to_launch(state, replace(PARAMS, method=Method.PREVIEW), NOW).launch == 0


@given(floors)
def test_progressive_launches_one_call_per_free_operator(floor: Floor) -> None:
    """Progressive never has more calls in flight than free operators, so it abandons nobody."""
    decision = calls_to_launch(PacingState(floor, LEARNED), replace(PARAMS, method=Method.PROGRESSIVE), NOW)
    assert decision.launch == max(0, floor.free - floor.waiting - len(floor.ringing_since))
    assert decision.launch == 0 or decision.launch + len(floor.ringing_since) + floor.waiting == floor.free


@given(floors, st.floats(1.0, 5.0))
def test_power_keeps_a_fixed_ratio_of_calls_per_free_operator(floor: Floor, ratio: float) -> None:
    """Power tops the calls in flight up to round(R x free operators), never below zero."""
    params = replace(PARAMS, method=Method.POWER, ratio=ratio)
    decision = calls_to_launch(PacingState(floor, LEARNED), params, NOW)
    wanted = int(ratio * floor.free + 0.5) - floor.waiting - len(floor.ringing_since)
    assert decision.launch == max(wanted, 0)


@settings(max_examples=60, deadline=None)
@given(floors)
def test_predictive_launches_at_least_progressive_and_says_why(floor: Floor) -> None:
    """Never fewer calls than progressive; one risk per call, each no smaller than the one before."""
    decision = calls_to_launch(PacingState(floor, LEARNED), PARAMS, NOW)
    progressive = max(0, floor.free - floor.waiting - len(floor.ringing_since))
    assert decision.launch >= progressive
    assert len(decision.risks) == decision.launch
    assert all(0.0 <= r <= 1.0 for r in decision.risks)
    assert list(decision.risks) == sorted(decision.risks)
    assert 0.0 <= decision.predictive_share <= 1.0


@settings(max_examples=60, deadline=None)
@given(floors, st.floats(0.0, 0.06), st.integers(0, 5000))
def test_the_governor_never_lets_the_projected_rate_cross_the_cap(floor: Floor, rate: float, answered: int) -> None:
    """Whatever the window holds, any call beyond progressive keeps the projected upper bound within the cap."""
    memory = window_at(rate, answered)
    decision = calls_to_launch(PacingState(floor, memory), PARAMS, NOW)
    progressive = max(0, floor.free - floor.waiting - len(floor.ringing_since))
    if decision.launch > progressive:
        assert decision.bound <= PARAMS.max_abandon_rate + 1e-12


@settings(max_examples=40, deadline=None)
@given(floors, st.integers(200, 5000))
def test_at_the_cap_the_dialer_is_progressive(floor: Floor, answered: int) -> None:
    """With the window's rate at the cap there is no headroom: predictive falls back to progressive."""
    decision = calls_to_launch(PacingState(floor, window_at(0.031, answered)), PARAMS, NOW)
    assert decision.launch == max(0, floor.free - floor.waiting - len(floor.ringing_since))
    assert decision.predictive_share == 0.0


@settings(max_examples=60, deadline=None)
@given(floors, st.integers(1, 5))
def test_more_free_operators_never_mean_fewer_calls(floor: Floor, more: int) -> None:
    """Monotone in free operators: freeing more operators never makes the dialer launch fewer calls."""
    before = calls_to_launch(PacingState(floor, LEARNED), PARAMS, NOW).launch
    after = calls_to_launch(PacingState(replace(floor, free=floor.free + more), LEARNED), PARAMS, NOW).launch
    assert after >= before


def test_a_fresh_window_starts_progressive() -> None:
    """A campaign's first answers: no headroom under the cap yet, so only one call per free operator."""
    state = PacingState(Floor(free=20), new_memory(PARAMS))
    decision = calls_to_launch(state, PARAMS, 0.0)
    assert decision.launch == 20
    assert decision.predictive_share == 0.0


def test_operators_about_to_be_free_draw_calls_ahead_of_time() -> None:
    """Wrap-ups ending within the next seconds justify calls now; the same operators just starting theirs do not."""
    soon = Floor(free=0, wrapup_since=tuple(NOW - 25.0 for _ in range(10)))
    late = Floor(free=0, wrapup_since=tuple(NOW for _ in range(10)))
    memory = window_at(0.02, 3000)
    assert calls_to_launch(PacingState(soon, memory), PARAMS, NOW).launch > 0
    assert calls_to_launch(PacingState(late, memory), PARAMS, NOW).launch == 0


def test_calls_already_ringing_hold_back_new_ones() -> None:
    """Forty young calls ringing for five free operators: nothing more to launch."""
    memory = window_at(0.02, 3000)
    quiet = calls_to_launch(PacingState(Floor(free=5), memory), PARAMS, NOW).launch
    busy = Floor(free=5, ringing_since=tuple(NOW - 1.0 for _ in range(40)))
    assert quiet > 5
    assert calls_to_launch(PacingState(busy, memory), PARAMS, NOW).launch == 0


def test_the_same_snapshot_gives_the_same_decision() -> None:
    """Pure: a decision depends on the snapshot and the time only."""
    floor = Floor(free=3, wrapup_since=(NOW - 20, NOW - 29), ringing_since=(NOW - 4, NOW - 9, NOW - 15))
    first = calls_to_launch(PacingState(floor, LEARNED), PARAMS, NOW)
    assert calls_to_launch(PacingState(floor, LEARNED), PARAMS, NOW) == first


def test_a_drop_lowers_the_threshold_and_an_answer_raises_it() -> None:
    """The threshold is tuned toward the target: down after an abandoned call, a little up after a connected one."""
    memory = window_at(0.01, 3000)
    dropped = answer_recorded(memory, PARAMS, NOW, dropped=True)
    connected = answer_recorded(memory, PARAMS, NOW, dropped=False)
    assert dropped.threshold < memory.threshold < connected.threshold
    assert dropped.window.totals(NOW) == (31.0, 3001.0)


def test_near_the_cap_the_threshold_does_not_wind_up() -> None:
    """While the governor holds pacing back, connected calls do not raise the threshold (no windup)."""
    memory = window_at(0.0299, 3000)
    assert answer_recorded(memory, PARAMS, NOW, dropped=False).threshold == memory.threshold


def test_amd_false_positives_are_counted_unseen() -> None:
    """With AMD erring on 1% of people, every HUMAN verdict also counts about 0.01 abandoned people."""
    params = replace(PARAMS, amd_false_positive=0.01)
    memory = answer_recorded(new_memory(params), params, NOW, dropped=False)
    abandoned, answered = memory.window.totals(NOW)
    assert abs(abandoned - 0.01 / 0.99) < 1e-12
    assert abs(answered - 1 / 0.99) < 1e-12


def test_amd_is_dropped_when_its_errors_would_eat_the_budget() -> None:
    """AMD that hangs up on 1% of people spends a third of a 3% cap: run without it. Error-free AMD stays on."""
    assert amd_pays(PARAMS)
    assert not amd_pays(replace(PARAMS, amd_false_positive=0.01))
    assert not amd_pays(replace(PARAMS, amd=False))


def test_attempts_are_learned_once_their_whole_cohort_has_ended() -> None:
    """A quick ending is held back until every call launched before it has ended too: no early-wave bias."""
    memory = new_memory(PARAMS)
    memory = attempt_ended(memory, PARAMS, Ending.BUSY, 2.0, 2.0)
    assert memory.estimates == new_memory(PARAMS).estimates
    assert len(memory.pending) == 1
    later = attempt_ended(memory, PARAMS, Ending.NO_ANSWER, 20.0, 60.0)  # launched at 40: its cohort is still out
    assert later.pending == ((40.0, Ending.NO_ANSWER, 20.0),)
    assert later.estimates.mix.observations == memory.estimates.mix.observations + 1


def test_the_answer_is_learned_without_the_amd_verdict() -> None:
    """What is learned is the answer time: the verdict's known 0.8 s comes off."""
    memory = attempt_ended(new_memory(PARAMS), PARAMS, Ending.CONNECTABLE, 9.8, 9.8)
    memory = attempt_ended(memory, PARAMS, Ending.NO_ANSWER, 20.0, 100.0)
    fresh = Estimates.prior().attempt_ended(Ending.CONNECTABLE, 9.0)
    assert memory.estimates.connect_s == fresh.connect_s


def test_work_done_feeds_the_durations() -> None:
    """Talks, wrap-ups and machines each feed their own fit."""
    memory = new_memory(PARAMS)
    for _ in range(200):
        memory = work_done(memory, Work.WRAPUP, 15.0)
        memory = work_done(memory, Work.MACHINE, 4.0)
    assert abs(memory.estimates.wrapup_s.mean_s - 15.0) < 0.5
    assert abs(memory.estimates.machine_talk_s.mean_s - 4.0) < 0.2
    assert memory.estimates.talk_s == LogNormalFit.prior(300.0, 200.0, weight=10.0)
