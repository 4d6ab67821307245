"""What pacing learns online: how attempts end and when, and how long operators stay busy."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dialer.pacing_learning import AnswerTimes, Ending, EndingMix, Estimates, LogNormalFit, normal_cdf, normal_pdf


@given(st.floats(-9, 9))
def test_the_normal_cdf_matches_the_error_function(x: float) -> None:
    """Φ from the table agrees with math.erf to 2e-4, and φ with its formula."""
    exact = 0.5 * (1 + math.erf(x / math.sqrt(2)))
    assert abs(float(normal_cdf(np.array([x]))[0]) - exact) < 2e-4
    assert abs(float(normal_pdf(np.array([x]))[0]) - math.exp(-x * x / 2) / math.sqrt(2 * math.pi)) < 1e-3


def test_a_lognormal_fit_learns_the_talk_time() -> None:
    """Mean and spread of lognormal talks come back within a few percent; the prior fades."""
    rng = random.Random(4)
    sigma2 = math.log1p((144 / 180) ** 2)
    fit = LogNormalFit.prior(300.0, 200.0, weight=10.0)
    for _ in range(5000):
        fit = fit.updated(rng.lognormvariate(math.log(180) - sigma2 / 2, math.sqrt(sigma2)), 2000.0)
    assert abs(fit.mean_s - 180) < 10
    assert abs(fit.sigma - math.sqrt(sigma2)) < 0.03


def test_a_fixed_wrap_up_gives_a_sharp_fit() -> None:
    """A constant 30 s wrap-up: the spread shrinks to the floor, the CDF jumps at 30 s."""
    fit = LogNormalFit.prior(60.0, 20.0, weight=3.0)
    for _ in range(3000):
        fit = fit.updated(30.0, 400.0)
    cdf = fit.cdf(np.array([29.0, 31.0]))
    assert cdf[0] < 0.01 < 0.99 < cdf[1]


def test_answer_times_follow_any_shape() -> None:
    """People around 9 s and machines at 12-18 s mixed (AMD off): the histogram keeps both humps."""
    rng = random.Random(2)
    times = AnswerTimes.prior(10.0, 6.0)
    for i in range(4000):
        times = times.updated(rng.uniform(12, 18) if i % 4 == 0 else rng.lognormvariate(2.06, 0.5), 2000.0)
    cdf = times.cdf(np.array([0.0, 11.9, 18.1, 60.0]))
    assert cdf[0] == 0.0
    assert abs(cdf[2] - cdf[1] - (0.25 + 0.75 * 0.16)) < 0.05  # the machines' quarter plus the people's share
    assert cdf[3] > 0.999


@given(st.lists(st.floats(0.0, 60.0), min_size=1, max_size=50))
def test_answer_times_make_a_cdf(seconds: list[float]) -> None:
    """Whatever was seen, the CDF starts at 0, never falls and ends at 1; updates leave the old value untouched."""
    times = AnswerTimes.prior(10.0, 6.0)
    before = times.weights.copy()
    for s in seconds:
        new = times.updated(s, 800.0)
        assert np.array_equal(times.weights, before) or times is not new
        times = new
        before = times.weights.copy()
    cdf = times.cdf(np.linspace(0, 120, 200))
    assert cdf[0] == 0.0 and abs(cdf[-1] - 1.0) < 1e-9
    assert np.all(np.diff(cdf) >= 0)


def test_the_ending_mix_follows_a_drifting_list() -> None:
    """The answer rate falls from 30% to 10%: the decaying counts follow within a few hundred attempts."""
    mix = EndingMix.prior(0.5, 0.1, 0.05, strength=5.0)
    for i in range(3000):
        mix = mix.updated(Ending.CONNECTABLE if i % 10 < 3 else Ending.NO_ANSWER, 800.0)
    assert abs(mix.share(Ending.CONNECTABLE) - 0.3) < 0.02
    for i in range(3000):
        mix = mix.updated(Ending.CONNECTABLE if i % 10 == 0 else Ending.NO_ANSWER, 800.0)
    assert abs(mix.share(Ending.CONNECTABLE) - 0.1) < 0.02


def test_the_prior_errs_toward_too_few_calls() -> None:
    """Before any call: half the attempts are thought to connect, and operators to be busy for long."""
    prior = Estimates.prior()
    assert prior.mix.share(Ending.CONNECTABLE) == 0.5
    assert prior.talk_s.mean_s > 250
    assert prior.wrapup_s.mean_s > 50


def test_estimates_update_only_what_they_saw() -> None:
    """A busy attempt moves the mix and the busy times, nothing else."""
    prior = Estimates.prior()
    after = prior.attempt_ended(Ending.BUSY, 2.0)
    assert after.busy_s != prior.busy_s
    assert replace(after, mix=prior.mix, busy_s=prior.busy_s) == prior
