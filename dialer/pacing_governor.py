"""The abandonment governor: a campaign's abandoned calls over the legal window, and how much risk is still allowed.

Pure values; `dialer.pacing` asks it before every launch beyond one call per free operator.

Why it is built this way:
- The law (FCC 30 days, Ofcom every 24 hours) judges counted calls, not a parameter: abandoned / answered over the
  window. What is unknown when we decide is how the calls now in flight will end. So the bound is on the rate
  the window will show once they have: (A + Q + z sqrt(V)) / (N + P), with Q and V the sum and variance of the
  in-flight calls' abandonment chances and P their expected answers. A launch that would lift it over the cap is
  refused, whatever the pacing model says: that is how it never crosses the cap.
- With less than a few abandoned calls of headroom left under the cap, the pacing threshold is scaled down
  linearly, to nothing at the cap: the dialer slides toward progressive (one call per free operator, nothing
  abandoned) instead of hitting a wall. The threshold's tuning keeps the rate at the target below the cap;
  the slide is for what tuning cannot catch (a burst of drops, a small campaign's first hundred answers).
- People that AMD wrongly takes for machines are hung up on: abandoned, though the dialer never sees it. They are
  counted as expected values from the audited false-positive rate, on every HUMAN verdict.
- The threshold (the abandonment cost allowed to the last call launched) is tuned online by integral control:
  each answer moves its log by gain x (target - abandoned), so over many answers the drop rate settles at the
  target whatever the model's own bias; clipping it, and holding it while the governor slides, is the anti-windup.
- The slide counts only answers already had: early in a window the model's estimates are the least sure, and its
  own expected answers must not pay for its own risks. A campaign's first window thus starts progressive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BUCKET_S = 300.0  # the window slides in five-minute steps
DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class AbandonWindow:
    """Abandoned and answered calls (expected values included) over the last `window_s`, in five-minute buckets."""

    window_s: float = 30 * DAY_S
    closed: tuple[tuple[float, float, float], ...] = ()  # (bucket start, abandoned, answered), oldest first
    closed_abandoned: float = 0.0
    closed_answered: float = 0.0
    current_start: float = 0.0
    abandoned_now: float = 0.0
    answered_now: float = 0.0

    def added(self, now: float, abandoned: float, answered: float) -> AbandonWindow:
        """Count `answered` answers of which `abandoned` were abandoned, at `now`."""
        window = self._rolled(now)
        return AbandonWindow(
            window.window_s,
            window.closed,
            window.closed_abandoned,
            window.closed_answered,
            window.current_start,
            window.abandoned_now + abandoned,
            window.answered_now + answered,
        )

    def totals(self, now: float) -> tuple[float, float]:
        """(abandoned, answered) inside the window at `now`."""
        window = self._rolled(now)
        return window.closed_abandoned + window.abandoned_now, window.closed_answered + window.answered_now

    def _rolled(self, now: float) -> AbandonWindow:
        """Close the current bucket once `now` is past it and drop the buckets that left the window."""
        start = math.floor(now / BUCKET_S) * BUCKET_S
        if start <= self.current_start:
            return self  # same bucket (a clock that steps back keeps counting in it)
        closed, abandoned, answered = self.closed, self.closed_abandoned, self.closed_answered
        if self.answered_now or self.abandoned_now:
            closed = (*closed, (self.current_start, self.abandoned_now, self.answered_now))
            abandoned += self.abandoned_now
            answered += self.answered_now
        oldest = now - self.window_s
        keep = 0
        while keep < len(closed) and closed[keep][0] + BUCKET_S <= oldest:
            abandoned -= closed[keep][1]
            answered -= closed[keep][2]
            keep += 1
        return AbandonWindow(self.window_s, closed[keep:], max(abandoned, 0.0), max(answered, 0.0), start, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class InFlight:
    """The calls in flight as the governor sees them: expected abandonments, their variance, expected answers."""

    abandon: float = 0.0
    variance: float = 0.0
    answers: float = 0.0

    def plus(self, connect: float, risk: float) -> InFlight:
        """One more call that connects with probability `connect` and is then abandoned with probability `risk`."""
        q = connect * risk
        return InFlight(self.abandon + q, self.variance + q * (1.0 - q), self.answers + connect)


def rate_bound(abandoned: float, answered: float, flight: InFlight, z: float) -> float:
    """Upper bound (one-sided, z) on the window's abandonment rate once every call in flight has ended."""
    return (abandoned + flight.abandon + z * math.sqrt(flight.variance)) / max(answered + flight.answers, 1.0)


def headroom(abandoned: float, answered: float, flight: InFlight, z: float, cap: float) -> float:
    """How many more abandoned calls the window could take before the bound reaches the cap."""
    return cap * (answered + flight.answers) - (abandoned + flight.abandon + z * math.sqrt(flight.variance))


def fallback(room: float, slide_calls: float) -> float:
    """1 with `slide_calls` or more of headroom, 0 with none, linear between: how much predictive is left.

    Counted in calls, not in rate: a campaign's first hundred answers have a few calls of room where a busy
    afternoon has dozens, and it is calls that tip the rate over.
    """
    if room >= slide_calls:
        return 1.0
    return max(room, 0.0) / slide_calls


def tuned_threshold(threshold: float, dropped: bool, target: float, gain: float, *, held: bool = False) -> float:
    """Integral control of the threshold toward the target drop rate, one answered call at a time.

    `held`: the governor is holding pacing back, so few drops say nothing about the threshold; it may go down
    then, not up (else it winds up and floods the floor the moment the governor lets go).
    """
    step = gain * (target - (1.0 if dropped else 0.0))
    if held and step > 0:
        return threshold
    return min(max(threshold * math.exp(step), target / 20.0), 1.0)
