"""Skills routing: qualified at that moment (widening), best fit, service rank, specialist reserve, batch assignment."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.cover import cover_rank, covered
from acd.index import IN_TARGET, STARVING, OperatorIndex, WaitingIndex, service_order, service_rank, standing
from acd.model import CallView, Decision, MissPolicy, OperatorView, Presence, QueueRule, Step
from acd.routing import (
    HELD,
    Reserve,
    assign,
    choose_call,
    choose_operator,
    closest_match,
    held,
    is_qualified,
    least_occupied,
    longest_idle,
    ready_to_offer,
    required_levels,
    round_robin,
    should_pause,
)
from acd.skills import holds, levels_held, step_floor, surplus
from acd.strategies import STRATEGIES, Strategy

SKILLS = ["tax", "accounting", "english"]
# Optional keys draw without the rejections a dictionary of unique keys over three skills would need.
skill_maps = st.fixed_dictionaries({}, optional={skill: st.integers(1, 5) for skill in SKILLS})
needs = st.fixed_dictionaries({}, optional={skill: st.integers(0, 3) for skill in SKILLS})  # 0: just hold it
# Half the operators available, so most examples have several eligible operators to choose between.
presences = st.one_of(st.just(Presence.AVAILABLE), st.sampled_from(list(Presence)))
times = st.integers(0, 300).map(float)  # whole seconds: wait - sl_seconds orders calls without float rounding
steps = st.lists(st.builds(Step, after_s=times, min_level=st.integers(0, 5)), max_size=3).map(tuple)
operators = st.lists(
    st.builds(
        OperatorView,
        sip_user=st.integers(0, 999).map(lambda n: f"op{n:03d}"),
        presence=presences,
        skills=skill_maps,
        idle_since=st.floats(0, 1000),
        talk_s_today=st.sampled_from([0.0, 60.0, 600.0]),
        last_offered_at=st.sampled_from([0.0, 100.0, 500.0]),
    ),
    max_size=12,
    unique_by=lambda op: op.sip_user,
)
calls = st.builds(CallView, call_id=st.just("c1"), hotline=st.just("100"), queue=st.just("q"), requires=skill_maps)
widened_calls = st.builds(
    CallView,
    call_id=st.integers(0, 999).map(lambda n: f"c{n:03d}"),
    hotline=st.just("100"),
    queue=st.sampled_from(["sales", "support"]),
    requires=needs,
    arrived_at=times,
    priority=st.integers(0, 2),
    steps=steps,
    sl_seconds=st.sampled_from([10.0, 20.0, 60.0]),
)
waiting = st.lists(widened_calls, max_size=10, unique_by=lambda call: call.call_id)
strategies = st.sampled_from(list(STRATEGIES.values()))
nows = st.integers(0, 400).map(float)
rules = st.builds(
    QueueRule,
    name=st.sampled_from(["sales", "support", "vip", "tax"]),
    requires=needs,
    steps=steps,
    sl_seconds=st.sampled_from([10.0, 20.0, 60.0]),
)


@st.composite
def any_floors(draw: st.DrawFn) -> tuple[list[QueueRule], list[CallView], list[OperatorView], float]:
    """Queues, calls stamped by them (so the reserve knows every call's queue), operators and a moment."""
    queues = draw(st.lists(rules, min_size=1, max_size=4, unique_by=lambda rule: rule.name))
    stamped = [
        draw(st.sampled_from(queues)).call(f"c{n:02d}", "100", draw(times)) for n in range(draw(st.integers(0, 8)))
    ]
    return queues, stamped, draw(operators), draw(nows)


@st.composite
def contested_floors(draw: st.DrawFn) -> tuple[list[QueueRule], list[CallView], list[OperatorView], float]:
    """The reserve's case, then shaken: a general queue widening before its target, a harder queue, a senior able
    to answer both, a junior the widening lets in later, other operators (some may cover the harder queue too)."""
    high = draw(st.integers(2, 5))
    low = draw(st.integers(1, high - 1))
    general = QueueRule(
        "general",
        {"tax": 1},
        (Step(0, high), Step(draw(st.integers(1, 25)), low)),
        sl_seconds=draw(st.sampled_from([20.0, 60.0])),
    )
    hard = draw(st.sampled_from([{"tax": 4}, {"english": 2}, {"tax": 3, "english": 2}]))
    harder = QueueRule(draw(st.sampled_from(["advanced", "english"])), hard, draw(steps), sl_seconds=30.0)
    queues = [general, harder, *draw(st.lists(rules, max_size=1))]
    senior = {"tax": draw(st.integers(max(high, 4), 5)), "english": draw(st.integers(2, 5))}
    junior = {"tax": draw(st.integers(low, high - 1))}
    team = [
        OperatorView("senior", Presence.AVAILABLE, senior, draw(st.integers(0, 100).map(float))),
        OperatorView("junior", draw(st.sampled_from([Presence.AVAILABLE] * 3 + [Presence.ON_CALL])), junior),
        *draw(operators.map(lambda ops: ops[:4])),
    ]
    now = draw(nows)
    arrived = st.integers(0, 30).map(lambda ago: now - ago)
    stamped = [
        draw(st.sampled_from(queues)).call(f"c{n:02d}", "100", draw(arrived)) for n in range(draw(st.integers(1, 6)))
    ]
    return queues, stamped, team, now


floors = st.one_of(any_floors(), contested_floors())


@settings(max_examples=50)
@given(calls, operators)
def test_chosen_operator_is_available_and_qualified(call: CallView, ops: list[OperatorView]) -> None:
    """Whoever is chosen is available and holds every required skill at the required level."""
    decision = choose_operator(call, ops, now=1000.0)
    if decision.operator is not None:
        chosen = next(op for op in ops if op.sip_user == decision.operator)
        assert chosen.presence is Presence.AVAILABLE
        assert is_qualified(chosen, call)


@settings(max_examples=50)
@given(calls, operators)
def test_nobody_is_chosen_only_when_no_qualified_operator_is_available(call: CallView, ops: list[OperatorView]) -> None:
    """A call is left waiting only if no available operator qualifies; longest idle picks the longest idle."""
    decision = choose_operator(call, ops, now=1000.0, strategy=longest_idle)
    eligible = [op for op in ops if op.presence is Presence.AVAILABLE and is_qualified(op, call)]
    assert (decision.operator is None) == (not eligible)
    if eligible:
        assert min(op.idle_since for op in eligible) == next(
            op.idle_since for op in ops if op.sip_user == decision.operator
        )


def test_longest_idle_wins_and_ties_break_on_name() -> None:
    """Between two qualified operators the one idle longer wins; equal idle goes to the lower name."""
    call = CallView("c", "100", "q", {"tax": 2})
    a = OperatorView("op2", Presence.AVAILABLE, {"tax": 3}, idle_since=10)
    b = OperatorView("op1", Presence.AVAILABLE, {"tax": 5}, idle_since=10)
    c = OperatorView("op3", Presence.AVAILABLE, {"tax": 1}, idle_since=0)
    assert choose_operator(call, [a, b, c], now=20, strategy=longest_idle).operator == "op1"
    assert choose_operator(call, [c], now=20).reason == "no qualified operator available"
    assert choose_operator(call, [], now=20).reason == "no operator available"


# -- widening ------------------------------------------------------------------------------------------------------


def test_widening_follows_the_issue_example() -> None:
    """Tax needs level 4 for the first 30 s, 2 until 90 s, then anyone holding tax."""
    call = CallView("c", "100", "q", {"tax": 1}, 100.0, steps=(Step(0, 4), Step(30, 2), Step(90, 1)))
    assert [required_levels(call, 100.0 + wait)["tax"] for wait in (0, 29.9, 30, 89, 90, 500)] == [4, 4, 2, 2, 1, 1]


def test_before_the_first_step_its_level_applies_and_requires_is_a_floor() -> None:
    """A first step starting late is already in force before it; no step goes below the queue's own level."""
    call = CallView("c", "100", "q", {"tax": 3, "english": 1}, 0.0, steps=(Step(60, 1), Step(10, 5)))
    assert required_levels(call, 0.0) == {"tax": 5, "english": 5}
    assert required_levels(call, 59.0) == {"tax": 5, "english": 5}
    assert required_levels(call, 60.0) == {"tax": 3, "english": 1}


@settings(max_examples=100)
@given(widened_calls, nows)
def test_required_levels_never_go_below_requires(call: CallView, now: float) -> None:
    """Whatever the steps say, each skill is needed at least at the queue's level, and at least at 1."""
    levels = required_levels(call, now)
    assert levels.keys() == call.requires.keys()
    assert all(levels[skill] >= max(base, 1) for skill, base in call.requires.items())


@settings(max_examples=100)
@given(st.integers(1, 3), st.integers(1, 120), st.integers(0, 100))
def test_widening_serves_at_the_step_a_call_refused_at_arrival(low: int, after_s: int, arrived: int) -> None:
    """A level-`low` operator refused at t=0 takes the call once the step lowering the bar to `low` is reached."""
    call = CallView("c", "100", "q", {"tax": low}, float(arrived), steps=(Step(0, 5), Step(after_s, low)))
    op = OperatorView("op1", Presence.AVAILABLE, {"tax": low})
    assert choose_operator(call, [op], now=arrived).operator is None
    assert choose_operator(call, [op], now=arrived + after_s - 0.5).operator is None
    assert choose_operator(call, [op], now=arrived + after_s).operator == "op1"
    assert choose_call(op, [call], now=arrived + after_s) == call


# -- choosing the operator for an arriving call ---------------------------------------------------------------------


@settings(max_examples=50)
@given(widened_calls, operators, nows, strategies)
def test_no_call_goes_to_an_operator_unqualified_at_that_moment(
    call: CallView, ops: list[OperatorView], now: float, strategy: Strategy
) -> None:
    """Every strategy, views or index: the operator is available and holds each skill at the level needed now."""
    for pool in (ops, OperatorIndex.build(ops, strategy)):
        decision = choose_operator(call, pool, now, strategy)
        if decision.operator is not None:
            chosen = next(op for op in ops if op.sip_user == decision.operator)
            assert chosen.presence is Presence.AVAILABLE
            assert all(chosen.skills.get(s, 0) >= level for s, level in required_levels(call, now).items())


@settings(max_examples=50)
@given(widened_calls, operators, nows)
def test_closest_match_takes_the_smallest_surplus_then_the_longest_idle(
    call: CallView, ops: list[OperatorView], now: float
) -> None:
    """Closest match: no eligible operator exceeds the needs by less, or by as little while idle longer."""
    decision = choose_operator(call, OperatorIndex.build(ops, closest_match), now, closest_match)
    eligible = [op for op in ops if op.presence is Presence.AVAILABLE and is_qualified(op, call, now)]
    assert (decision.operator is None) == (not eligible)
    if eligible:
        best = min(eligible, key=lambda op: (surplus(op, call, now), op.idle_since, op.sip_user))
        assert decision.operator == best.sip_user


@settings(max_examples=80)
@given(widened_calls, operators, nows)
def test_best_fit_leaves_the_fewest_levels_unused_then_the_smallest_surplus_then_the_longest_idle(
    call: CallView, ops: list[OperatorView], now: float
) -> None:
    """Best fit (the default): fewest skill levels held, then smallest surplus, then longest idle; index as views."""
    decision = choose_operator(call, OperatorIndex.build(ops), now)
    assert decision == choose_operator(call, ops, now)
    eligible = [op for op in ops if op.presence is Presence.AVAILABLE and is_qualified(op, call, now)]
    assert (decision.operator is None) == (not eligible)
    if eligible:
        best = min(
            eligible, key=lambda op: (levels_held(op.skills), surplus(op, call, now), op.idle_since, op.sip_user)
        )
        assert decision.operator == best.sip_user


def test_best_fit_keeps_the_bilingual_for_the_english_line() -> None:
    """A general tax call goes to the tax-4 operator, not to the tax-3/English-4 one closest match would pick."""
    bilingual = OperatorView("op1", Presence.AVAILABLE, {"tax": 3, "english": 4, "accounting": 2}, idle_since=0)
    tax = OperatorView("op2", Presence.AVAILABLE, {"tax": 4, "accounting": 2}, idle_since=50)
    general = CallView("c1", "100", "tax_general", {"tax": 1}, 100.0, steps=(Step(0, 3),))
    assert choose_operator(general, [bilingual, tax], now=100, strategy=closest_match).operator == "op1"
    assert choose_operator(general, [bilingual, tax], now=100).operator == "op2"


@settings(max_examples=50)
@given(widened_calls, operators, nows, strategies)
def test_the_index_decides_exactly_as_the_plain_views(
    call: CallView, ops: list[OperatorView], now: float, strategy: Strategy
) -> None:
    """The engine's precomputed index gives the same decision, reason included, as a scan over the views."""
    assert choose_operator(call, OperatorIndex.build(ops, strategy), now, strategy) == choose_operator(
        call, ops, now, strategy
    )


changes = st.lists(st.tuples(st.integers(0, 15), presences, skill_maps, st.floats(0, 1000)), max_size=8)


@settings(max_examples=40)
@given(widened_calls, operators, changes, nows)
def test_an_updated_index_decides_as_a_fresh_one(
    call: CallView, before: list[OperatorView], moves: list[tuple[int, Presence, dict[str, int], float]], now: float
) -> None:
    """Folding operator changes (presence, skills, idle time, newcomers) into the index gives a fresh build's picks."""
    index, picture = OperatorIndex.build(before), {op.sip_user: op for op in before}
    users = [op.sip_user for op in before]
    for n, presence, skills, idle_since in moves:
        user = users[n] if n < len(users) else f"new{n}"
        picture[user] = OperatorView(user, presence, skills, idle_since)
        index = index.updated(picture[user])
    assert choose_operator(call, index, now) == choose_operator(call, list(picture.values()), now)


@settings(max_examples=60)
@given(floors, changes)
def test_an_index_updated_for_the_reserve_decides_as_a_fresh_one(
    floor: tuple[list[QueueRule], list[CallView], list[OperatorView], float],
    moves: list[tuple[int, Presence, dict[str, int], float]],
) -> None:
    """Who serves each queue in time, precomputed for the reserve, follows presence and skill changes."""
    queues, stamped, before, now = floor
    reserve = Reserve.of(queues)
    index, picture = OperatorIndex.build(before, reserve=reserve), {op.sip_user: op for op in before}
    users = [op.sip_user for op in before]
    for n, presence, skills, idle_since in moves:
        user = users[n] if n < len(users) else f"new{n}"
        picture[user] = OperatorView(user, presence, skills, idle_since)
        index = index.updated(picture[user])
    assert index.servers == OperatorIndex.build(picture.values(), reserve=reserve).servers
    for call in stamped:
        assert choose_operator(call, index, now, reserve=reserve) == choose_operator(
            call, list(picture.values()), now, reserve=reserve
        )


def test_closest_match_keeps_the_specialist_free() -> None:
    """A level-2 call goes to the level-2 generalist, though the specialist has been idle longer."""
    specialist = OperatorView("op1", Presence.AVAILABLE, {"tax": 5}, idle_since=0)
    generalist = OperatorView("op2", Presence.AVAILABLE, {"tax": 2}, idle_since=50)
    easy = CallView("c1", "100", "q", {"tax": 2}, 100.0)
    hard = CallView("c2", "100", "q", {"tax": 5}, 100.0)
    assert choose_operator(easy, [specialist, generalist], now=100).operator == "op2"
    assert choose_operator(easy, [specialist, generalist], now=100, strategy=longest_idle).operator == "op1"
    assert assign([easy, hard], [specialist, generalist], now=100) == [("c1", "op2"), ("c2", "op1")]


@settings(max_examples=50)
@given(widened_calls, operators, nows)
def test_least_occupied_and_round_robin_follow_their_cursor(
    call: CallView, ops: list[OperatorView], now: float
) -> None:
    """Least occupied takes the least talk time today; round robin the least recently offered."""
    eligible = [op for op in ops if op.presence is Presence.AVAILABLE and is_qualified(op, call, now)]
    for strategy, cursor in ((least_occupied, "talk_s_today"), (round_robin, "last_offered_at")):
        decision = choose_operator(call, OperatorIndex.build(ops, strategy), now, strategy)
        if eligible:
            chosen = next(op for op in ops if op.sip_user == decision.operator)
            assert getattr(chosen, cursor) == min(getattr(op, cursor) for op in eligible)


# -- choosing the call for a freed operator ---------------------------------------------------------------------


@settings(max_examples=80)
@given(operators, waiting, nows)
def test_freed_operator_takes_a_qualified_call_by_priority_then_standing_then_wait(
    ops: list[OperatorView], calls_: list[CallView], now: float
) -> None:
    """The pick is one the operator qualifies for now, and no qualified call outranks it in service rank."""
    index = WaitingIndex.build(calls_)
    for op in ops:
        picked = choose_call(op, calls_, now)
        assert picked == choose_call(op, index, now)
        qualified = [call for call in calls_ if is_qualified(op, call, now)]
        assert (picked is None) == (not qualified)
        if picked is not None:
            assert is_qualified(op, picked, now)
            assert picked == min(qualified, key=lambda call: service_rank(call, now))
            for other in qualified:
                assert other.priority <= picked.priority
                if other.priority == picked.priority and standing(other, now) == standing(picked, now) == IN_TARGET:
                    assert (other.arrived_at, other.call_id) >= (picked.arrived_at, picked.call_id)
                elif other.priority == picked.priority and standing(other, now) == standing(picked, now):
                    # late: the furthest past its target first
                    late = (other.arrived_at + other.sl_seconds, other.call_id)
                    assert late >= (picked.arrived_at + picked.sl_seconds, picked.call_id)


def test_late_calls_go_furthest_past_their_target_first() -> None:
    """Among overdue calls (and among starving ones) the call furthest past its own target goes first."""
    op = OperatorView("op1", Presence.AVAILABLE, {"tax": 3})
    older = CallView("c1", "100", "sales", {"tax": 1}, 0.0, sl_seconds=60)  # 70 s: 10 s late
    later = CallView("c2", "101", "billing", {"tax": 1}, 40.0, sl_seconds=10)  # 30 s: 20 s late
    assert choose_call(op, [older, later], now=70) == later == choose_call(op, WaitingIndex.build([older, later]), 70)
    starving_a = CallView("s1", "100", "sales", {"tax": 1}, 0.0, sl_seconds=20)  # 100 s: 80 s late
    starving_b = CallView("s2", "101", "billing", {"tax": 1}, 50.0, sl_seconds=5)  # 50 s: 45 s late
    assert choose_call(op, [starving_b, starving_a], now=100) == starving_a


def test_priority_then_starving_then_in_target_then_overdue_then_first_come() -> None:
    """Priority first; then a call past twice its target; then calls still in target before overdue ones; FIFO."""
    op = OperatorView("op1", Presence.AVAILABLE, {"tax": 3, "english": 2})
    overdue = CallView("c1", "100", "sales", {"tax": 1}, 0.0, sl_seconds=30)  # waited 50 s: overdue, not starving
    fresh = CallView("c2", "101", "support", {"english": 1}, 40.0, sl_seconds=20)  # waited 10 s: in target
    fresher = CallView("c3", "101", "support", {"english": 1}, 45.0, sl_seconds=20)  # waited 5 s: in target
    starving = CallView("c4", "101", "support", {"tax": 1}, 20.0, sl_seconds=10)  # waited 30 s: past 2 x 10 s
    vip = CallView("c5", "102", "vip", {"tax": 1}, 49.0, priority=1)
    assert choose_call(op, [overdue, fresh, fresher, starving, vip], now=50) == vip
    assert choose_call(op, [overdue, fresh, fresher, starving], now=50) == starving
    assert choose_call(op, [overdue, fresher, fresh], now=50) == fresh
    assert choose_call(op, [overdue], now=50) == overdue
    assert [standing(call, 50) for call in (overdue, fresh, starving)] == [2, 1, STARVING]


def test_the_static_order_is_priority_then_first_come_and_never_moves() -> None:
    """The waiting line is kept by priority then arrival; only the service rank looks at the target."""
    early = CallView("c1", "100", "q", {}, 0.0, sl_seconds=60)
    late = CallView("c2", "100", "q", {}, 5.0, sl_seconds=10)
    assert service_order(early) < service_order(late)
    assert service_rank(early, 30) > service_rank(late, 30)  # early is 30 s into a 60 s target; late is starving


@settings(max_examples=30)
@given(waiting, waiting, operators, nows)
def test_waiting_index_updates_match_a_fresh_build(
    first: list[CallView], later: list[CallView], ops: list[OperatorView], now: float
) -> None:
    """Adding and removing calls one by one leaves the index a fresh build of the same calls would be."""
    index = WaitingIndex.build(first)
    for call in later:
        index = index.added(call)
    gone = {call.call_id for call in first[::2]}
    for call_id in gone:
        index = index.removed(call_id)
    remaining = {call.call_id: call for call in [*first, *later] if call.call_id not in gone}
    fresh = WaitingIndex.build(remaining.values())
    assert index.calls == fresh.calls
    assert [choose_call(op, index, now) for op in ops] == [choose_call(op, fresh, now) for op in ops]


# -- batch assignment -------------------------------------------------------------------------------------------


def largest_matching(calls_: list[CallView], ops: list[OperatorView], now: float) -> int:
    """Brute force over (call, free operators) states: the most calls any assignment could serve."""
    free = [op for op in ops if op.presence is Presence.AVAILABLE]

    @cache
    def best(n: int, used: int) -> int:
        if n == len(calls_):
            return 0
        options = [best(n + 1, used)]
        for i, op in enumerate(free):
            if not used >> i & 1 and is_qualified(op, calls_[n], now):
                options.append(1 + best(n + 1, used | 1 << i))
        return max(options)

    return best(0, 0)


@settings(max_examples=60)
@given(waiting, operators, nows, strategies, st.none() | st.lists(rules, max_size=4, unique_by=lambda r: r.name))
def test_assign_offers_nobody_two_calls_and_leaves_no_eligible_operator_idle(
    calls_: list[CallView], ops: list[OperatorView], now: float, strategy: Strategy, queues: list[QueueRule] | None
) -> None:
    """Each pair is qualified now; no operator or call twice; no remaining operator qualifies for a remaining call.

    With the reserve too: assign itself never holds a call (the shell leaves held calls out before asking).
    """
    reserve = None if queues is None else Reserve.of(queues)
    pairs = assign(calls_, ops, now, strategy, reserve)
    by_user = {op.sip_user: op for op in ops}
    by_id = {call.call_id: call for call in calls_}
    assert len({c for c, _ in pairs}) == len({u for _, u in pairs}) == len(pairs)
    for call_id, user in pairs:
        assert by_user[user].presence is Presence.AVAILABLE
        assert is_qualified(by_user[user], by_id[call_id], now)
    served, busy = {c for c, _ in pairs}, {u for _, u in pairs}
    for call in calls_:
        for op in ops:
            if call.call_id not in served and op.sip_user not in busy and op.presence is Presence.AVAILABLE:
                assert not is_qualified(op, call, now)
    assert pairs == assign(WaitingIndex.build(calls_), OperatorIndex.build(ops, strategy), now, strategy, reserve)


@settings(max_examples=60)
@given(st.lists(widened_calls, max_size=6, unique_by=lambda c: c.call_id), operators.map(lambda ops: ops[:6]), nows)
def test_assign_serves_as_many_calls_as_any_assignment_could(
    calls_: list[CallView], ops: list[OperatorView], now: float
) -> None:
    """The matching is maximum, and no waiting call could replace a served call that comes later in cover rank."""
    pairs = assign(calls_, ops, now)
    assert len(pairs) == largest_matching(calls_, ops, now)
    served = {call_id for call_id, _ in pairs}
    index = OperatorIndex.build(ops)
    ranked = sorted(calls_, key=lambda call: cover_rank(call, now, covered(call, index, now)))
    for n, waiting_call in enumerate(ranked):
        for later in ranked[n + 1 :]:
            if waiting_call.call_id not in served and later.call_id in served:
                swapped = [c for c in calls_ if c.call_id in served and c != later] + [waiting_call]
                assert largest_matching(swapped, ops, now) < len(swapped)


def test_assign_moves_an_earlier_call_rather_than_leave_a_higher_one_waiting() -> None:
    """c1 first took A; c2 can only use A, so c1 moves to its closest match B, and c3 (ranked last) waits."""
    a = OperatorView("A", Presence.AVAILABLE, {"tax": 2, "english": 2}, idle_since=0)
    b = OperatorView("B", Presence.AVAILABLE, {"tax": 2}, idle_since=10)
    specialist = OperatorView("S", Presence.AVAILABLE, {"tax": 5}, idle_since=0)
    c1 = CallView("c1", "100", "q", {"tax": 1}, 0.0)
    c2 = CallView("c2", "100", "q", {"english": 1}, 1.0)
    c3 = CallView("c3", "100", "q", {"tax": 5}, 2.0)
    c4 = CallView("c4", "100", "q", {"tax": 1}, 3.0)
    assert choose_operator(c1, [a, b], now=5, strategy=closest_match).operator == "A"
    assert assign([c4, c2, c1], [a, b], now=5, strategy=closest_match) == [("c1", "B"), ("c2", "A")]
    assert assign([c1, c2], [a, b, specialist], now=5, strategy=closest_match) == [("c1", "B"), ("c2", "A")]
    assert assign([c1, c2, c3], [a, b, specialist], now=5) == [("c1", "B"), ("c2", "A"), ("c3", "S")]


def test_assign_follows_a_longer_augmenting_path() -> None:
    """c3 needs A (French); c1 moves from A to B, so c2 moves from B to C: everyone is served."""
    a = OperatorView("A", Presence.AVAILABLE, {"tax": 1, "french": 1}, idle_since=0)
    b = OperatorView("B", Presence.AVAILABLE, {"tax": 1, "english": 1}, idle_since=5)
    c = OperatorView("C", Presence.AVAILABLE, {"english": 3}, idle_since=0)
    c1 = CallView("c1", "100", "q", {"tax": 1}, 0.0)
    c2 = CallView("c2", "100", "q", {"english": 1}, 1.0)
    c3 = CallView("c3", "100", "q", {"french": 1}, 2.0)
    assert assign([c1, c2], [a, b, c], now=5) == [("c1", "A"), ("c2", "B")]
    assert assign([c1, c2, c3], [a, b, c], now=5) == [("c1", "B"), ("c2", "C"), ("c3", "A")]


# -- the specialist reserve ----------------------------------------------------------------------------------------


def in_target_floors(rule: QueueRule) -> list[int]:
    """Every level the queue's widening asks before its target: checked one by one, not by the lowest."""
    return [step_floor(rule.steps, 0.0)] + [
        step_floor(rule.steps, s.after_s) for s in rule.steps if s.after_s < rule.sl_seconds
    ]


def brute_specialists(call: CallView, ops: list[OperatorView], queues: list[QueueRule]) -> set[str]:
    """Available operators who alone among the available could answer some other queue within its target."""
    free = {op.sip_user: op for op in ops if op.presence is Presence.AVAILABLE}
    found = set()
    for rule in queues:
        servers = [
            user for user, op in free.items() if any(holds(op.skills, rule.requires, f) for f in in_target_floors(rule))
        ]
        if rule.name != call.queue and len(servers) == 1:
            found.add(servers[0])
    return found


def brute_spare_later(call: CallView, ops: list[OperatorView], queues: list[QueueRule], now: float) -> bool:
    """At the call's next step, before its target, an available operator who is no specialist will qualify."""
    later = [step.after_s for step in call.steps if step.after_s > now - call.arrived_at]
    if not later or min(later) >= call.sl_seconds:
        return False
    floor = step_floor(call.steps, min(later))
    specialists = brute_specialists(call, ops, queues)
    return any(
        op.presence is Presence.AVAILABLE and op.sip_user not in specialists and holds(op.skills, call.requires, floor)
        for op in ops
    )


def best_fit_key(call: CallView, now: float) -> Callable[[OperatorView], tuple[int, int, float, str]]:
    return lambda op: (levels_held(op.skills), surplus(op, call, now), op.idle_since, op.sip_user)


@settings(max_examples=150)
@given(floors)
def test_the_reserve_spends_spare_operators_first_and_holds_only_for_a_spare_one_in_time(
    floor: tuple[list[QueueRule], list[CallView], list[OperatorView], float],
) -> None:
    """Offered: qualified, a spare operator if one qualifies. Held: only specialists qualify, a spare one will soon."""
    queues, stamped, ops, now = floor
    reserve = Reserve.of(queues)
    for call in stamped:
        decision = choose_operator(call, ops, now, reserve=reserve)
        assert decision == choose_operator(call, OperatorIndex.build(ops), now, reserve=reserve)
        eligible = [op for op in ops if op.presence is Presence.AVAILABLE and is_qualified(op, call, now)]
        specialists = brute_specialists(call, ops, queues)
        spare = [op for op in eligible if op.sip_user not in specialists]
        on_hold = bool(eligible) and not spare and brute_spare_later(call, ops, queues, now)
        assert held(call, ops, now, reserve) is on_hold
        if not eligible or on_hold:
            assert decision.operator is None
        else:
            assert decision.operator == min(spare or eligible, key=best_fit_key(call, now)).sip_user


@settings(max_examples=100)
@given(floors)
def test_a_held_call_is_offered_at_its_next_step_at_the_latest(
    floor: tuple[list[QueueRule], list[CallView], list[OperatorView], float],
) -> None:
    """If nobody moves, the call held now goes to someone when its next step comes, still within its target."""
    queues, stamped, ops, now = floor
    reserve = Reserve.of(queues)
    for call in stamped:
        if held(call, ops, now, reserve):
            step = min((s for s in call.steps if s.after_s > now - call.arrived_at), key=lambda s: s.after_s)
            assert step.after_s < call.sl_seconds
            later = call.arrived_at + step.after_s
            offered = choose_operator(call, ops, later, reserve=reserve)
            assert offered.operator is not None
            assert is_qualified(next(op for op in ops if op.sip_user == offered.operator), call, later)


@settings(max_examples=100)
@given(floors)
def test_the_freed_operator_alone_never_passes_a_call_over(
    floor: tuple[list[QueueRule], list[CallView], list[OperatorView], float],
) -> None:
    """Nobody else free: the reserve changes nothing, the freed operator takes the first qualified call in rank."""
    queues, stamped, ops, now = floor
    reserve = Reserve.of(queues)
    for op in ops:
        freed = OperatorView(op.sip_user, Presence.AVAILABLE, op.skills, op.idle_since)
        alone = choose_call(freed, stamped, now, free_operators=[], reserve=reserve)
        assert alone == choose_call(freed, stamped, now)
        assert alone == choose_call(freed, WaitingIndex.build(stamped), now, OperatorIndex.build([]), reserve)


@settings(max_examples=150)
@given(floors)
def test_the_freed_operator_passes_over_only_calls_the_reserve_holds(
    floor: tuple[list[QueueRule], list[CallView], list[OperatorView], float],
) -> None:
    """With others free, the pick is the first qualified call in cover rank that is not held; those skipped are held."""
    queues, stamped, ops, now = floor
    reserve = Reserve.of(queues)
    free = [op for op in ops if op.presence is Presence.AVAILABLE]
    pool = OperatorIndex.build(free)
    for op in free:
        picked = choose_call(op, stamped, now, free_operators=free, reserve=reserve)
        assert picked == choose_call(op, WaitingIndex.build(stamped), now, OperatorIndex.build(ops), reserve)
        ranked = sorted(
            (c for c in stamped if is_qualified(op, c, now)), key=lambda c: cover_rank(c, now, covered(c, pool, now))
        )
        expected = next((c for c in ranked if not held(c, free, now, reserve)), None)
        assert picked == expected


@settings(max_examples=80)
@given(floors)
def test_ready_to_offer_leaves_out_exactly_the_held_calls(
    floor: tuple[list[QueueRule], list[CallView], list[OperatorView], float],
) -> None:
    """What the shell hands to assign: every waiting call but those the reserve holds at that moment."""
    queues, stamped, ops, now = floor
    reserve = Reserve.of(queues)
    index = OperatorIndex.build(ops)
    ready = ready_to_offer(WaitingIndex.build(stamped), index, now, reserve)
    assert {c.call_id for c in ready.calls} == {c.call_id for c in stamped if not held(c, index, now, reserve)}
    assert list(ready.calls) == sorted(ready.calls, key=service_order)


@settings(max_examples=50)
@given(widened_calls, operators, nows)
def test_a_reserve_without_queues_changes_nothing(call: CallView, ops: list[OperatorView], now: float) -> None:
    """No queue to keep anyone for: nobody is a specialist, so the reserve decides exactly as best fit alone."""
    assert choose_operator(call, ops, now, reserve=Reserve.of([])).operator == choose_operator(call, ops, now).operator


def test_the_senior_stays_free_while_a_junior_will_answer_in_time() -> None:
    """A general call waits 10 s for the junior rather than take the only senior able to answer advanced tax."""
    general = QueueRule("tax_general", {"tax": 1}, (Step(0, 3), Step(10, 2)), sl_seconds=20)
    advanced = QueueRule("tax_advanced", {"tax": 3}, (Step(0, 5), Step(15, 4)), sl_seconds=30)
    reserve = Reserve.of([general, advanced])
    senior = OperatorView("senior", Presence.AVAILABLE, {"tax": 5}, idle_since=0)
    junior = OperatorView("junior", Presence.AVAILABLE, {"tax": 2}, idle_since=0)
    call = general.call("c1", "100", arrived_at=100.0)
    assert choose_operator(call, [senior, junior], now=100).operator == "senior"  # without the reserve
    assert choose_operator(call, [senior, junior], now=100, reserve=reserve) == Decision("c1", None, HELD)
    assert choose_operator(call, [senior, junior], now=110, reserve=reserve).operator == "junior"
    # The senior alone: nobody spare to wait for, so the senior answers at once.
    assert choose_operator(call, [senior], now=100, reserve=reserve).operator == "senior"
    # A second senior free: neither is the last one able to answer advanced tax, so one answers at once.
    other = OperatorView("senior2", Presence.AVAILABLE, {"tax": 5}, idle_since=5)
    assert choose_operator(call, [senior, other, junior], now=100, reserve=reserve).operator == "senior"
    # Freed, the senior leaves the held general call to the junior, but takes it when the junior is busy.
    freed = OperatorView("senior", Presence.AVAILABLE, {"tax": 5}, idle_since=120)
    assert choose_call(freed, [call], now=105, free_operators=[junior], reserve=reserve) is None
    busy = OperatorView("junior", Presence.ON_CALL, {"tax": 2})
    assert choose_call(freed, [call], now=105, free_operators=[busy], reserve=reserve) == call
    # An advanced call waiting is not held (its next step, tax 4, has nobody spare): the freed senior takes it.
    hard = advanced.call("c2", "100", arrived_at=101.0)
    assert choose_call(freed, [call, hard], now=105, free_operators=[junior], reserve=reserve) == hard


# -- the rest of the vocabulary ---------------------------------------------------------------------------------


def test_queue_rule_stamps_its_calls() -> None:
    """A queue's rule gives each arriving call its requirements, steps, priority and service level."""
    rule = QueueRule("tax", {"tax": 1}, (Step(0, 4), Step(30, 2)), priority=1, sl_seconds=30)
    call = rule.call("c1", "100", arrived_at=12.0)
    assert call == CallView("c1", "100", "tax", {"tax": 1}, 12.0, 1, (Step(0, 4), Step(30, 2)), 30)


@pytest.mark.parametrize(
    ("misses", "max_misses", "paused"), [(0, 2, False), (1, 2, False), (2, 2, True), (9, 0, False)]
)
def test_should_pause_after_max_misses(misses: int, max_misses: int, paused: bool) -> None:
    """An operator is paused once their misses reach the policy's maximum; a maximum of 0 never pauses."""
    assert should_pause(misses, MissPolicy(max_misses)) is paused
