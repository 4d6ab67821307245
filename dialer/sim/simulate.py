"""Run a dialer scenario under a policy over several seeds and sum it up the way the CLI and benchmarks print it.

How the figures are counted (the same for every policy; seed s, s + 1, ... each replay the very same leads):
- occupancy: (talk with people + wrap-up) / logged-in time, inside the shifts; time on machines is not occupancy.
- abandon_rate: (people dropped after the grace + people AMD took for machines) / people who answered.
- abandon_rate_ci95_high: the 95% upper bound of the mean abandon rate over the seeds (Student's t); with one seed,
  the Wilson bound of its own counts.
- worst_24h_abandon_rate: the worst single day's rate, over every day of every seed.
- talk_min_per_agent_hour, connects_per_agent_hour: per logged-in hour; agent_wait_s_mean: idle seconds per call
  put through. Means over seeds, except dialed and answered, which are per seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from dialer.sim.engine import Run, RunResult
from dialer.sim.policies import POLICY_NAMES, make_policy, parse_ratio
from dialer.sim.scenario import DialerScenario

__all__ = ["POLICY_NAMES", "Summary", "check_policy", "simulate", "simulate_seeds"]

# Student's t, two-sided 95%, by degrees of freedom; past 30 the normal's 1.96 is close enough.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def check_policy(name: str) -> str:
    """The name back if it is a policy, else ValueError saying which ones there are."""
    if name.startswith("power:"):
        parse_ratio(name)
    elif name not in POLICY_NAMES:
        raise ValueError(f"policy = {name!r}: one of {', '.join(POLICY_NAMES)}")
    return name


def simulate(scenario: DialerScenario, policy: str, seed: int) -> RunResult:
    """One seed of the scenario under one policy; the same seed always gives the same result."""
    run = Run(scenario, seed)
    return run.run(make_policy(check_policy(policy), run))


@dataclass(frozen=True, slots=True)
class Summary:
    policy: str
    runs: tuple[RunResult, ...] = field(repr=False)

    @property
    def seeds(self) -> int:
        return len(self.runs)

    def mean(self, values: Sequence[float]) -> float:
        return sum(values) / len(values)

    @property
    def abandon_rate(self) -> float:
        return self.mean([r.abandon_rate for r in self.runs])

    @property
    def abandon_rate_ci95_high(self) -> float:
        rates = [r.abandon_rate for r in self.runs]
        if len(rates) == 1:
            return wilson_high(self.runs[0].abandoned, self.runs[0].answered)
        mean = self.mean(rates)
        sd = math.sqrt(sum((x - mean) ** 2 for x in rates) / (len(rates) - 1))
        t = _T95[len(rates) - 2] if len(rates) - 1 <= len(_T95) else 1.96
        return mean + t * sd / math.sqrt(len(rates))

    @property
    def occupancy(self) -> float:
        return self.mean([r.occupancy for r in self.runs])

    def as_dict(self) -> dict[str, float | int | str]:
        runs = self.runs
        hours = [r.logged_s / 3600.0 for r in runs]
        return {
            "policy": self.policy,
            "occupancy": round(self.occupancy, 4),
            "talk_min_per_agent_hour": round(
                self.mean([r.talk_s / 60 / h for r, h in zip(runs, hours, strict=True)]), 2
            ),
            "abandon_rate": round(self.abandon_rate, 5),
            "abandon_rate_ci95_high": round(self.abandon_rate_ci95_high, 5),
            "worst_24h_abandon_rate": round(max(r.worst_day_rate for r in runs), 5),
            "connects_per_agent_hour": round(self.mean([r.connected / h for r, h in zip(runs, hours, strict=True)]), 2),
            "agent_wait_s_mean": round(self.mean([r.idle_s / max(r.put_through, 1) for r in runs]), 2),
            "dialed": round(self.mean([r.dialed for r in runs]), 1),
            "answered": round(self.mean([r.answered for r in runs]), 1),
            "seeds": self.seeds,
        }


def simulate_seeds(scenario: DialerScenario, policy: str, seeds: int) -> Summary:
    """Run `seeds` seeds (scenario.seed, scenario.seed + 1, ...)."""
    if seeds < 1:
        raise ValueError(f"seeds = {seeds!r}: must be >= 1")
    return Summary(policy, tuple(simulate(scenario, policy, scenario.seed + i) for i in range(seeds)))


def wilson_high(abandoned: int, answered: int, z: float = 1.96) -> float:
    """Wilson score upper bound of a proportion."""
    if answered == 0:
        return 1.0
    p = abandoned / answered
    centre = p + z * z / (2 * answered)
    spread = z * math.sqrt(p * (1 - p) / answered + z * z / (4 * answered * answered))
    return (centre + spread) / (1 + z * z / answered)
