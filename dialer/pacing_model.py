"""The predictive model: how many more calls will find no operator in time if we launch one more now?

Pure numpy over a snapshot of the floor and what has been learned; `dialer.pacing` decides with it.

Why it is built this way:
- A call launched now can only need an operator within the horizon: its dial timeout, the AMD verdict and the grace.
  So the model looks that far ahead on a 0.2 s grid, and nothing beyond matters to this decision.
- Supply S(t): operators free now, plus each busy operator's chance of being free by t, from the elapsed time of
  their wrap-up (or talk, followed by a wrap-up) and the fitted durations: (F(e + t) - F(e)) / (1 - F(e)).
  With a fixed wrap-up longer than the horizon, talking operators cannot free in time and drop out at no cost.
- Demand D(u): calls already waiting, plus each ringing call's chance of becoming connectable by u given that it is
  still unresolved at its age a: p (F(a + u) - F(a)) / U(a), U(a) being the chance that nothing has ended it yet.
- Calls are put through first come first served, each waiting at most the grace g. The drops are then the
  running maximum of the shortfall D(u) - S(u + g), exactly: a drop is a shortfall no earlier drop explains.
  Its expectation has no cheap closed form, so two estimates that bracket it are averaged: the deepest expected
  shortfall max_u E[(D - S)+] (too low: the maximum of means), and the arrivals counted while the calls ahead
  fill the operators (too high: an early drop keeps counting against later calls). Against a Monte Carlo of
  the benchmark floors, the first came out at 0.6x, the second at 2x, the mean at 1.2-1.45x with a 0.94-0.98
  correlation: the threshold's online tuning absorbs a steady bias, not a scatter.
- What a launch costs is what it adds to the expected drops, its own and those of the calls it overtakes: a
  call launched now and answering quickly pushes an older call past its deadline.
- S - D is a sum of independent Bernoullis; its tail decides everything, so a normal with an Edgeworth (skewness)
  term: a plain normal underestimates a Poisson-like tail two- to threefold just where the 3% lives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dialer.pacing_learning import Ending, Estimates, FloatArray, LogNormalFit, normal_cdf, normal_pdf

STEP_S = 0.2  # the grid; the grace left after an AMD verdict (1.2 s) is six steps
_VAR_FLOOR = 1e-3  # keeps z finite when everything is known for sure
_SKEW_CAP = 1.5  # past this the Edgeworth term bends the CDF the wrong way


@dataclass(frozen=True, slots=True)
class Moments:
    """Mean, variance and third cumulant of a count on the grid."""

    mean: FloatArray
    var: FloatArray
    k3: FloatArray

    @classmethod
    def of(cls, probabilities: FloatArray, certain: float = 0.0) -> Moments:
        """The moments of `certain` plus a sum of Bernoullis, one per row of `probabilities` (rows x grid)."""
        p = np.clip(probabilities, 0.0, 1.0)
        q = p * (1.0 - p)
        return cls(p.sum(axis=0) + certain, q.sum(axis=0), (q * (1.0 - 2.0 * p)).sum(axis=0))


@dataclass(frozen=True, slots=True)
class Picture:
    """What the floor looks like over the horizon; built once per decision."""

    supply: Moments  # operators free by u + grace, u on the grid's midpoints
    demand: Moments  # calls connectable by u
    demand_density: FloatArray  # calls becoming connectable in each step (those waiting now in the first)
    new_by: FloatArray  # P(a call launched now is connectable by u)
    new_when: FloatArray  # P(connectable in each step | connectable at all)
    connect_share: float  # P(a call launched now ever needs an operator)
    ringing_connect: FloatArray  # per ringing call, P(it still ends connectable)


@dataclass(frozen=True, slots=True)
class Timing:
    """The fixed times a decision needs: the dial timeout, the AMD delays, the grace after the call is connectable."""

    timeout_s: float
    connect_delay_s: float  # AMD HUMAN verdict after the answer; 0 without AMD
    machine_delay_s: float  # AMD MACHINE verdict after the answer; 0 without AMD (nothing ends on a machine then)
    grace_s: float  # from connectable to abandoned

    @property
    def points(self) -> int:
        return math.ceil((self.timeout_s + self.connect_delay_s + 0.5) / STEP_S)


def picture(
    est: Estimates, timing: Timing, ages: dict[str, FloatArray], free: int, waiting: int, ringing: FloatArray
) -> Picture:
    """The horizon's supply and demand. `ages` holds elapsed seconds per busy group: talk, wrapup, machine."""
    points = timing.points
    edges = np.arange(points + 1) * STEP_S
    mids = np.asarray(edges[:-1] + STEP_S / 2, dtype=np.float64)
    supply = Moments.of(_supply_rows(est, ages, mids + timing.grace_s), float(free))
    share = est.mix.share(Ending.CONNECTABLE)
    n = ringing.size
    # one CDF evaluation for every point the connect time is needed at (ages, ages + u, the grid's edges and mids);
    # what was learned is the answer, and the call is connectable once the verdict is in, connect_delay_s later
    cdf = est.connect_s.cdf(
        np.concatenate((ringing, (ringing[:, None] + mids[None, :]).ravel(), edges, mids)) - timing.connect_delay_s
    )
    start, later = cdf[:n], cdf[n : n + n * points].reshape(n, points)
    at_edges, at_mids = cdf[n + n * points : n + n * points + points + 1], cdf[n + n * points + points + 1 :]
    unresolved = _unresolved(est, timing, ringing, start)
    demand = Moments.of(share * (later - start[:, None]) / unresolved[:, None], float(waiting))
    return Picture(
        supply=supply,
        demand=demand,
        demand_density=np.diff(demand.mean, prepend=0.0),
        new_by=share * at_mids,
        new_when=np.diff(at_edges),
        connect_share=share,
        ringing_connect=np.clip(share * (1.0 - start) / unresolved, 0.0, 1.0),
    )


def launch_risks(pic: Picture, first: int, count: int) -> FloatArray:
    """What each of the calls first+1 .. first+count, launched now, adds to the expected drops, per connect.

    The K-th call's cost is E(K) - E(K-1): its own risk and what it adds to the calls in flight it overtakes.
    Divided by the chance that a call connects, it reads as an abandonment rate. E is the mean of two estimates
    that bracket it (see the module docstring): together they tracked a Monte Carlo of the floor best.
    """
    launched = np.arange(first, first + count + 1, dtype=np.float64)[:, None]
    c = pic.new_by[None, :]
    surplus = pic.supply.mean - pic.demand.mean - launched * c  # S - D
    var = pic.supply.var + pic.demand.var + launched * c * (1.0 - c) + _VAR_FLOOR
    k3 = pic.supply.k3 - pic.demand.k3 - launched * c * (1.0 - c) * (1.0 - 2.0 * c)
    sd = np.sqrt(var)
    # each arrival at u is dropped when the calls ahead of it (D(u), seen from an arrival: Palm) fill S(u + g):
    # S - D <= 0, and S - D is whole
    z = (0.5 - surplus) / sd
    skew = np.clip(k3 / (var * sd), -_SKEW_CAP, _SKEW_CAP)
    full = np.clip(normal_cdf(z) - normal_pdf(z) * skew / 6.0 * (z * z - 1.0), 0.0, 1.0)
    arriving = pic.demand_density[None, :] + launched * (pic.connect_share * pic.new_when)[None, :]
    per_arrival = (arriving * full).sum(axis=1)
    # the deepest expected shortfall over the horizon
    ratio = -surplus / sd
    deepest = (-surplus * normal_cdf(ratio) + sd * normal_pdf(ratio)).max(axis=1)
    drops = (per_arrival + deepest) / 2.0
    risks = np.diff(drops) / max(pic.connect_share, 1e-9)
    return np.maximum.accumulate(np.clip(risks, 0.0, 1.0))  # one more call never makes the next one safer


def _supply_rows(est: Estimates, ages: dict[str, FloatArray], ahead: FloatArray) -> FloatArray:
    rows = [_freed_by(est.wrapup_s, ages["wrapup"], ahead), _freed_by(est.machine_talk_s, ages["machine"], ahead)]
    talking = ages["talk"]
    atoms = est.wrapup_s.atoms()
    if talking.size and ahead[-1] > atoms[0]:  # else no talk can end and its wrap-up too within the horizon
        n = talking.size
        shifted = talking[:, None, None] + ahead[None, None, :] - atoms[None, :, None]
        cdf = est.talk_s.cdf(np.concatenate((talking, shifted.ravel())))
        done, later = cdf[:n], cdf[n:].reshape(n, atoms.size, ahead.size)
        survive = np.maximum(1.0 - done, 1e-12)
        ends = np.maximum(later - done[:, None, None], 0.0).mean(axis=1)
        rows.append(ends / survive[:, None])
    return np.vstack(rows)


def _freed_by(fit: LogNormalFit, elapsed: FloatArray, ahead: FloatArray) -> FloatArray:
    if not elapsed.size:
        return np.zeros((0, ahead.size))
    n = elapsed.size
    cdf = fit.cdf(np.concatenate((elapsed, (elapsed[:, None] + ahead[None, :]).ravel())))
    done, later = cdf[:n], cdf[n:].reshape(n, ahead.size)
    return np.asarray((later - done[:, None]) / np.maximum(1.0 - done, 1e-12)[:, None])


def _unresolved(est: Estimates, timing: Timing, ages: FloatArray, connected: FloatArray) -> FloatArray:
    """P(a call of this age has not ended yet), from the learned mix of endings and their times."""
    mix = est.mix
    ended = (
        mix.share(Ending.CONNECTABLE) * connected
        + mix.share(Ending.MACHINE) * est.machine_s.cdf(ages - timing.machine_delay_s)
        + mix.share(Ending.BUSY) * est.busy_s.cdf(ages)
        + mix.share(Ending.NO_ANSWER) * (ages >= timing.timeout_s)
    )
    return np.maximum(1.0 - ended, 1e-6)
