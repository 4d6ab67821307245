"""Covered calls: a freed operator leaves to a free colleague the calls that colleague will be able to take in time."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from acd.cover import cover_rank, covered
from acd.index import STARVING, OperatorIndex, WaitingIndex, service_rank, standing
from acd.matching import assign
from acd.model import CallView, OperatorView, Presence, QueueRule, Step
from acd.routing import choose_call, is_qualified
from acd.values import evolve
from tests.unit.test_acd_routing import nows, operators, waiting, widened_calls


def brute_covered(call: CallView, ops: list[OperatorView], now: float) -> bool:
    """Some available operator, not qualified now, is qualified at one of the call's later steps before its target."""
    later = [
        call.arrived_at + step.after_s for step in call.steps if now - call.arrived_at < step.after_s < call.sl_seconds
    ]
    return any(
        op.presence is Presence.AVAILABLE
        and not is_qualified(op, call, now)
        and any(is_qualified(op, call, moment) for moment in later)
        for op in ops
    )


@settings(max_examples=150)
@given(widened_calls, operators, nows)
def test_covered_means_a_free_colleague_will_qualify_at_a_later_step_within_target(
    call: CallView, ops: list[OperatorView], now: float
) -> None:
    """Covered exactly as the definition says, and a covered call is within its target, so never starving."""
    assert covered(call, OperatorIndex.build(ops), now) is brute_covered(call, ops, now)
    if brute_covered(call, ops, now):
        assert now - call.arrived_at < call.sl_seconds
        assert standing(call, now) != STARVING


def test_a_call_for_one_named_operator_is_never_covered() -> None:
    """A call transferred to a colleague by name waits for them alone, whoever else is free."""
    call = CallView("c1", "100", "q", {"tax": 1}, 0.0, steps=(Step(0, 3), Step(10, 1)), operator="op1")
    junior = OperatorView("op2", Presence.AVAILABLE, {"tax": 1})
    assert not covered(call, OperatorIndex.build([junior]), now=5)


@settings(max_examples=100)
@given(operators, waiting, nows, st.integers(0, 11))
def test_a_freed_operator_takes_the_first_qualified_call_in_cover_rank_and_never_idles(
    ops: list[OperatorView], calls_: list[CallView], now: float, pick: int
) -> None:
    """Given the free colleagues: qualified now, first in cover rank; None only when no waiting call qualifies."""
    free = [op for op in ops if op.presence is Presence.AVAILABLE]
    if not ops:
        return
    freed = evolve(ops[pick % len(ops)], presence=Presence.AVAILABLE)
    pool = [*(op for op in free if op.sip_user != freed.sip_user), freed]
    picked = choose_call(freed, calls_, now, free_operators=free)
    assert picked == choose_call(freed, WaitingIndex.build(calls_), now, OperatorIndex.build(ops))
    qualified = [call for call in calls_ if is_qualified(freed, call, now)]
    assert (picked is None) == (not qualified)
    if picked is not None:
        assert picked == min(qualified, key=lambda call: cover_rank(call, now, brute_covered(call, pool, now)))
        assert all(call.priority <= picked.priority for call in qualified)


@settings(max_examples=100)
@given(operators, waiting, nows, st.integers(0, 11))
def test_the_shell_dispatch_gives_a_freed_operator_the_call_choose_call_picks(
    ops: list[OperatorView], calls_: list[CallView], now: float, pick: int
) -> None:
    """From a settled floor (no free operator qualifies for a waiting call), one operator frees: `assign`, which the
    shell runs, pairs them with the very call `choose_call` picks, which the simulator runs."""
    if not ops:
        return
    freed = evolve(ops[pick % len(ops)], presence=Presence.AVAILABLE)
    free = [op for op in ops if op.presence is Presence.AVAILABLE and op.sip_user != freed.sip_user]
    settled = [call for call in calls_ if not any(is_qualified(op, call, now) for op in free)]
    pairs = assign(settled, [*free, freed], now)
    picked = choose_call(freed, settled, now, free_operators=free)
    assert pairs == ([] if picked is None else [(picked.call_id, freed.sip_user)])


def test_the_freed_senior_takes_the_advanced_call_and_leaves_the_general_one_to_the_junior() -> None:
    """A general call opens to the free junior at its 10 s step, within its 20 s target: the senior, freed, takes
    the advanced call only seniors can take; with nobody else free, first come first served as before."""
    general = QueueRule("tax_general", {"tax": 1}, (Step(0, 3), Step(10, 2)), sl_seconds=20)
    advanced = QueueRule("tax_advanced", {"tax": 3}, (Step(0, 5), Step(15, 4)), sl_seconds=30)
    early = general.call("c1", "100", arrived_at=100.0)
    hard = advanced.call("c2", "100", arrived_at=102.0)
    senior = OperatorView("senior", Presence.AVAILABLE, {"tax": 5}, idle_since=105)
    junior = OperatorView("junior", Presence.AVAILABLE, {"tax": 2}, idle_since=0)
    assert service_rank(early, 105) < service_rank(hard, 105)
    assert choose_call(senior, [early, hard], now=105) == early
    assert choose_call(senior, [early, hard], now=105, free_operators=[junior]) == hard
    assert assign([early, hard], [senior, junior], now=105) == [("c2", "senior")]
    busy = evolve(junior, presence=Presence.ON_CALL)
    assert choose_call(senior, [early, hard], now=105, free_operators=[busy]) == early
    # Its last step before the target passed, no colleague is waiting for one to take it: first come first served.
    assert choose_call(senior, [early, hard], now=111, free_operators=[junior]) == early
    # Alone in line, the covered call is still taken: nobody idles while a call they qualify for waits.
    assert choose_call(senior, [early], now=105, free_operators=[junior]) == early
