"""How many operators a hotline needs: Erlang C (callers wait forever) and Erlang A (callers hang up).

Pure functions over frozen values; the waiting-time figures are exact for the M/M/n and M/M/n+M models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Terms below e**-40 of the largest one change no printed figure; the sums stop there.
_NEGLIGIBLE_LOG = -40.0
_EPSILON = 1e-17  # a series term this small next to its sum changes no bit of it
_TINY = 1e-300


@dataclass(frozen=True, slots=True)
class Load:
    """The calls offered to a hotline: how many per hour, and how long each keeps an operator busy."""

    calls_per_hour: float
    aht_s: float  # average handling time: talk, hold and wrap-up

    def __post_init__(self) -> None:
        _require_positive("calls_per_hour", self.calls_per_hour)
        _require_positive("aht_s", self.aht_s)

    @property
    def calls_per_s(self) -> float:
        return self.calls_per_hour / 3600.0

    @property
    def erlangs(self) -> float:
        """The offered load A = λ·AHT: how many operators would be busy if nobody ever waited."""
        return self.calls_per_s * self.aht_s

    def scaled(self, factor: float) -> Load:
        """The same hotline with `factor` times the calls (a tax-reporting month, a campaign)."""
        _require_positive("factor", factor)
        return Load(self.calls_per_hour * factor, self.aht_s)


@dataclass(frozen=True, slots=True)
class ServiceTarget:
    """`share` of offered calls answered within `within_s` seconds (80/20 is written 0.8/20)."""

    share: float
    within_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.share) and 0.0 < self.share < 1.0):
            raise ValueError(f"share = {self.share!r}: must be a fraction strictly between 0 and 1, e.g. 0.8")
        if not (math.isfinite(self.within_s) and self.within_s >= 0.0):
            raise ValueError(f"within_s = {self.within_s!r}: must be a number of seconds, 0 or more")

    @classmethod
    def parse(cls, text: str) -> ServiceTarget:
        """'0.8/20' -> 80 % of calls answered within 20 s; a share written as a percentage is refused."""
        share_text, sep, seconds_text = text.strip().partition("/")
        if not sep:
            raise ValueError("expected SHARE/SECONDS, e.g. 0.8/20")
        try:
            share, within_s = float(share_text), float(seconds_text)
        except ValueError:
            raise ValueError("expected two numbers as SHARE/SECONDS, e.g. 0.8/20") from None
        if share >= 1.0:
            raise ValueError("the share must be a fraction strictly between 0 and 1 (80 % is 0.8), e.g. 0.8/20")
        return cls(share, within_s)


@dataclass(frozen=True, slots=True)
class Figures:
    """What callers live through with `operators` operators logged in.

    p_wait: share of calls that find every operator busy. service_level: share of offered calls answered
    within the target time (abandoned calls never count). asa_s: mean wait of the answered calls, None when
    the queue grows without bound. abandon_rate: share of offered calls that hang up before an answer.
    occupancy: share of logged-in time the operators spend handling calls.
    """

    operators: int
    p_wait: float
    service_level: float
    asa_s: float | None
    abandon_rate: float
    occupancy: float

    def meets(self, target: ServiceTarget) -> bool:
        return self.service_level >= target.share


def erlang_b(n: int, a: float) -> float:
    """Blocking probability of n lines offered a erlangs, by the recursion that never overflows."""
    _require_operators(n, minimum=0)
    if not (math.isfinite(a) and a >= 0.0):
        raise ValueError(f"erlangs = {a!r}: must be a finite number, 0 or more")
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(n: int, a: float) -> float:
    """Probability that a call waits with n operators and a erlangs; 1 when n <= a (the queue never empties)."""
    _require_operators(n)
    if n <= a:
        return 1.0
    b = erlang_b(n, a)
    return n * b / (n - a * (1.0 - b))


def erlang_c_figures(load: Load, n: int, within_s: float) -> Figures:
    """Erlang C (M/M/n, nobody hangs up): every call is answered, sooner or later."""
    a = load.erlangs
    c = erlang_c(n, a)
    if n <= a:
        # Unstable: the queue grows without bound, so every call waits and the mean wait is infinite.
        return Figures(n, 1.0, 0.0, None, 0.0, 1.0)
    service_level = 1.0 - c * math.exp(-(n - a) * within_s / load.aht_s)
    return Figures(n, c, service_level, c * load.aht_s / (n - a), 0.0, a / n)


@dataclass(frozen=True, slots=True)
class _Impatient:
    """An M/M/n+M queue in the units where patience is 1: alpha = n·μ/θ, beta = λ/θ."""

    p_wait: float
    p_served_if_queued: float
    alpha: float
    beta: float


def _impatient_queue(load: Load, n: int, patience_s: float) -> _Impatient:
    """P(wait) and P(served | queued) of M/M/n+M; the queue's states are weighed through Erlang B."""
    _require_operators(n)
    _require_positive("patience_s", patience_s)
    alpha = n * patience_s / load.aht_s
    beta = load.calls_per_s * patience_s
    b = erlang_b(n, load.erlangs)
    if b == 0.0:
        # Erlang B underflowed: calls find n operators busy less often than once in 1e300.
        return _Impatient(0.0, 1.0, alpha, beta)
    # J = sum over j >= 0 of P(n + j calls in the system) / P(n calls) = prod-sum of beta / (alpha + i),
    # which is S(alpha, beta); J - 1 is kept apart so a queue that barely ever forms keeps all its digits.
    log_j, j_minus_1_over_j = _log_scaled_gamma(alpha, beta)
    # P(n + j) / P(k < n) summed: P(k <= n) = P(n) / B, so the queue holds J·B / (1 - B + J·B) of arrivals.
    log_jb = log_j + math.log(b)
    p_wait = math.exp(log_jb - _log_add_exp(math.log1p(-b), log_jb))
    # A queued caller with j ahead is served with probability alpha / (alpha + j + 1); summed, (1 - 1/J)/ρ.
    p_served = min(1.0, j_minus_1_over_j * alpha / beta)
    return _Impatient(p_wait, p_served, alpha, beta)


def erlang_a_figures(load: Load, n: int, patience_s: float, within_s: float) -> Figures:
    """Erlang A (M/M/n+M): callers hang up after an exponential patience with mean `patience_s`."""
    q = _impatient_queue(load, n, patience_s)
    if q.p_wait == 0.0:
        return Figures(n, 0.0, 1.0, 0.0, 0.0, load.erlangs / n)
    p_abandon = q.p_wait * (1.0 - q.p_served_if_queued)
    answered_in_time = q.p_served_if_queued * _share_served_within(q, within_s / patience_s)
    service_level = 1.0 - q.p_wait + q.p_wait * answered_in_time
    waited_and_served = q.p_wait * q.p_served_if_queued
    asa = waited_and_served * patience_s * _mean_wait_if_queued_and_served(q.alpha, q.beta) / (1.0 - p_abandon)
    occupancy = load.erlangs * (1.0 - p_abandon) / n
    return Figures(n, q.p_wait, _clamp(service_level), asa, _clamp(p_abandon), _clamp(occupancy))


def staffing_figures(load: Load, n: int, within_s: float, patience_s: float | None = None) -> Figures:
    """Erlang A when a patience is known, else Erlang C."""
    if patience_s is None:
        return erlang_c_figures(load, n, within_s)
    return erlang_a_figures(load, n, patience_s, within_s)


def operators_needed(
    load: Load, target: ServiceTarget, patience_s: float | None = None, max_operators: int = 10000
) -> Figures:
    """The figures of the fewest operators that meet the target; ValueError if more than max_operators."""

    def meets(n: int) -> bool:
        return staffing_figures(load, n, target.within_s, patience_s).meets(target)

    # Every staffing below `low` misses the target: Erlang C needs n > A, and with Erlang A under n/A of
    # the calls are answered at all (n operators serve at most n/AHT calls a second).
    if patience_s is None:
        low = max(1, math.floor(load.erlangs) + 1)
    else:
        low = max(1, math.floor(target.share * load.erlangs))
    # Service level grows with n, so gallop up to a staffing that meets the target, then bisect.
    step, high = 1, min(low, max_operators)
    while low > max_operators or not meets(high):
        if high >= max_operators:
            raise ValueError(
                f"no staffing up to {max_operators} operators answers {target.share:g} of calls "
                f"within {target.within_s:g} s at {load.erlangs:.4g} erlangs"
            )
        low, high, step = high + 1, min(high + step, max_operators), step * 2
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if meets(middle) else (middle + 1, high)
    return staffing_figures(load, high, target.within_s, patience_s)


def log_lower_gamma_regularized(a: float, x: float) -> float:
    """log P(a, x), P the regularized lower incomplete gamma function, for a > 0 and x >= 0."""
    if x == 0.0:
        return -math.inf
    if x < a + 1.0:
        return a * math.log(x) - x - math.lgamma(a + 1.0) + math.log1p(_gamma_series_tail(a, x))
    return math.log1p(-math.exp(_log_upper_gamma_regularized(a, x)))


def _log_scaled_gamma(a: float, x: float) -> tuple[float, float]:
    """log S and (S - 1)/S for S(a, x) = P(a, x)·Γ(a+1)·e**x / x**a = sum over k of x**k / ((a+1)···(a+k)).

    S is a queue's weight sum itself; scaling away x**a·e**-x keeps thousands of operators in range.
    """
    if x < a + 1.0:
        # Summing the tail apart from the leading 1 keeps S - 1 exact when a queue barely ever forms.
        tail = _gamma_series_tail(a, x)
        return math.log1p(tail), tail / (1.0 + tail)
    log_s = math.lgamma(a + 1.0) + x - a * math.log(x) + math.log1p(-math.exp(_log_upper_gamma_regularized(a, x)))
    return log_s, -math.expm1(-log_s)


def _gamma_series_tail(a: float, x: float) -> float:
    """S(a, x) - 1 by its series; for x < a + 1 the terms fall from the first one."""
    tail, term, k = 0.0, 1.0, 0
    while term > _EPSILON * (1.0 + tail):
        k += 1
        term *= x / (a + k)
        tail += term
    return tail


def _log_upper_gamma_regularized(a: float, x: float) -> float:
    """log Q(a, x) = log(1 - P(a, x)) by the modified Lentz continued fraction; fast for x >= a + 1."""
    b = x + 1.0 - a
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for i in range(1, 100_000 + int(10 * math.sqrt(a))):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            return a * math.log(x) - x - math.lgamma(a) + math.log(h)
    raise ArithmeticError(f"incomplete gamma continued fraction did not converge for a={a!r}, x={x!r}")


def _share_served_within(q: _Impatient, t: float) -> float:
    """P(wait <= t | queued and served), t in units of the mean patience.

    A caller with j ahead reaches an operator when j + 1 front moves have happened, at rates n·μ + i·θ; that
    wait is -ln(U)/θ with U ~ Beta(alpha, j + 1). Summed over the queue, Y = beta·e**(-θ·wait) of a served
    caller is Gamma(alpha + 1) cut at beta, so the answer is 1 - P(alpha + 1, beta·e**-t) / P(alpha + 1, beta).
    """
    if math.isinf(t):
        return 1.0
    a, high_x = q.alpha + 1.0, q.beta
    low_x = high_x * math.exp(-t)
    if high_x < a + 1.0:
        # Both on the series side: the x**a·e**-x factors cancel on paper, not in floating point.
        tails = math.log1p(_gamma_series_tail(a, low_x)) - math.log1p(_gamma_series_tail(a, high_x))
        log_ratio = -a * t - high_x * math.expm1(-t) + tails
    else:
        log_ratio = log_lower_gamma_regularized(a, low_x) - log_lower_gamma_regularized(a, high_x)
    return -math.expm1(min(0.0, log_ratio))


def _mean_wait_if_queued_and_served(alpha: float, beta: float) -> float:
    """E[wait | queued and served] in units of the mean patience, summed over the callers ahead.

    With j ahead (weight prod beta/(alpha+i)), service comes with probability alpha/(alpha+j+1) after a mean
    sum over i = 1..j+1 of 1/(alpha+i); terms are added relative to the largest so none overflows.
    """
    ref = -math.inf
    weights = weighted_waits = harmonic = log_r = 0.0
    j = 0
    while True:
        harmonic += 1.0 / (alpha + j + 1)
        log_w = log_r + math.log(alpha / (alpha + j + 1))
        if log_w > ref:
            scale = math.exp(ref - log_w)
            weights, weighted_waits, ref = weights * scale, weighted_waits * scale, log_w
        w = math.exp(log_w - ref)
        weights += w
        weighted_waits += w * harmonic
        # Past j + 1 > beta - alpha every further term is smaller than this one.
        if j + 1 > beta - alpha and log_w < ref + _NEGLIGIBLE_LOG:
            return weighted_waits / weights
        log_r += math.log(beta / (alpha + j + 1))
        j += 1


def _log_add_exp(x: float, y: float) -> float:
    high, low = max(x, y), min(x, y)
    if low == -math.inf:
        return high
    return high + math.log1p(math.exp(low - high))


def _clamp(p: float) -> float:
    """Keep a probability in [0, 1] against rounding in the last digit."""
    return min(1.0, max(0.0, p))


def _require_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} = {value!r}: must be a finite number above 0")


def _require_operators(n: int, minimum: int = 1) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise ValueError(f"operators = {n!r}: must be a whole number, {minimum} or more")
