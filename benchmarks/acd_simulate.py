"""Our skills routing against app_queue and mod_callcenter on the benchmark scenarios: prints JSON rows.

Every policy sees the very same callers for a seed, so service-level differences to `skills` are paired; each row
carries that difference and its standard error over the seeds. A markdown table goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acd.sim_scenario import load_scenario
from acd.simulate import POLICY_NAMES, Summary, simulate_seeds

SCENARIOS = Path(__file__).resolve().parent / "acd"
DEFAULT_SCENARIOS = ("balanced", "scarce_specialists", "tax_season")


def paired_delta(summary: Summary, baseline: Summary) -> tuple[float, float]:
    """Mean and standard error of (this policy's service level - the baseline's) over the same seeds."""
    diffs = [a.service_level - b.service_level for a, b in zip(summary.runs, baseline.runs, strict=True)]
    mean = sum(diffs) / len(diffs)
    if len(diffs) < 2:
        return mean, math.nan
    variance = sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)
    return mean, math.sqrt(variance / len(diffs))


def rows_for(name: str, policies: list[str], seeds: int) -> list[dict[str, Any]]:
    scenario = load_scenario(json.loads((SCENARIOS / f"{name}.json").read_text(encoding="utf-8")))
    summaries: dict[str, Summary] = {}
    seconds: dict[str, float] = {}
    for policy in policies:
        started = time.perf_counter()
        summaries[policy] = simulate_seeds(scenario, policy, seeds)
        seconds[policy] = (time.perf_counter() - started) / seeds
    baseline = summaries.get("skills")
    rows = []
    for policy, summary in summaries.items():
        row: dict[str, Any] = {"scenario": name, "operators": scenario.operator_count, **summary.as_dict()}
        if baseline is not None and policy != "skills":
            delta, se = paired_delta(summary, baseline)
            row["sl_delta_vs_skills"] = round(delta, 4)
            row["sl_delta_se"] = None if math.isnan(se) else round(se, 4)
        row["seconds_per_seed"] = round(seconds[policy], 3)
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | policy | SL | Δ SL vs skills (± se) | ASA s | abandoned | occupancy | misrouted | calls |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        delta = "—"
        if "sl_delta_vs_skills" in r:
            se = r["sl_delta_se"]
            delta = f"{r['sl_delta_vs_skills'] * 100:+.1f} pt" + (f" (± {se * 100:.1f})" if se is not None else "")
        lines.append(
            f"| {r['scenario']} | {r['policy']} | {r['service_level']:.1%} | {delta} | {r['asa_s']:.1f} | "
            f"{r['abandon_rate']:.1%} | {r['occupancy']:.1%} | {r['misrouted']:.1f} | {r['calls']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per scenario and policy (default 10)")
    parser.add_argument("--scenario", action="append", choices=DEFAULT_SCENARIOS, help="repeatable; default all")
    parser.add_argument("--policy", action="append", choices=POLICY_NAMES, help="repeatable; default all")
    args = parser.parse_args()
    policies = args.policy or list(POLICY_NAMES)
    rows = [row for name in args.scenario or DEFAULT_SCENARIOS for row in rows_for(name, policies, args.seeds)]
    print(json.dumps(rows, indent=2))
    print(markdown(rows), file=sys.stderr)


if __name__ == "__main__":
    main()
