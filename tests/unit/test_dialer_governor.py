"""The abandonment governor: the window's counts, the bound on its rate, the slide back and the threshold's tuning."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from dialer.pacing_governor import (
    BUCKET_S,
    DAY_S,
    AbandonWindow,
    InFlight,
    fallback,
    headroom,
    rate_bound,
    tuned_threshold,
)

counts = st.floats(0.0, 1e5)


def test_the_window_sums_what_it_was_told() -> None:
    """Answers and abandons add up across buckets."""
    window = AbandonWindow(30 * DAY_S)
    for minute in range(30):
        window = window.added(minute * 60.0, 1.0 if minute % 10 == 0 else 0.0, 10.0)
    assert window.totals(1800.0) == (3.0, 300.0)


def test_old_calls_leave_a_24_hour_window() -> None:
    """UK mode: yesterday morning's calls no longer count this afternoon; the last day's do."""
    window = AbandonWindow(DAY_S).added(9 * 3600.0, 5.0, 100.0).added(20 * 3600.0, 1.0, 50.0)
    assert window.totals(DAY_S + 8 * 3600.0) == (6.0, 150.0)
    assert window.totals(DAY_S + 10 * 3600.0) == (1.0, 50.0)
    assert window.totals(DAY_S + 21 * 3600.0) == (0.0, 0.0)


def test_a_30_day_window_keeps_a_month() -> None:
    """FCC: every call of the last 30 days counts."""
    window = AbandonWindow(30 * DAY_S).added(0.0, 2.0, 100.0)
    assert window.totals(29 * DAY_S) == (2.0, 100.0)
    assert window.totals(31 * DAY_S) == (0.0, 0.0)


def test_a_clock_that_steps_back_keeps_counting() -> None:
    """A shell whose clock steps back a little still counts into the current bucket."""
    window = AbandonWindow().added(1000.0, 0.0, 1.0).added(990.0, 1.0, 1.0)
    assert window.totals(1000.0) == (1.0, 2.0)
    assert window.current_start == math.floor(1000.0 / BUCKET_S) * BUCKET_S


@given(counts, counts, st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), max_size=30))
def test_the_bound_is_never_below_the_counted_rate(
    abandoned: float, answered: float, calls: list[tuple[float, float]]
) -> None:
    """The projected bound never claims a rate below what the window already shows once nothing risky is in flight."""
    flight = InFlight()
    for connect, risk in calls:
        flight = flight.plus(connect, risk)
    abandoned = min(abandoned, answered)
    bound = rate_bound(abandoned, answered, flight, 1.645)
    assert bound >= 0.0
    if not calls:
        assert bound == abandoned / max(answered, 1.0)


@given(st.floats(-10, 10, allow_subnormal=False), st.floats(0.5, 5))
def test_the_slide_runs_from_full_to_nothing(room: float, calls: float) -> None:
    """1 with enough headroom, 0 with none, in between otherwise."""
    share = fallback(room, calls)
    assert 0.0 <= share <= 1.0
    assert (share == 1.0) == (room >= calls)
    assert (share == 0.0) == (room <= 0.0)


def test_headroom_counts_calls_under_the_cap() -> None:
    """3% of 1000 answers is 30 calls; 25 used leaves 5, less what the calls in flight may still cost."""
    assert headroom(25.0, 1000.0, InFlight(), 1.645, 0.03) == 30.0 - 25.0
    flight = InFlight().plus(1.0, 0.5)
    assert headroom(25.0, 1000.0, flight, 1.645, 0.03) < 5.0


@given(st.floats(0.0014, 0.5), st.booleans(), st.booleans())
def test_the_threshold_moves_the_right_way_and_stays_in_bounds(threshold: float, dropped: bool, held: bool) -> None:
    """Down after a drop, up after a connect (unless held back), always within [target / 20, 1]."""
    new = tuned_threshold(threshold, dropped, 0.028, 0.1, held=held)
    assert 0.028 / 20 <= new <= 1.0
    if dropped:
        assert new <= threshold
    elif held:
        assert new == threshold
    else:
        assert new >= threshold


def test_the_threshold_stands_still_at_the_target_rate() -> None:
    """At exactly the target drop rate the threshold's log-steps cancel out: that is what it is tuned toward."""
    threshold = 0.05
    for i in range(10_000):
        threshold = tuned_threshold(threshold, i % 40 == 0, 1 / 40, 0.1)
    assert abs(math.log(threshold / 0.05)) < 0.2
