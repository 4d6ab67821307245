"""The Foundation's routing decision: qualified, available, longest idle; never anyone else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from acd.model import CallView, OperatorView, Presence
from acd.routing import choose_operator, is_qualified

SKILLS = ["tax", "accounting", "english"]
skill_maps = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=3)
operators = st.lists(
    st.builds(
        OperatorView,
        sip_user=st.from_regex(r"op[0-9]{3}", fullmatch=True),
        presence=st.sampled_from(list(Presence)),
        skills=skill_maps,
        idle_since=st.floats(0, 1000),
    ),
    max_size=30,
    unique_by=lambda op: op.sip_user,
)
calls = st.builds(CallView, call_id=st.just("c1"), hotline=st.just("100"), queue=st.just("q"), requires=skill_maps)


@given(calls, operators)
def test_chosen_operator_is_available_and_qualified(call: CallView, ops: list[OperatorView]) -> None:
    """Whoever is chosen is available and holds every required skill at the required level."""
    decision = choose_operator(call, ops, now=1000.0)
    if decision.operator is not None:
        chosen = next(op for op in ops if op.sip_user == decision.operator)
        assert chosen.presence is Presence.AVAILABLE
        assert is_qualified(chosen, call)


@given(calls, operators)
def test_nobody_is_chosen_only_when_no_qualified_operator_is_available(call: CallView, ops: list[OperatorView]) -> None:
    """A call is left waiting only if no available operator qualifies."""
    decision = choose_operator(call, ops, now=1000.0)
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
    assert choose_operator(call, [a, b, c], now=20).operator == "op1"
    assert choose_operator(call, [c], now=20).reason == "no qualified operator available"
    assert choose_operator(call, [], now=20).reason == "no operator available"
