"""`switchboard acd simulate` as a user runs it: JSON figures for a benchmark scenario, errors naming the field."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BALANCED = Path(__file__).resolve().parents[2] / "benchmarks" / "acd" / "balanced.json"
SWITCHBOARD = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"
KEYS = {"policy", "service_level", "asa_s", "abandon_rate", "occupancy", "misrouted", "calls", "seeds"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    return subprocess.run([SWITCHBOARD, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_simulate_prints_the_figures_as_json() -> None:
    """The default policy is ours; --json prints every figure, means over the seeds asked for."""
    out = run("acd", "simulate", "--scenario", str(BALANCED), "--seeds", "2", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == KEYS
    assert data["policy"] == "skills"
    assert data["seeds"] == 2
    assert data["misrouted"] == 0
    assert 0 < data["service_level"] <= 1


def test_simulate_runs_a_peer_policy_and_reads_well_without_json() -> None:
    """A peer is chosen with --policy; without --json one readable line comes out."""
    out = run("acd", "simulate", "--scenario", str(BALANCED), "--policy", "mod_callcenter:longest-idle", "--seeds", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("mod_callcenter:longest-idle on balanced.json, 1 seed(s): service level ")


def test_a_bad_scenario_is_refused_naming_the_field(tmp_path: Path) -> None:
    """An invalid scenario exits 2 with the field's path and value."""
    data = json.loads(BALANCED.read_text())
    data["queues"][1]["talk_s"]["dist"] = "weibull"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    out = run("acd", "simulate", "--scenario", str(bad), "--json")
    assert out.returncode == 2
    assert "queues[1].talk_s.dist = 'weibull': unknown distribution" in out.stderr
