"""The dialer simulator: scenarios checked field by field, seeded and paired runs, and figures counted fairly."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from dialer.sim.engine import Run
from dialer.sim.fates import LIVE, LeadStream, churn_spells
from dialer.sim.policies import Vicidial
from dialer.sim.scenario import ScenarioError, load_scenario
from dialer.sim.simulate import Summary, check_policy, simulate, simulate_seeds, wilson_high

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks" / "dialer"


def scenario(**overrides: Any) -> dict[str, Any]:
    """A short shift for a small team, benchmark A's calls."""
    data: dict[str, Any] = {
        "agents": 8, "hours": 0.5, "days": 1, "seed": 3,
        "outcomes": {"live": 0.25, "machine": 0.15, "busy": 0.10, "no_answer": 0.50},
        "live_ring_s": {"dist": "lognormal", "mean": 9, "sd": 5},
        "machine_ring_s": {"dist": "uniform", "min": 12, "max": 18},
        "amd_s": 3, "amd_false_positive": 0.0, "busy_s": 2, "no_answer_timeout_s": 20,
        "talk_s": {"dist": "lognormal", "mean": 90, "sd": 60},
        "wrapup_s": {"dist": "constant", "value": 15},
        "grace_s": 2, "max_abandon_rate": 0.03, "window": "30d", "amd": True, "agent_churn": 0.0,
    }  # fmt: skip
    data.update(overrides)
    return data


@pytest.mark.parametrize("name", ["A", "B", "B-drift", "C"])
def test_the_benchmark_scenarios_load(name: str) -> None:
    """The four benchmark files are valid scenarios of 8-hour days."""
    spec = load_scenario(json.loads((BENCHMARKS / f"{name}.json").read_text()))
    assert spec.hours == 8
    assert spec.live_ring_s.mean == 9
    assert spec.no_answer_timeout_s == 20 and spec.grace_s == 2


def test_the_drifting_live_share_is_a_step_every_five_minutes() -> None:
    """B-drift: 0.22 + 0.12 sin(2 pi 1.5 t / 28800), sampled every 300 s, held until the next point."""
    spec = load_scenario(json.loads((BENCHMARKS / "B-drift.json").read_text()))
    for t in (0.0, 4800.0, 4999.0, 14400.0, 24000.0):
        start = t - t % 300
        expected = 0.22 + 0.12 * math.sin(2 * math.pi * 1.5 * start / 28800)
        assert abs(spec.live_share(t) - expected) < 1e-3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"agents": 0}, "agents = 0: must be an integer >= 1"),
        ({"outcomes": {"live": 0.5, "machine": 0.2, "busy": 0.1, "no_answer": 0.1}}, "must add up to 1"),
        ({"outcomes": {"live": 0.5, "people": 0.5}}, "outcomes.people: unknown outcome"),
        ({"talk_s": {"dist": "weibull"}}, "talk_s.dist = 'weibull': unknown distribution"),
        ({"window": "7d"}, "window = '7d': must be one of 30d, 24h"),
        ({"live_schedule": [[0, 0.2], [0, 0.3]]}, "live_schedule[1][0] = 0: times must be >= 0 and increasing"),
        ({"amd": "yes"}, "amd = 'yes': must be true or false"),
        ({"colour": "blue"}, "colour: unknown field"),
        ({"grace_s": -1}, "grace_s = -1: must be >= 0"),
    ],
)
def test_a_bad_scenario_names_the_field_and_value(change: dict[str, Any], message: str) -> None:
    """Each mistake is refused with the field's path and value."""
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_scenario(scenario(**change))


def test_every_policy_sees_the_same_leads() -> None:
    """Lead i has the same fate whoever dials it and whenever (with a constant live share)."""
    spec = load_scenario(scenario())
    first, second = LeadStream(spec, 7), LeadStream(spec, 7)
    second.fate(5000, 0.0)  # drawing far ahead first changes nothing
    assert [first.fate(i, 10.0) for i in range(200)] == [second.fate(i, 900.0) for i in range(200)]
    assert [first.fate(i, 0.0) for i in range(200)] != [LeadStream(spec, 8).fate(i, 0.0) for i in range(200)]


def test_a_person_answering_after_the_timeout_is_no_answer() -> None:
    """A lognormal ring time beyond the dial timeout never reaches an operator."""
    spec = load_scenario(scenario(outcomes={"live": 0.99, "machine": 0.0, "busy": 0.0, "no_answer": 0.01}))
    stream = LeadStream(spec, 1)
    fates = [stream.fate(i, 0.0) for i in range(2000)]
    assert all(f.ends_s <= 20.0 for f in fates)
    assert 0.01 < sum(f.kind != LIVE for f in fates) / 2000 < 0.08  # P(lognormal(9, 5) > 20 s) is about 3.6%


def test_churn_spells_stay_in_the_shift_and_repeat() -> None:
    """A churning operator's spells away are seeded and start inside the shift."""
    spec = load_scenario(scenario(hours=8, agent_churn=0.5))
    spells = churn_spells(spec, 1, 3, 0)
    assert spells == churn_spells(spec, 1, 3, 0)
    assert all(0.0 <= out < spec.shift_s and back > out for out, back in spells)


@pytest.mark.parametrize("policy", ["progressive", "power:2.5", "vicidial", "oracle", "predictive"])
def test_a_seed_gives_the_same_day_every_time(policy: str) -> None:
    """The same seed replays the same day exactly."""
    spec = load_scenario(scenario())
    assert simulate(spec, policy, 5) == simulate(spec, policy, 5)


def test_time_is_counted_inside_the_shift() -> None:
    """Without churn everyone is logged in the whole shift, and occupancy is work over that time."""
    spec = load_scenario(scenario())
    result = simulate(spec, "power:3", 1)
    assert math.isclose(result.logged_s, spec.agents * spec.shift_s)
    assert result.talk_s <= result.busy_s <= result.logged_s
    assert math.isclose(result.busy_s + result.idle_s, result.logged_s, rel_tol=0.02)  # the rest: AMD off, none
    assert result.answered >= result.connected + result.abandoned - 1


def test_progressive_abandons_nobody_and_the_oracle_wastes_nothing() -> None:
    """Progressive keeps an operator for every call; the oracle dials only people, answering as operators free."""
    spec = load_scenario(scenario(hours=1))
    progressive = simulate(spec, "progressive", 2)
    oracle = simulate(spec, "oracle", 2)
    assert progressive.abandoned == 0
    assert oracle.abandoned == 0 and oracle.dialed == oracle.answered
    assert oracle.occupancy > 0.97 > progressive.occupancy


def test_amd_false_positives_abandon_people_even_under_progressive() -> None:
    """A person AMD takes for a machine is hung up on: abandoned, whatever the pacing."""
    spec = load_scenario(scenario(hours=1, amd_false_positive=0.2))
    result = simulate(spec, "progressive", 1)
    assert 0.1 < result.abandon_rate < 0.3


def test_predictive_stays_under_the_cap_and_beats_progressive() -> None:
    """On a short shift our pacing keeps abandonment under 3% and occupancy above progressive's."""
    spec = load_scenario(scenario(hours=1, agents=20))
    ours, progressive = simulate(spec, "predictive", 4), simulate(spec, "progressive", 4)
    assert ours.abandon_rate <= 0.03
    assert ours.occupancy > progressive.occupancy + 0.05


def test_without_amd_operators_hear_the_machines() -> None:
    """AMD off (predictive's choice when AMD errs too often): machines reach operators, not people's counts."""
    spec = load_scenario(scenario(hours=1, agents=20, amd_false_positive=0.02))
    result = simulate(spec, "predictive", 1)
    assert result.busy_s + result.idle_s < result.logged_s - 60  # time on machines is neither
    assert result.abandon_rate < 0.03


def test_vicidial_keeps_its_dial_level_between_1_and_3() -> None:
    """ADAPT_TAPERED's level is clamped to [1, 3], whatever the floor does."""
    spec = load_scenario(scenario(hours=1, agents=20))
    run = Run(spec, 1)
    policy = Vicidial(run)
    levels: list[float] = []
    original = policy.tick

    def tick(now: float) -> None:
        original(now)
        levels.append(policy.level)

    policy.tick = tick  # type: ignore[method-assign]
    run.run(policy)
    assert levels and all(1.0 <= level <= 3.0 for level in levels)
    assert max(levels) > 1.0


def test_several_days_count_each_day() -> None:
    """Two shifts a day apart: each day's answers are counted on its own, the worst day is reported."""
    spec = load_scenario(scenario(days=2, hours=0.25))
    result = simulate(spec, "power:4", 1)
    assert all(n > 0 for n in result.day_answered)
    assert sum(result.day_answered) == result.answered
    assert result.worst_day_rate >= result.abandon_rate - 1e-12


def test_the_summary_bounds_the_mean_rate() -> None:
    """ci95 high is above the mean over seeds; with one seed it is the Wilson bound of its counts."""
    spec = load_scenario(scenario(agents=10))
    summary = simulate_seeds(spec, "power:4", 3)
    data = summary.as_dict()
    assert data["seeds"] == 3
    assert data["abandon_rate_ci95_high"] >= data["abandon_rate"]
    one = Summary("power:4", summary.runs[:1])
    assert one.abandon_rate_ci95_high == wilson_high(summary.runs[0].abandoned, summary.runs[0].answered)
    assert set(data) == {
        "policy", "occupancy", "talk_min_per_agent_hour", "abandon_rate", "abandon_rate_ci95_high",
        "worst_24h_abandon_rate", "connects_per_agent_hour", "agent_wait_s_mean", "dialed", "answered", "seeds",
    }  # fmt: skip


def test_wilson_bound() -> None:
    """The Wilson bound of 3 in 100 is about 8.5%; of nothing, 1."""
    assert abs(wilson_high(3, 100) - 0.0846) < 0.001
    assert wilson_high(0, 0) == 1.0


@pytest.mark.parametrize("name", ["power:0", "power:x", "turbo"])
def test_an_unknown_policy_is_refused(name: str) -> None:
    """Only the policies there are; power:R needs a ratio above 0."""
    with pytest.raises(ValueError, match="policy"):
        check_policy(name)


def test_a_scenario_is_not_changed_by_running_it() -> None:
    """Loading is pure: the parsed JSON comes back untouched."""
    data = scenario()
    before = copy.deepcopy(data)
    load_scenario(data)
    assert data == before
