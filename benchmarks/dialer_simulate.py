"""Predictive pacing against progressive, power:R, VICIdial's ADAPT_TAPERED and the oracle: prints JSON rows.

Every policy replays the very same leads for a seed. power:R is swept upward in steps of 0.1 to find the best
compliant ratio (the highest R whose abandon_rate_ci95_high stays within the cap). A markdown table, with each
scenario's goal checked, goes to stderr. --jobs spreads the seeds over processes; the figures do not change.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.sim.engine import RunResult
from dialer.sim.scenario import DialerScenario, load_scenario
from dialer.sim.simulate import Summary, simulate

SCENARIOS = Path(__file__).resolve().parent / "dialer"
GOALS = {"A": 0.78, "B": 0.95, "B-drift": 0.93, "C": 0.98}  # predictive's occupancy to reach (the issue's)
DEFAULT_POLICIES = ("progressive", "vicidial", "predictive", "oracle")
RATIOS = [round(1.0 + 0.1 * i, 1) for i in range(1, 61)]  # power:1.1 .. power:7.0


def load(name: str) -> DialerScenario:
    return load_scenario(json.loads((SCENARIOS / f"{name}.json").read_text(encoding="utf-8")))


def _one(task: tuple[str, str, int]) -> tuple[str, str, int, RunResult, float]:
    name, policy, seed = task
    started = time.perf_counter()
    result = simulate(load(name), policy, seed)
    return name, policy, seed, result, time.perf_counter() - started


def run_all(tasks: list[tuple[str, str, int]], jobs: int) -> dict[tuple[str, str], tuple[Summary, float]]:
    """Run every (scenario, policy, seed); summaries per (scenario, policy), with seconds per seed."""
    results: dict[tuple[str, str], list[tuple[int, RunResult, float]]] = {}
    outputs: Iterable[tuple[str, str, int, RunResult, float]]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            outputs = list(pool.map(_one, tasks, chunksize=1))
    else:
        outputs = map(_one, tasks)
    for name, policy, seed, result, seconds in outputs:
        results.setdefault((name, policy), []).append((seed, result, seconds))
    summaries = {}
    for key, runs in results.items():
        runs.sort(key=lambda run: run[0])
        seconds = sum(run[2] for run in runs) / len(runs)
        summaries[key] = (Summary(key[1], tuple(run[1] for run in runs)), seconds)
    return summaries


def sweep_power(name: str, seeds: list[int], jobs: int, cap: float) -> tuple[dict[str, Any] | None, list[float]]:
    """The highest R (steps of 0.1) whose ci95 high stays within the cap; the sweep stops two steps past it."""
    best: dict[str, Any] | None = None
    tried: list[float] = []
    failures = 0
    for ratio in RATIOS:
        policy = f"power:{ratio:g}"
        summary, seconds = run_all([(name, policy, seed) for seed in seeds], jobs)[(name, policy)]
        tried.append(ratio)
        if summary.abandon_rate_ci95_high <= cap:
            best = {**summary.as_dict(), "seconds_per_seed": round(seconds, 3)}
            failures = 0
        else:
            failures += 1
            if failures >= 2:
                break
    return best, tried


def rows_for(name: str, policies: list[str], seeds: int, jobs: int, sweep: bool) -> list[dict[str, Any]]:
    scenario = load(name)
    seed_list = [scenario.seed + i for i in range(seeds)]
    summaries = run_all([(name, policy, seed) for policy in policies for seed in seed_list], jobs)
    rows = []
    for policy in policies:
        summary, seconds = summaries[(name, policy)]
        rows.append({"scenario": name, "agents": scenario.agents, **summary.as_dict(),
                     "seconds_per_seed": round(seconds, 3)})  # fmt: skip
    if sweep:
        best, tried = sweep_power(name, seed_list, jobs, scenario.max_abandon_rate)
        if best is not None:
            rows.append({"scenario": name, "agents": scenario.agents, **best, "best_compliant_power": True,
                         "ratios_tried": f"{tried[0]:g}..{tried[-1]:g}"})  # fmt: skip
    return rows


def verdicts(rows: list[dict[str, Any]]) -> dict[str, str]:
    """Per scenario: does predictive meet the issue's goals?"""
    out = {}
    for name in dict.fromkeys(r["scenario"] for r in rows):
        mine = {r["policy"]: r for r in rows if r["scenario"] == name}
        ours = mine.get("predictive")
        if ours is None:
            continue
        rivals = [r for p, r in mine.items() if p not in ("predictive", "oracle")]
        checks = [
            f"ci95 {'ok' if ours['abandon_rate_ci95_high'] <= 0.03 else 'OVER'}",
            f"occupancy {'ok' if ours['occupancy'] >= GOALS.get(name, 0.0) else 'SHORT'} (goal {GOALS.get(name)})",
            f"beats {'all' if all(ours['occupancy'] > r['occupancy'] for r in rivals) else 'NOT all'}",
        ]
        out[name] = ", ".join(checks)
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | policy | occupancy | abandon | ci95 high | worst 24h | talk min/h | connects/h | wait s "
        "| dialed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        policy = r["policy"] + (" (best compliant)" if r.get("best_compliant_power") else "")
        lines.append(
            f"| {r['scenario']} | {policy} | {r['occupancy']:.3f} | {r['abandon_rate']:.2%} | "
            f"{r['abandon_rate_ci95_high']:.2%} | {r['worst_24h_abandon_rate']:.2%} | "
            f"{r['talk_min_per_agent_hour']:.1f} | "
            f"{r['connects_per_agent_hour']:.1f} | {r['agent_wait_s_mean']:.1f} | {r['dialed']:.0f} |"
        )
    lines.extend(f"\n{name}: {verdict}" for name, verdict in verdicts(rows).items())
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per scenario and policy (default 20)")
    parser.add_argument("--scenario", action="append", choices=list(GOALS), help="repeatable; default all")
    parser.add_argument(
        "--policy", action="append", help="repeatable; default progressive, vicidial, predictive, oracle"
    )
    parser.add_argument("--no-sweep", action="store_true", help="skip the power:R sweep")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = [
        row
        for name in args.scenario or list(GOALS)
        for row in rows_for(name, args.policy or list(DEFAULT_POLICIES), args.seeds, args.jobs, not args.no_sweep)
    ]
    print(json.dumps(rows, indent=2))
    print(markdown(rows), file=sys.stderr)
    print(f"\n{time.perf_counter() - started:.0f} s in all", file=sys.stderr)


if __name__ == "__main__":
    main()
