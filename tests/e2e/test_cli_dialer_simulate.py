"""`switchboard dialer simulate` as a user runs it: JSON figures for a scenario, errors naming the field."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

A = Path(__file__).resolve().parents[2] / "benchmarks" / "dialer" / "A.json"
SWITCHBOARD = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"
KEYS = {
    "policy", "occupancy", "talk_min_per_agent_hour", "abandon_rate", "abandon_rate_ci95_high",
    "worst_24h_abandon_rate", "connects_per_agent_hour", "agent_wait_s_mean", "dialed", "answered", "seeds",
}  # fmt: skip


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    return subprocess.run([SWITCHBOARD, *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def short(tmp_path: Path, **changes: object) -> Path:
    """Benchmark A cut to half an hour, so our own pacing runs in seconds."""
    data = json.loads(A.read_text())
    data.update({"hours": 0.5, **changes})
    path = tmp_path / "short.json"
    path.write_text(json.dumps(data))
    return path


def test_predictive_is_the_default_and_prints_every_figure(tmp_path: Path) -> None:
    """--json prints the issue's figures; the default policy is ours, averaged over the seeds asked for."""
    out = run("dialer", "simulate", "--scenario", str(short(tmp_path)), "--seeds", "2", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == KEYS
    assert data["policy"] == "predictive"
    assert data["seeds"] == 2
    assert 0 < data["occupancy"] <= 1
    assert data["abandon_rate"] <= data["abandon_rate_ci95_high"]


def test_a_peer_policy_reads_well_without_json() -> None:
    """power:R and the others are chosen with --policy; without --json one readable line comes out."""
    out = run("dialer", "simulate", "--scenario", str(A), "--policy", "power:2.5", "--seeds", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("power:2.5 on A.json, 1 seed(s): occupancy ")


def test_the_oracle_and_vicidial_run_on_a_benchmark() -> None:
    """The physical limit and VICIdial's ADAPT_TAPERED both run on a full benchmark day."""
    for policy in ("oracle", "vicidial"):
        out = run("dialer", "simulate", "--scenario", str(A), "--policy", policy, "--seeds", "1", "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["policy"] == policy


def test_a_bad_scenario_is_refused_naming_the_field(tmp_path: Path) -> None:
    """An invalid scenario exits 2 with the field's path and value."""
    out = run("dialer", "simulate", "--scenario", str(short(tmp_path, window="7d")), "--json")
    assert out.returncode == 2
    assert "window = '7d': must be one of 30d, 24h" in out.stderr


def test_an_unknown_policy_is_refused() -> None:
    """A policy that does not exist exits 2 and says which ones do."""
    out = run("dialer", "simulate", "--scenario", str(A), "--policy", "turbo")
    assert out.returncode == 2
    assert "one of predictive, progressive, power:R, vicidial, oracle" in out.stderr
