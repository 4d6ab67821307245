"""`switchboard staffing` as a user runs it: JSON figures, the season peak, the table, and errors naming the option."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SWITCHBOARD = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"
KEYS = {"operators", "p_wait", "service_level", "asa_s", "abandon_rate", "occupancy"}
TEN_ERLANGS = ("--calls-per-hour", "200", "--aht", "180")  # 100 calls per half hour of 3 minutes each


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SWITCHBOARD, "staffing", *args], capture_output=True, text=True, timeout=60, check=False)


def figures(*args: str) -> dict[str, Any]:
    out = run(*args, "--json")
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def test_erlang_c_json_gives_the_fewest_operators_for_the_target() -> None:
    """10 erlangs at 80/20 need 14 operators, 17.4 % of calls wait, nobody hangs up."""
    data = figures(*TEN_ERLANGS, "--sl", "0.8/20")
    assert set(data) == KEYS
    assert data["operators"] == 14
    assert data["p_wait"] == pytest.approx(0.1741, abs=1e-4)
    assert data["service_level"] == pytest.approx(0.8884, abs=1e-4)
    assert data["asa_s"] == pytest.approx(7.84, abs=0.01)
    assert data["abandon_rate"] == 0


def test_given_operators_prints_their_figures() -> None:
    """--operators 12 at 10 erlangs gives the table value P(wait) = 0.4494."""
    data = figures(*TEN_ERLANGS, "--sl", "0.8/20", "--operators", "12")
    assert data["operators"] == 12
    assert data["p_wait"] == pytest.approx(0.4494, abs=1e-4)


def test_patience_switches_to_erlang_a() -> None:
    """With callers hanging up after ~120 s on average, some abandon and fewer operators meet 80/20."""
    data = figures("--calls-per-hour", "120", "--aht", "240", "--sl", "0.8/20", "--patience", "120")
    assert set(data) == KEYS
    assert data["operators"] == 10
    assert data["abandon_rate"] == pytest.approx(0.0684, abs=1e-4)
    assert data["service_level"] >= 0.8


def test_season_factor_adds_the_peak_staffing() -> None:
    """--season-factor 3 adds "season" with the operators needed for three times the calls."""
    data = figures(*TEN_ERLANGS, "--sl", "0.8/20", "--operators", "14", "--season-factor", "3")
    assert set(data) == KEYS | {"season"}
    assert set(data["season"]) == KEYS
    assert data["season"] == figures("--calls-per-hour", "600", "--aht", "180", "--sl", "0.8/20")
    assert data["season"]["operators"] > 30  # more than the 30 erlangs of the peak


def test_human_output_is_a_table() -> None:
    """Without --json the figures come as a short table naming the load and the model."""
    out = run("--calls-per-hour", "120", "--aht", "240", "--sl", "0.8/20", "--patience", "120")
    assert out.returncode == 0, out.stderr
    assert "8.00 erlangs" in out.stdout
    assert "Erlang A" in out.stdout
    assert "answered within 20 s" in out.stdout


@pytest.mark.parametrize(
    ("args", "option", "value"),
    [
        (("--sl", "80/20"), "--sl", "80/20"),
        (("--sl", "0.8"), "--sl", "0.8"),
        (("--sl", "0.8/20", "--aht", "-5"), "--aht", "-5"),
        (("--sl", "0.8/20", "--operators", "9"), "--operators", "9"),
        (("--sl", "0.8/20", "--patience", "0"), "--patience", "0"),
    ],
)
def test_bad_input_exits_2_naming_the_option_and_value(args: tuple[str, ...], option: str, value: str) -> None:
    """A percentage for --sl, a negative AHT, too few operators for Erlang C: exit 2, option and value named."""
    out = run(*TEN_ERLANGS, *args)
    assert out.returncode == 2
    assert f"Invalid value for '{option}'" in out.stderr
    assert value in out.stderr
    assert out.stdout == ""


def test_help_explains_the_figures_and_the_null_wait() -> None:
    """--help defines service level and ASA and says when asa_s is null."""
    out = run("--help")
    assert out.returncode == 0
    assert "null" in out.stdout
    assert "OFFERED" in out.stdout
    assert "ANSWERED" in out.stdout
