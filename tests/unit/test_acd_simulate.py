"""The ACD simulator: seeded and repeatable, faithful to queueing theory, and fair to every policy it compares."""

from __future__ import annotations

import copy
import json
import math
import random
import statistics
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.distributions import Constant, Exponential, Gamma, LogNormal, Uniform, distribution_from
from acd.sim_floor import SimOperator
from acd.sim_peers import ModCallcenterPolicy
from acd.sim_scenario import ScenarioError, load_scenario
from acd.simulate import POLICY_NAMES, simulate, simulate_seeds

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks" / "acd"


def scenario(**overrides: Any) -> dict[str, Any]:
    """A small two-queue scenario with widening steps and a multi-skill queue."""
    data: dict[str, Any] = {
        "duration_s": 1800,
        "seed": 3,
        "operators": [
            {"count": 2, "skills": {"tax": 5, "english": 4}},
            {"count": 3, "skills": {"tax": 3}},
            {"count": 1, "skills": {"tax": 2, "english": 5}},
        ],
        "queues": [
            {"name": "tax", "arrivals_per_hour": 50, "requires": {"tax": 1},
             "steps": [{"after_s": 0, "min_level": 4}, {"after_s": 20, "min_level": 2}],
             "talk_s": {"dist": "lognormal", "mean": 200, "sd": 90}, "wrapup_s": {"dist": "constant", "value": 10},
             "patience_s": {"dist": "exponential", "mean": 120}},
            {"name": "tax_english", "arrivals_per_hour": 15, "requires": {"tax": 3, "english": 2},
             "steps": [{"after_s": 0, "min_level": 4}, {"after_s": 15, "min_level": 2}],
             "talk_s": {"dist": "gamma", "mean": 240, "sd": 100},
             "patience_s": {"dist": "uniform", "min": 30, "max": 300}, "priority": 1, "sl_seconds": 30},
        ],
    }  # fmt: skip
    data.update(overrides)
    return data


def erlang_c(n: int, a: float) -> float:
    """P(wait) in M/M/n with offered load `a` erlangs, from the Erlang B recursion."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return n * b / (n - a * (1 - b))


def test_a_seed_gives_the_same_day_every_time() -> None:
    """The same seed replays the same day exactly; another seed gives another day."""
    spec = load_scenario(scenario())
    for policy in POLICY_NAMES:
        assert simulate(spec, policy, 7) == simulate(spec, policy, 7)
    assert simulate(spec, "skills", 7) != simulate(spec, "skills", 8)


def test_every_policy_sees_the_same_callers() -> None:
    """For one seed every policy is offered the very same calls, so differences are the routing's alone."""
    spec = load_scenario(scenario())
    offered = {simulate(spec, policy, 5).offered for policy in POLICY_NAMES}
    assert len(offered) == 1


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"dist": "constant", "value": 15}, Constant(15.0)),
        ({"dist": "exponential", "mean": 120}, Exponential(120.0)),
        ({"dist": "lognormal", "mean": 240, "sd": 120}, LogNormal(240.0, 120.0)),
        ({"dist": "gamma", "mean": 200, "sd": 100}, Gamma(200.0, 100.0)),
        ({"dist": "uniform", "min": 5, "max": 25}, Uniform(5.0, 25.0)),
    ],
)
def test_distributions_have_the_stated_mean_and_spread(spec: dict[str, Any], expected: object) -> None:
    """Each distribution is parsed as stated, and its samples' mean (and sd where given) match within 3%."""
    dist = distribution_from(spec)
    assert dist == expected
    rng = random.Random(11)
    samples = [dist.sample(rng) for _ in range(40_000)]
    assert min(samples) >= 0
    assert statistics.fmean(samples) == pytest.approx(dist.mean, rel=0.03)
    if "sd" in spec:
        assert statistics.stdev(samples) == pytest.approx(spec["sd"], rel=0.03)


def test_one_queue_one_level_no_steps_every_policy_agrees() -> None:
    """With one queue, identical operators and no widening, routing has no choice to get wrong: same service level."""
    data = scenario(operators=[{"count": 6, "skills": {"tax": 3}}])
    data["queues"] = [dict(data["queues"][0], steps=[], arrivals_per_hour=80)]
    spec = load_scenario(data)
    levels = [simulate_seeds(spec, policy, 3).service_level for policy in POLICY_NAMES]
    assert max(levels) - min(levels) < 0.01


@pytest.mark.parametrize("name", ["balanced", "scarce_specialists", "tax_season"])
def test_skills_never_misroutes_on_the_benchmark_scenarios(name: str) -> None:
    """Our routing never puts a call through to an operator below the level it needs at that moment."""
    spec = load_scenario(json.loads((BENCHMARKS / f"{name}.json").read_text()))
    assert simulate(spec, "skills", 1).misrouted == 0


@settings(max_examples=25, deadline=None)
@given(
    levels=st.lists(st.tuples(st.integers(1, 5), st.integers(0, 5)), min_size=1, max_size=6),
    steps=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 5)), max_size=3),
    needs=st.tuples(st.integers(1, 3), st.integers(0, 3)),
    seed=st.integers(0, 1000),
)
def test_skills_never_misroutes_on_any_floor(
    levels: list[tuple[int, int]], steps: list[tuple[int, int]], needs: tuple[int, int], seed: int
) -> None:
    """Whatever the levels, steps and needs, skills routing answers no call with an under-qualified operator."""
    operators = [{"count": 1, "skills": {"tax": tax, "english": en} if en else {"tax": tax}} for tax, en in levels]
    requires = {"tax": needs[0], "english": needs[1]} if needs[1] else {"tax": needs[0]}
    data = scenario(duration_s=900, seed=seed, operators=operators)
    data["queues"][1] = dict(data["queues"][1], requires=requires,
                             steps=[{"after_s": a, "min_level": m} for a, m in steps])  # fmt: skip
    assert simulate(load_scenario(data), "skills", seed).misrouted == 0


def test_a_peer_never_makes_a_member_of_an_operator_the_queue_rule_never_accepts() -> None:
    """A queue needing tax 3 and English 2, one tax-2/English-5 operator: no peer answers, every caller gives up.

    A single penalty or tier cannot say two levels, but membership can carry each skill's floor (acd.sim_peers).
    """
    data = scenario(operators=[{"count": 1, "skills": {"tax": 2, "english": 5}}])
    data["queues"] = [dict(data["queues"][1], patience_s={"dist": "constant", "value": 600})]
    spec = load_scenario(data)
    for policy in POLICY_NAMES:
        result = simulate(spec, policy, 1)
        assert (result.misrouted, result.answered, result.abandoned) == (0, 0, result.offered)


@settings(max_examples=25, deadline=None)
@given(
    levels=st.lists(st.tuples(st.integers(1, 5), st.integers(0, 5)), min_size=1, max_size=6),
    steps=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 5)), max_size=3),
    needs=st.tuples(st.integers(1, 3), st.integers(0, 3)),
    seed=st.integers(0, 1000),
)
def test_app_queue_admits_at_every_moment_exactly_whom_our_rule_admits(
    levels: list[tuple[int, int]], steps: list[tuple[int, int]], needs: tuple[int, int], seed: int
) -> None:
    """Membership by each skill's floor and penalty by the lowest level: app_queue never misroutes, on any floor."""
    operators = [{"count": 1, "skills": {"tax": tax, "english": en} if en else {"tax": tax}} for tax, en in levels]
    requires = {"tax": needs[0], "english": needs[1]} if needs[1] else {"tax": needs[0]}
    data = scenario(duration_s=900, seed=seed, operators=operators)
    data["queues"][1] = dict(data["queues"][1], requires=requires,
                             steps=[{"after_s": a, "min_level": m} for a, m in steps])  # fmt: skip
    for policy in ("app_queue:leastrecent", "app_queue:ringall"):
        assert simulate(load_scenario(data), policy, seed).misrouted == 0


def test_mod_callcenter_tiers_open_at_the_widening_steps() -> None:
    """Tier level = the step admitting the operator / the steps' common divisor: levels open as our rule opens them."""
    data = scenario()
    steps = [{"after_s": 0, "min_level": 3}, {"after_s": 10, "min_level": 2}, {"after_s": 40, "min_level": 1}]
    data["queues"] = [dict(data["queues"][0], steps=steps)]
    team = [SimOperator(n, f"op{n}", {"tax": level}) for n, level in enumerate((1, 2, 3, 5))]
    policy = ModCallcenterPolicy(load_scenario(data), team)
    assert [(tier, op.skills["tax"]) for tier, _, op in policy._tiers[0]] == [(0, 3), (0, 5), (1, 2), (4, 1)]
    assert policy._wait_second == [10]
    assert [policy._reachable_tier(0, waited) for waited in (0, 9.9, 10, 39.9, 40)] == [0, 0, 1, 3, 4]


@pytest.mark.parametrize("name", ["balanced", "scarce_specialists", "tax_season"])
def test_the_peers_configured_from_the_benchmark_rules_never_misroute(name: str) -> None:
    """On the benchmark days every peer admits only operators the queue's rule accepts at that moment."""
    spec = load_scenario(json.loads((BENCHMARKS / f"{name}.json").read_text()))
    assert [simulate(spec, policy, 1).misrouted for policy in POLICY_NAMES] == [0] * len(POLICY_NAMES)


def test_an_m_m_n_queue_waits_as_erlang_c_says() -> None:
    """Poisson callers, exponential talk, no wrap-up, infinite patience: P(wait) matches Erlang C within 0.03."""
    n, talk_s, calls_per_hour = 10, 180.0, 160.0  # 8 erlangs on 10 operators
    data = scenario(duration_s=30 * 3600, operators=[{"count": n, "skills": {"tax": 1}}])
    data["queues"] = [{"name": "mmn", "arrivals_per_hour": calls_per_hour, "requires": {"tax": 1},
                       "talk_s": {"dist": "exponential", "mean": talk_s}, "sl_seconds": 1e-9}]  # fmt: skip
    result = simulate_seeds(load_scenario(data), "skills", 2)
    assert result.abandon_rate == 0
    assert 1 - result.service_level == pytest.approx(erlang_c(n, calls_per_hour * talk_s / 3600), abs=0.03)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["queues"][1]["talk_s"].update(dist="weibull"), "queues[1].talk_s.dist = 'weibull': unknown"),
        (lambda d: d["queues"][0]["talk_s"].update(mean=-5), "queues[0].talk_s.mean = -5: must be > 0"),
        (lambda d: d["queues"][0]["steps"][1].update(min_level=7), "queues[0].steps[1].min_level = 7: must be in"),
        (lambda d: d["queues"][0].pop("talk_s"), "queues[0].talk_s: missing"),
        (lambda d: d["queues"][0].update(require={"tax": 1}), "queues[0].require: unknown field"),
        (lambda d: d["operators"][2].update(count=-1), "operators[2].count = -1: must be in 0..inf"),
        (lambda d: d["operators"][0]["skills"].update(tax="five"), "operators[0].skills.tax = 'five': must be an"),
        (lambda d: d.update(duration_s=0), "duration_s = 0: must be > 0"),
        (lambda d: d["queues"][1].update(name="tax"), "queues[1].name = 'tax': duplicate queue name"),
        (lambda d: d["queues"][1].update(wrapup_s={"dist": "uniform", "min": 5, "max": 1}),
         "queues[1].wrapup_s.max = 1.0: must be >= min"),
    ],
)  # fmt: skip
def test_a_bad_scenario_names_the_field_and_value(change: Any, message: str) -> None:
    """Every refusal starts with the field's path and the offending value."""
    data = copy.deepcopy(scenario())
    change(data)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(data)
    assert str(caught.value).startswith(message)


def test_occupancy_counts_only_the_shift() -> None:
    """Occupancy is work inside [0, duration) over operators x duration, so it never exceeds 1."""
    data = scenario(operators=[{"count": 2, "skills": {"tax": 5, "english": 5}}])
    result = simulate(load_scenario(data), "skills", 2)
    assert 0.5 < result.occupancy <= 1.0
    assert math.isclose(result.capacity_s, 2 * 1800)
