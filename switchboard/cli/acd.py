"""ACD commands: simulate a day of calls under our routing or a peer's (app_queue, mod_callcenter) and print figures.

The scenario file is read here; the simulation is the pure acd.simulate, running the production routing code.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from acd.sim_scenario import ScenarioError, load_scenario
from acd.simulate import POLICY_NAMES, simulate_seeds
from switchboard.cli.base import cli, config_option, emit


@cli.group()
def acd() -> None:
    """Inbound distribution: simulate routing policies on a scenario."""


@acd.command("simulate")
@config_option
@click.option(
    "--scenario",
    "scenario_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scenario JSON: duration, operators and their skill levels, queues with traffic and widening steps.",
)
@click.option("--policy", type=click.Choice(POLICY_NAMES), default="skills", show_default=True, help="Routing policy.")
@click.option("--seeds", type=click.IntRange(min=1), default=10, show_default=True, help="Runs to average over.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def acd_simulate(scenario_path: Path, policy: str, seeds: int, as_json: bool) -> None:
    """Simulate the scenario under one policy; print service level, ASA, abandons, occupancy and misroutes."""
    try:
        scenario = load_scenario(json.loads(scenario_path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{scenario_path}: not JSON ({exc})", param_hint="--scenario") from None
    except ScenarioError as exc:
        raise click.BadParameter(f"{scenario_path}: {exc}", param_hint="--scenario") from None
    data = simulate_seeds(scenario, policy, seeds).as_dict()
    human = (
        f"{policy} on {scenario_path.name}, {seeds} seed(s): service level {data['service_level']:.1%}, "
        f"ASA {data['asa_s']:.1f} s, abandoned {data['abandon_rate']:.1%}, occupancy {data['occupancy']:.1%}, "
        f"misrouted {data['misrouted']}, {data['calls']} calls offered"
    )
    emit(data, as_json, human)
