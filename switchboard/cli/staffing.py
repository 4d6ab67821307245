"""Staffing command: how many operators a hotline needs for a service-level target (Erlang C or Erlang A).

A thin layer over acd.staffing; it needs no site configuration.
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Callable
from typing import Any

import click

from acd.staffing import Figures, Load, ServiceTarget, operators_needed, staffing_figures
from switchboard.cli.base import cli, emit


def _positive(_ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A finite number above 0 (click's FloatRange lets nan and inf through)."""
    if value is not None and not (math.isfinite(value) and value > 0.0):
        raise click.BadParameter(f"{value!r}: must be a finite number above 0", param=param)
    return value


def _service_target(_ctx: click.Context, param: click.Parameter, value: str) -> ServiceTarget:
    try:
        return ServiceTarget.parse(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}", param=param) from exc


@cli.command("staffing")
@click.option("--calls-per-hour", required=True, type=float, callback=_positive, help="Calls offered per hour.")
@click.option(
    "--aht", "aht_s", required=True, type=float, callback=_positive, metavar="SECONDS", help="Average handling time."
)
@click.option(
    "--sl",
    "target",
    required=True,
    callback=_service_target,
    metavar="SHARE/SECONDS",
    help="Service-level target: SHARE of offered calls answered within SECONDS, e.g. 0.8/20.",
)
@click.option(
    "--patience",
    "patience_s",
    type=float,
    callback=_positive,
    metavar="SECONDS",
    help="Callers' mean patience before hanging up: use Erlang A instead of Erlang C.",
)
@click.option("--operators", type=click.IntRange(min=1), help="Figures for this staffing instead of the fewest needed.")
@click.option(
    "--season-factor",
    type=float,
    callback=_positive,
    metavar="F",
    help='Also the peak with F times the calls, as "season".',
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def staffing(
    calls_per_hour: float,
    aht_s: float,
    target: ServiceTarget,
    patience_s: float | None,
    operators: int | None,
    season_factor: float | None,
    as_json: bool,
) -> None:
    """Operators needed for a service level, by Erlang C or, with --patience, Erlang A.

    \b
    Erlang C: callers wait as long as it takes. Erlang A (--patience): each caller
    hangs up after an exponential patience with that mean.
    operators      the fewest that meet --sl (or --operators, when given)
    p_wait         share of calls that find every operator busy
    service_level  share of OFFERED calls answered within the --sl seconds;
                   a call that hangs up is never answered in time
    asa_s          mean wait of the ANSWERED calls, in seconds; null when the
                   wait is unbounded (Erlang C with operators <= load in erlangs,
                   which --operators refuses: add operators or give --patience)
    abandon_rate   share of offered calls that hang up (always 0 for Erlang C)
    occupancy      share of logged-in time the operators spend on calls
    season         with --season-factor: the same figures for F times the calls,
                   with the operators needed at that peak

    \b
    Example: switchboard staffing --calls-per-hour 120 --aht 240 --sl 0.8/20 --patience 120
    """
    load = Load(calls_per_hour, aht_s)
    if operators is None:
        figures = _needed(load, target, patience_s)
    elif patience_s is None and operators <= load.erlangs:
        raise click.BadParameter(
            f"{operators} operators cannot keep up with {load.erlangs:.4g} erlangs "
            f"({calls_per_hour:g} calls/h x {aht_s:g} s): with Erlang C the queue grows without bound; "
            f"staff more than {load.erlangs:.4g} operators, or give --patience for Erlang A",
            param_hint="'--operators'",
        )
    else:
        figures = staffing_figures(load, operators, target.within_s, patience_s)
    data: dict[str, Any] = dataclasses.asdict(figures)
    season = None
    if season_factor is not None:
        season = _needed(load.scaled(season_factor), target, patience_s)
        data["season"] = dataclasses.asdict(season)
    emit(data, as_json, _table(load, target, patience_s, figures, season, season_factor))


def _needed(load: Load, target: ServiceTarget, patience_s: float | None) -> Figures:
    # The core's cap only guards against targets no staffing can meet; scale it with the load.
    cap = max(10_000, 10 * math.ceil(load.erlangs))
    try:
        return operators_needed(load, target, patience_s, max_operators=cap)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--sl'") from exc


def _table(
    load: Load,
    target: ServiceTarget,
    patience_s: float | None,
    figures: Figures,
    season: Figures | None,
    season_factor: float | None,
) -> str:
    # rich is imported here so that every other command starts without paying for it.
    from rich.console import Console
    from rich.table import Table

    model = "Erlang C" if patience_s is None else f"Erlang A, mean patience {patience_s:g} s"
    table = Table(
        title=f"{load.calls_per_hour:g} calls/h x {load.aht_s:g} s = {load.erlangs:.2f} erlangs ({model})",
        title_justify="left",
    )
    table.add_column("")
    table.add_column("normal", justify="right")
    columns = [figures]
    if season is not None:
        table.add_column(f"season x{season_factor:g} ({load.erlangs * (season_factor or 1):.2f} erl)", justify="right")
        columns.append(season)
    rows: list[tuple[str, Callable[[Figures], str]]] = [
        ("operators", lambda f: str(f.operators)),
        ("calls that wait", lambda f: _percent(f.p_wait)),
        (f"answered within {target.within_s:g} s", lambda f: _percent(f.service_level)),
        (f"target {_percent(target.share)}", lambda f: "met" if f.meets(target) else "NOT met"),
        ("mean wait of answered", lambda f: "unbounded" if f.asa_s is None else f"{f.asa_s:.1f} s"),
        ("hang up", lambda f: _percent(f.abandon_rate)),
        ("occupancy", lambda f: _percent(f.occupancy)),
    ]
    for label, cell in rows:
        table.add_row(label, *(cell(f) for f in columns))
    out = io.StringIO()
    Console(file=out, width=100, color_system=None, force_terminal=False).print(table)
    return out.getvalue().rstrip()


def _percent(share: float) -> str:
    return f"{100 * share:.1f} %"
