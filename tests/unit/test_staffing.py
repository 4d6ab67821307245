"""The staffing calculator: Erlang B and C against tables and direct formulas, Erlang A against independent oracles."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from acd.staffing import (
    Figures,
    Load,
    ServiceTarget,
    erlang_a_figures,
    erlang_b,
    erlang_c,
    erlang_c_figures,
    log_lower_gamma_regularized,
    operators_needed,
    staffing_figures,
)

call_rates = st.floats(1.0, 5000.0)
ahts = st.floats(10.0, 900.0)
patiences = st.floats(1.0, 1800.0)
waits = st.floats(0.0, 120.0)
shares = st.floats(0.5, 0.95)
# Heavy loads sum a long queue on a busy test machine; these tests pin figures, not speed.
_NO_DEADLINE = settings(deadline=None)


def _all_finite_probabilities(f: Figures) -> bool:
    shares_ = (f.p_wait, f.service_level, f.abandon_rate, f.occupancy)
    return all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in shares_)


# --- Erlang B and C -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "p_wait"), [(11, 0.6821), (12, 0.4494), (13, 0.2853), (14, 0.1741)])
def test_erlang_c_matches_the_published_table_for_ten_erlangs(n: int, p_wait: float) -> None:
    """P(wait) at A = 10 erlangs is the value printed in Erlang C tables, to four decimals."""
    assert erlang_c(n, 10.0) == pytest.approx(p_wait, abs=5e-5)


@pytest.mark.parametrize(("n", "a", "blocking"), [(10, 5.0, 0.01838), (30, 25.0, 0.05260), (1, 1.0, 0.5)])
def test_erlang_b_matches_the_published_table(n: int, a: float, blocking: float) -> None:
    """Erlang B blocking equals published values (5 erlangs on 10 lines, 25 on 30, 1 on 1)."""
    assert erlang_b(n, a) == pytest.approx(blocking, abs=5e-6)


@given(st.integers(0, 40), st.floats(0.0, 60.0))
def test_erlang_b_recursion_equals_the_direct_formula(n: int, a: float) -> None:
    """The recursion gives (A^n/n!) / sum_k A^k/k!, computed naively, for small n."""
    direct = (a**n / math.factorial(n)) / sum(a**k / math.factorial(k) for k in range(n + 1))
    assert erlang_b(n, a) == pytest.approx(direct, rel=1e-10, abs=1e-300)


@given(st.integers(1, 40), st.floats(0.01, 40.0))
def test_erlang_c_from_erlang_b_equals_the_direct_formula(n: int, a: float) -> None:
    """C = n·B/(n - A(1-B)) equals the textbook sum formula for small n when n > A."""
    assume(n > a + 1e-6)
    top = a**n / math.factorial(n) * n / (n - a)
    direct = top / (sum(a**k / math.factorial(k) for k in range(n)) + top)
    assert erlang_c(n, a) == pytest.approx(direct, rel=1e-9)


def test_erlang_c_figures_for_the_textbook_eighty_twenty_example() -> None:
    """100 calls per half hour, 3 min AHT, 80/20: 14 operators, 88.8 % in 20 s, ASA 7.8 s; 13 fall short."""
    load, target = Load(200.0, 180.0), ServiceTarget(0.8, 20.0)
    needed = operators_needed(load, target)
    assert needed.operators == 14
    assert needed.service_level == pytest.approx(1 - 0.174132 * math.exp(-4 * 20 / 180), rel=1e-5)
    assert needed.asa_s == pytest.approx(0.174132 * 180 / 4, rel=1e-5)
    assert needed.occupancy == pytest.approx(10 / 14)
    assert needed.abandon_rate == 0.0
    assert erlang_c_figures(load, 13, 20.0).service_level == pytest.approx(0.7956, abs=1e-4)


def test_erlang_c_with_no_more_operators_than_erlangs_waits_forever() -> None:
    """n <= A is unstable: every call waits, none within the target, the mean wait is unbounded (None)."""
    assert erlang_c_figures(Load(200.0, 180.0), 10, 20.0) == Figures(10, 1.0, 0.0, None, 0.0, 1.0)


@settings(_NO_DEADLINE, max_examples=50)
@given(call_rates, ahts, waits)
def test_erlang_c_p_wait_falls_and_service_level_rises_with_operators(calls: float, aht: float, t: float) -> None:
    """One more operator never makes waiting likelier or the service level worse."""
    load = Load(calls, aht)
    first = math.floor(load.erlangs) + 1
    figures = [erlang_c_figures(load, n, t) for n in range(first, first + 15)]
    for fewer, more in itertools.pairwise(figures):
        assert more.p_wait <= fewer.p_wait
        assert more.service_level >= fewer.service_level


# --- Erlang A -------------------------------------------------------------------------------------------------


@settings(_NO_DEADLINE, max_examples=50)
@given(call_rates, ahts, patiences, waits)
def test_erlang_a_p_wait_falls_and_service_level_rises_with_operators(
    calls: float, aht: float, patience: float, t: float
) -> None:
    """With impatient callers too, more operators mean less waiting and a better service level."""
    load = Load(calls, aht)
    first = max(1, math.floor(0.7 * load.erlangs))
    figures = [erlang_a_figures(load, n, patience, t) for n in range(first, first + 15)]
    for fewer, more in itertools.pairwise(figures):
        assert more.p_wait <= fewer.p_wait + 1e-12
        assert more.service_level >= fewer.service_level - 1e-12
        assert more.abandon_rate <= fewer.abandon_rate + 1e-12


@settings(_NO_DEADLINE, max_examples=50)
@given(st.integers(1, 60), st.floats(0.05, 0.95), ahts, waits)
def test_erlang_a_approaches_erlang_c_as_patience_grows(n: int, utilisation: float, aht: float, t: float) -> None:
    """Callers who almost never hang up make Erlang A give Erlang C's figures."""
    load = Load(utilisation * n * 3600.0 / aht, aht)
    patient = erlang_a_figures(load, n, 1e4 * aht / (1 - utilisation), t)
    forever = erlang_c_figures(load, n, t)
    assert patient.p_wait == pytest.approx(forever.p_wait, abs=1e-3)
    assert patient.service_level == pytest.approx(forever.service_level, abs=1e-3)
    assert patient.asa_s == pytest.approx(forever.asa_s, rel=2e-3, abs=1e-3)
    assert patient.abandon_rate < 1e-3


@_NO_DEADLINE
@given(st.integers(1, 80), st.floats(0.1, 200.0), ahts)
def test_erlang_a_approaches_erlang_b_as_patience_vanishes(n: int, erlangs: float, aht: float) -> None:
    """Callers who hang up at once leave a loss system: P(abandon) = P(wait) = Erlang B."""
    load = Load(erlangs * 3600.0 / aht, aht)
    hasty = erlang_a_figures(load, n, 1e-7 * aht, 0.0)
    assert hasty.abandon_rate == pytest.approx(erlang_b(n, erlangs), rel=1e-5, abs=1e-12)
    assert hasty.p_wait == pytest.approx(erlang_b(n, erlangs), rel=1e-5, abs=1e-12)


@_NO_DEADLINE
@given(st.floats(0.1, 1e6), waits)
def test_erlang_a_is_stable_for_a_thousand_operators_near_full_load(patience: float, t: float) -> None:
    """n = 1000 and A = 950 erlangs gives finite probabilities and a finite ASA for any patience."""
    figures = erlang_a_figures(Load(950 * 3600 / 240, 240.0), 1000, patience, t)
    assert _all_finite_probabilities(figures)
    assert figures.asa_s is not None and math.isfinite(figures.asa_s)
    assert 0.0 < figures.p_wait < 0.1


@_NO_DEADLINE
@given(st.floats(1.0, 1e5), ahts, st.integers(1, 3000), st.floats(0.1, 3600.0), waits)
def test_erlang_a_figures_are_probabilities_for_any_load(
    calls: float, aht: float, n: int, patience: float, t: float
) -> None:
    """Every share lies in [0, 1] and the answered callers wait a finite time, overloaded or idle."""
    figures = erlang_a_figures(Load(calls, aht), n, patience, t)
    assert _all_finite_probabilities(figures)
    assert figures.asa_s is not None and 0.0 <= figures.asa_s < math.inf
    assert figures.service_level <= 1.0 - figures.abandon_rate + 1e-12


@_NO_DEADLINE
@given(call_rates, ahts, st.integers(1, 200), patiences)
def test_erlang_a_abandonment_obeys_littles_law_bound(calls: float, aht: float, n: int, patience: float) -> None:
    """Answered calls cannot exceed what n operators can serve: λ·(1 - P_ab)·AHT <= n."""
    load = Load(calls, aht)
    figures = erlang_a_figures(load, n, patience, 20.0)
    assert load.erlangs * (1 - figures.abandon_rate) <= n * (1 + 1e-9)


def _birth_death_oracle(lam: float, aht: float, n: int, patience: float, t: float) -> dict[str, float]:
    """M/M/n+M by brute force: the truncated chain in log space, and the tagged caller's chain via expm."""
    from scipy.linalg import expm

    mu, theta = 1 / aht, 1 / patience
    top = n + 2000 + int(5 * lam * patience)
    log_p = np.cumsum([0.0] + [math.log(lam / (min(k, n) * mu + max(k - n, 0) * theta)) for k in range(1, top)])
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    p_wait = p[n:].sum()
    p_abandon = theta * (np.arange(top - n) * p[n:]).sum() / lam  # Little's law on the abandoning callers
    # The tagged caller with i ahead moves up at rate n·μ + i·θ and hangs up at rate θ.
    ahead = int(np.nonzero(p[n:] > 1e-18)[0].max()) + 1  # longer queues carry no weight in a double
    start = p[n : n + ahead] / p[n:].sum()
    q = np.diag([-(n * mu + (i + 1) * theta) for i in range(ahead)])
    q += np.diag([n * mu + i * theta for i in range(1, ahead)], k=-1)
    served = np.zeros(ahead)
    served[0] = n * mu
    q_served = np.linalg.solve(q, served)
    served_by_t = start @ (expm(q * t) @ q_served - q_served)
    wait_served = start @ np.linalg.solve(q, q_served)  # E[wait; served] = start · Q^-2 · served
    return {
        "p_wait": p_wait,
        "abandon_rate": p_abandon,
        "service_level": 1 - p_wait + p_wait * served_by_t,
        "asa_s": p_wait * wait_served / (1 - p_abandon),
    }


@pytest.mark.parametrize(
    ("calls", "aht", "n", "patience", "t"),
    [
        (120, 240, 10, 120, 20),
        (120, 240, 8, 120, 20),
        (400, 300, 30, 60, 20),
        (100, 600, 5, 30, 60),
        (2000, 180, 80, 300, 15),
        (50, 200, 2, 1000, 30),
        (3000, 240, 150, 90, 20),
        (3000, 240, 250, 90, 0),
    ],
)
def test_erlang_a_equals_the_brute_force_birth_death_chain(
    calls: float, aht: float, n: int, patience: float, t: float
) -> None:
    """The incomplete-gamma closed form agrees with the truncated chain and the tagged caller's chain."""
    pytest.importorskip("scipy")
    oracle = _birth_death_oracle(calls / 3600, aht, n, patience, t)
    figures = erlang_a_figures(Load(calls, aht), n, patience, t)
    for key, value in oracle.items():
        assert getattr(figures, key) == pytest.approx(value, rel=1e-8, abs=1e-12), key


def _simulate_impatient_queue(lam: float, aht: float, n: int, patience: float, t: float, calls: int) -> dict[str, Any]:
    """First come, first served: a caller takes the earliest free operator unless they hang up first."""
    rng = random.Random(20240401)
    free_at = [0.0] * n
    now = 0.0
    waited = abandoned = in_time = served = 0
    total_wait = 0.0
    for _ in range(calls):
        now += rng.expovariate(lam)
        wait = max(0.0, free_at[0] - now)
        waited += wait > 0
        if wait > rng.expovariate(1 / patience):
            abandoned += 1
            continue
        heapq.heapreplace(free_at, now + wait + rng.expovariate(1 / aht))
        served += 1
        total_wait += wait
        in_time += wait <= t
    return {
        "p_wait": waited / calls,
        "abandon_rate": abandoned / calls,
        "service_level": in_time / calls,
        "asa_s": total_wait / served,
    }


def test_erlang_a_definitions_match_a_simulated_call_centre() -> None:
    """A seeded simulation counts SL over offered calls and ASA over answered ones, as the figures do."""
    simulated = _simulate_impatient_queue(120 / 3600, 240.0, 10, 120.0, 20.0, calls=200_000)
    figures = erlang_a_figures(Load(120.0, 240.0), 10, 120.0, 20.0)
    assert figures.p_wait == pytest.approx(simulated["p_wait"], abs=0.01)
    assert figures.abandon_rate == pytest.approx(simulated["abandon_rate"], abs=0.01)
    assert figures.service_level == pytest.approx(simulated["service_level"], abs=0.01)
    assert figures.asa_s == pytest.approx(simulated["asa_s"], rel=0.05)


@given(st.floats(0.01, 1e5), st.floats(0.01, 10.0))
def test_log_incomplete_gamma_matches_scipy(a: float, ratio: float) -> None:
    """Our regularized lower incomplete gamma agrees with scipy's gammainc where that is representable."""
    special = pytest.importorskip("scipy.special")
    x = a * ratio
    expected = float(special.gammainc(a, x))
    assume(expected > 1e-250)
    assert math.exp(log_lower_gamma_regularized(a, x)) == pytest.approx(expected, rel=1e-9)


# --- operators needed -----------------------------------------------------------------------------------------


@settings(_NO_DEADLINE, max_examples=60)
@given(call_rates, ahts, shares, waits, st.none() | patiences)
def test_operators_needed_is_the_fewest_that_meet_the_target(
    calls: float, aht: float, share: float, t: float, patience: float | None
) -> None:
    """The staffing returned meets the target, and one operator fewer does not."""
    load, target = Load(calls, aht), ServiceTarget(share, t)
    needed = operators_needed(load, target, patience)
    assert needed.meets(target)
    assert needed == staffing_figures(load, needed.operators, t, patience)
    if needed.operators > 1:
        assert not staffing_figures(load, needed.operators - 1, t, patience).meets(target)


def test_operators_needed_for_the_sample_hotline() -> None:
    """120 calls/h of 240 s at 80/20 needs 11 operators by Erlang C, 10 when callers hang up after ~120 s."""
    load, target = Load(120.0, 240.0), ServiceTarget(0.8, 20.0)
    assert operators_needed(load, target).operators == 11
    impatient = operators_needed(load, target, patience_s=120.0)
    assert impatient.operators == 10
    assert impatient.abandon_rate == pytest.approx(0.0684, abs=1e-4)


@pytest.mark.parametrize(("calls", "cap"), [(200.0, 12), (200.0, 5)])
def test_operators_needed_refuses_a_cap_below_the_need(calls: float, cap: int) -> None:
    """When the cap is below what the target needs, even below the load, the error names the cap."""
    with pytest.raises(ValueError, match=f"no staffing up to {cap} operators"):
        operators_needed(Load(calls, 180.0), ServiceTarget(0.99, 0.0), max_operators=cap)


def test_season_load_scales_the_calls_not_the_handling_time() -> None:
    """Three times the calls is three times the erlangs, with the same AHT."""
    peak = Load(120.0, 240.0).scaled(3)
    assert (peak.calls_per_hour, peak.aht_s) == (360.0, 240.0)
    assert peak.erlangs == pytest.approx(24.0)


# --- inputs ---------------------------------------------------------------------------------------------------


def test_service_target_parses_share_slash_seconds() -> None:
    """'0.8/20' is 80 % of calls within 20 s."""
    assert ServiceTarget.parse(" 0.8/20 ") == ServiceTarget(0.8, 20.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("80/20", "between 0 and 1"),
        ("1/20", "between 0 and 1"),
        ("0/20", "between 0 and 1"),
        ("0.8", "SHARE/SECONDS"),
        ("a/b", "two numbers"),
        ("0.8/-1", "within_s = -1.0"),
        ("nan/20", "share = nan"),
    ],
)
def test_service_target_refuses_what_is_not_a_share_and_seconds(text: str, message: str) -> None:
    """A percentage, a missing part, a non-number or negative seconds are refused with the reason."""
    with pytest.raises(ValueError, match=message):
        ServiceTarget.parse(text)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Load(120.0, -5.0), "aht_s = -5.0"),
        (lambda: Load(0.0, 240.0), "calls_per_hour = 0.0"),
        (lambda: Load(math.nan, 240.0), "calls_per_hour = nan"),
        (lambda: erlang_c(0, 1.0), "operators = 0"),
        (lambda: erlang_b(3, -1.0), "erlangs = -1.0"),
        (lambda: erlang_a_figures(Load(1.0, 1.0), 1, 0.0, 1.0), "patience_s = 0.0"),
    ],
)
def test_bad_inputs_are_refused_naming_the_field_and_value(make: Any, message: str) -> None:
    """Negative, zero or NaN figures are refused before any arithmetic."""
    with pytest.raises(ValueError, match=message):
        make()
