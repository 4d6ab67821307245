"""What the predictive dialer learns from a campaign's recent calls: how attempts end, and how long things take.

Pure values folded one observation at a time (`updated`), so the same learning runs in the simulator and in production.

Why these shapes:
- Attempts end four ways as the dialer sees them: connectable (a person answered, or without AMD anything that
  answered), machine (the AMD verdict), busy, no answer (our own timeout). Their shares are a Dirichlet whose counts
  decay, so the estimate follows a list whose answer rate drifts through the day; the prior is where it starts.
- When an attempt is answered (or turns out busy) is a histogram: bounded by the dial timeout, and with AMD off
  people and machines arrive mixed, a shape no single family follows.
- Operators' durations (talk, wrap-up, hanging up on a machine) are lognormal: positive and right-skewed, and a fit
  is two running moments of log-durations, exponentially weighted with an effective sample size capped at
  `memory`, the same forgetting. A near-constant duration (a fixed wrap-up) gives a tiny sigma, floored so the
  CDF stays smooth.
- Every prior errs toward launching too few calls (many answers, long talks): a fresh campaign's window has no
  room for abandoned calls, idle minutes are the cheaper mistake.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

ANSWER_BIN_S = 0.25
ANSWER_EDGES = np.arange(0.0, 120.0 + ANSWER_BIN_S / 2, ANSWER_BIN_S)  # dial timeouts run to 60 s, AMD on top
_ATOM_Z = np.array([-1.2815516, -0.5244005, 0.0, 0.5244005, 1.2815516])
SIGMA_FLOOR = 0.01  # a 1% spread: a constant wrap-up still gives a CDF, not a cliff between grid points


class Ending(enum.IntEnum):
    """How a dial attempt ended, as the dialer sees it when the call resolves."""

    CONNECTABLE = 0  # needs an operator now: a HUMAN (or NOTSURE) verdict, or an answer when AMD is off
    MACHINE = 1  # AMD said MACHINE (a person it wrongly took for one is in here too: the dialer cannot tell)
    BUSY = 2
    NO_ANSWER = 3  # our dial timeout; also a person who would have answered after it


def _erf_cdf(x: FloatArray) -> FloatArray:
    """Φ(x) to 1.5e-7 (Abramowitz & Stegun 7.1.26): the core ships numpy, not scipy."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return np.asarray(0.5 * (1.0 + np.sign(x) * erf), dtype=np.float64)


# Φ and φ tabulated every 0.001 over [-8, 8]: a lookup is a third of the polynomial's numpy calls, and decisions
# make thousands of small ones. Nearest-point error is under 2e-4.
_Z_STEP = 1000.0
_Z_GRID = np.linspace(-8.0, 8.0, 16001)
_CDF_TABLE = _erf_cdf(_Z_GRID)
_PDF_TABLE = np.exp(-0.5 * _Z_GRID * _Z_GRID) / math.sqrt(2 * math.pi)


def _z_index(x: FloatArray) -> npt.NDArray[np.intp]:
    scaled = x * _Z_STEP + 8000.5
    np.maximum(scaled, 0.0, out=scaled)  # np.clip costs more than the lookup itself on small arrays
    np.minimum(scaled, 16000.0, out=scaled)
    return scaled.astype(np.intp)


def normal_cdf(x: FloatArray) -> FloatArray:
    """Φ(x) elementwise."""
    return np.asarray(_CDF_TABLE[_z_index(x)], dtype=np.float64)


def normal_pdf(x: FloatArray) -> FloatArray:
    """φ(x) elementwise."""
    return np.asarray(_PDF_TABLE[_z_index(x)], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class LogNormalFit:
    """A duration's lognormal: running moments of log-seconds from the data, blended with a prior by weight.

    The prior is blended in rather than counted as pseudo-observations: a wrong guess would otherwise sit in the
    variance as an outlier and fade only as 1/n, blurring a constant wrap-up for hours.
    """

    prior_mean: float
    prior_var: float
    prior_weight: float
    seen: float = 0.0  # effective number of observations for the running moments, capped at the memory
    count: float = 0.0  # every observation ever: how far the prior has faded
    data_mean: float = 0.0
    data_var: float = 0.0

    @classmethod
    def prior(cls, mean_s: float, sd_s: float, weight: float = 20.0) -> LogNormalFit:
        """Start from a planner's mean and sd in seconds, worth `weight` observations."""
        var = math.log1p((sd_s / mean_s) ** 2)
        return cls(math.log(mean_s) - var / 2, var, weight)

    @property
    def mean_log(self) -> float:
        w = self.count / (self.count + self.prior_weight)
        return w * self.data_mean + (1.0 - w) * self.prior_mean

    @property
    def sigma(self) -> float:
        w = self.count / (self.count + self.prior_weight)
        var = w * self.data_var + (1.0 - w) * self.prior_var
        return max(math.sqrt(max(var, 0.0)), SIGMA_FLOOR)

    @property
    def mean_s(self) -> float:
        return math.exp(self.mean_log + self.sigma**2 / 2)

    def updated(self, duration_s: float, memory: float) -> LogNormalFit:
        """Fold one duration in; older ones weigh less once `memory` have been seen."""
        x = math.log(max(duration_s, 1e-3))
        if self.seen == 0.0:
            return replace(self, seen=1.0, count=1.0, data_mean=x, data_var=0.0)
        seen = min(self.seen + 1.0, memory)
        alpha = 1.0 / seen
        delta = x - self.data_mean
        mean = self.data_mean + alpha * delta
        var = (1.0 - alpha) * (self.data_var + alpha * delta * delta)
        return replace(self, seen=seen, count=self.count + 1.0, data_mean=mean, data_var=var)

    def cdf(self, seconds: FloatArray) -> FloatArray:
        """P(duration <= t) elementwise; 0 for t <= 0 (the log of 1e-9 s is far below any fit)."""
        return normal_cdf((np.log(np.maximum(seconds, 1e-9)) - self.mean_log) / self.sigma)

    def atoms(self) -> FloatArray:
        """Five equally likely values (the deciles 1, 3, 5, 7, 9): enough to spread a wrap-up after a talk."""
        return np.asarray(np.exp(self.mean_log + self.sigma * _ATOM_Z), dtype=np.float64)


@dataclass(frozen=True, slots=True, eq=False)
class AnswerTimes:
    """When calls are answered (or turn out busy), as a histogram of seconds after the launch.

    No family is imposed: answer times are cut off by the dial timeout, and with AMD off people (a lognormal
    around 9 s) and machines (12 to 18 s) arrive mixed, a shape no lognormal follows. Thousands of attempts an
    hour fill 0.25 s bins quickly; the prior is a lognormal spread over them, worth `weight` attempts.
    The weights array is never written to: updates build a new one.
    """

    weights: FloatArray

    @classmethod
    def prior(cls, mean_s: float, sd_s: float, weight: float = 5.0) -> AnswerTimes:
        cdf = LogNormalFit.prior(mean_s, sd_s).cdf(ANSWER_EDGES)
        return cls(_frozen(np.diff(cdf) * weight / max(float(cdf[-1]), 1e-9)))

    def updated(self, seconds: float, memory: float) -> AnswerTimes:
        total = float(self.weights.sum())
        keep = min(1.0, (memory - 1.0) / total) if total > 0 else 1.0
        weights = self.weights * keep
        weights[min(max(int(seconds / ANSWER_BIN_S), 0), weights.size - 1)] += 1.0
        return AnswerTimes(_frozen(weights))

    def cdf(self, seconds: FloatArray) -> FloatArray:
        """P(answered by t | answered at all) elementwise, linear within a bin."""
        cumulative = np.concatenate(([0.0], np.cumsum(self.weights)))
        return np.asarray(np.interp(seconds, ANSWER_EDGES, cumulative / max(cumulative[-1], 1e-12)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnswerTimes) and bool(np.array_equal(self.weights, other.weights))

    def __hash__(self) -> int:
        return hash(self.weights.tobytes())

    @property
    def mean_s(self) -> float:
        mids = ANSWER_EDGES[:-1] + ANSWER_BIN_S / 2
        return float((self.weights * mids).sum() / max(float(self.weights.sum()), 1e-12))


def _frozen(array: FloatArray) -> FloatArray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True)
class EndingMix:
    """Decaying Dirichlet counts of how attempts ended, indexed by Ending."""

    counts: tuple[float, float, float, float]

    @classmethod
    def prior(cls, connectable: float, machine: float, busy: float, strength: float = 40.0) -> EndingMix:
        no_answer = max(1.0 - connectable - machine - busy, 0.0)
        shares = (connectable, machine, busy, no_answer)
        return cls(tuple(strength * s for s in shares))  # type: ignore[arg-type]

    def updated(self, ending: Ending, memory: float) -> EndingMix:
        total = sum(self.counts)
        keep = min(1.0, (memory - 1.0) / total) if total > 0 else 1.0
        counts = [c * keep for c in self.counts]
        counts[ending] += 1.0
        return EndingMix((counts[0], counts[1], counts[2], counts[3]))

    def share(self, ending: Ending) -> float:
        total = sum(self.counts)
        return self.counts[ending] / total if total > 0 else 0.0

    @property
    def observations(self) -> float:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class Estimates:
    """Everything pacing has learned: how attempts end and when, and how long operators stay busy."""

    mix: EndingMix
    connect_s: AnswerTimes  # launch to a connectable call's answer (the AMD verdict comes on top)
    machine_s: AnswerTimes  # launch to a machine's answer (its MACHINE verdict comes on top)
    busy_s: AnswerTimes  # launch to busy
    talk_s: LogNormalFit  # a conversation with a person
    wrapup_s: LogNormalFit  # after-call work
    machine_talk_s: LogNormalFit  # an operator put through to a machine (AMD off) until they drop it
    memory_attempts: float = 800.0  # ~ the last quarter of an hour of a 50-operator campaign
    memory_durations: float = 400.0

    @classmethod
    def prior(cls) -> Estimates:
        """A campaign's first call, before anything is known: guesses that err toward launching too few.

        More people answering and sooner, and operators busy for longer, than is likely: a cold start then costs
        some idle minutes instead of early abandoned calls, which a fresh window has no budget for. The guesses
        weigh a few observations, so the campaign's own calls take over within minutes.
        """
        return cls(
            mix=EndingMix.prior(0.5, 0.1, 0.05, strength=5.0),
            connect_s=AnswerTimes.prior(10.0, 6.0),
            machine_s=AnswerTimes.prior(15.0, 4.0),
            busy_s=AnswerTimes.prior(3.0, 1.0),
            talk_s=LogNormalFit.prior(300.0, 200.0, weight=10.0),
            wrapup_s=LogNormalFit.prior(60.0, 20.0, weight=3.0),
            machine_talk_s=LogNormalFit.prior(8.0, 3.0, weight=3.0),
        )

    def attempt_ended(self, ending: Ending, after_s: float) -> Estimates:
        """Fold in one attempt that ended `after_s` seconds after it was launched."""
        mix = self.mix.updated(ending, self.memory_attempts)
        memory = self.memory_durations
        if ending is Ending.CONNECTABLE:
            return replace(self, mix=mix, connect_s=self.connect_s.updated(after_s, memory))
        if ending is Ending.MACHINE:
            return replace(self, mix=mix, machine_s=self.machine_s.updated(after_s, memory))
        if ending is Ending.BUSY:
            return replace(self, mix=mix, busy_s=self.busy_s.updated(after_s, memory))
        return replace(self, mix=mix)

    def talk_ended(self, talk_s: float) -> Estimates:
        return replace(self, talk_s=self.talk_s.updated(talk_s, self.memory_durations))

    def wrapup_ended(self, wrapup_s: float) -> Estimates:
        return replace(self, wrapup_s=self.wrapup_s.updated(wrapup_s, self.memory_durations))

    def machine_dropped(self, seconds: float) -> Estimates:
        return replace(self, machine_talk_s=self.machine_talk_s.updated(seconds, self.memory_durations))
