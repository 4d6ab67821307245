"""Dialer commands: simulate a day of outbound calls under our pacing or a peer's, and print the figures.

The scenario file is read here; the simulation is the pure dialer.sim, running the production pacing code.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from dialer.sim.scenario import ScenarioError, load_scenario
from dialer.sim.simulate import POLICY_NAMES, check_policy, simulate_seeds
from switchboard.cli.base import cli, config_option, emit


@cli.group()
def dialer() -> None:
    """Outbound dialing: simulate pacing policies on a scenario."""


def _policy(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        return check_policy(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix(f"policy = {value!r}: ")) from None


@dialer.command("simulate")
@config_option
@click.option(
    "--scenario",
    "scenario_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scenario JSON: operators, how calls end and how long things take, the cap and its window.",
)
@click.option(
    "--policy",
    default="predictive",
    show_default=True,
    callback=_policy,
    help=f"Pacing policy: {', '.join(POLICY_NAMES)} (R: calls per free operator, e.g. power:2.5).",
)
@click.option("--seeds", type=click.IntRange(min=1), default=10, show_default=True, help="Runs to average over.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def dialer_simulate(scenario_path: Path, policy: str, seeds: int, as_json: bool) -> None:
    """Simulate the scenario under one policy; print occupancy, abandonment and what it took to get there."""
    try:
        scenario = load_scenario(json.loads(scenario_path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{scenario_path}: not JSON ({exc})", param_hint="--scenario") from None
    except ScenarioError as exc:
        raise click.BadParameter(f"{scenario_path}: {exc}", param_hint="--scenario") from None
    data = simulate_seeds(scenario, policy, seeds).as_dict()
    human = (
        f"{policy} on {scenario_path.name}, {seeds} seed(s): occupancy {data['occupancy']:.1%}, "
        f"abandoned {data['abandon_rate']:.2%} (95% high {data['abandon_rate_ci95_high']:.2%}, "
        f"worst day {data['worst_24h_abandon_rate']:.2%}), {data['talk_min_per_agent_hour']} talk min "
        f"per operator hour, {data['dialed']:.0f} dialed, {data['answered']:.0f} answered by people"
    )
    emit(data, as_json, human)
