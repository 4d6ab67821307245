"""`campaign report` for a person: the report's figures as rich tables (the JSON form has the same figures)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _hms(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table


def print_report(data: dict[str, Any], console: Console | None = None) -> None:
    out = console or Console(width=120)
    out.print(f"[bold]Campaign {data['campaign']}[/bold]  (hours in {data['zone']})")
    scopes = _table("Campaign and lists", "list", "leads", "attempts", "answered", "contacts", "sales", "conversion")
    for name, figures in [("(all)", data["totals"])] + [(lst["name"], lst) for lst in data["lists"]]:
        scopes.add_row(
            name,
            *(str(figures[k]) for k in ("leads", "attempts", "answered", "contacts", "sales")),
            _pct(figures["conversion"]),
        )
    out.print(scopes)
    totals = data["totals"]
    outcomes = _table("Outcomes", "result", "attempts")
    for result, count in totals["outcomes"].items():
        outcomes.add_row(result, str(count))
    out.print(outcomes)
    refusals = _table(f"Refusal reasons ({totals['refusals']['total']} refusals)", "reason", "count", "share")
    for reason in totals["refusals"]["reasons"]:
        refusals.add_row(f"{reason['label']} ({reason['code']})", str(reason["count"]), _pct(reason["share"]))
    out.print(refusals)
    operators = _table("Operators", "operator", "calls", "talk", "contacts", "sales", "conversion", "avg score")
    for op in data["operators"]:
        score = "-" if op["average_score"] is None else f"{op['average_score']:.2f} ({op['scored']})"
        operators.add_row(
            op["operator"], str(op["calls"]), _hms(op["talk_s"]), str(op["contacts"]), str(op["sales"]),
            _pct(op["conversion"]), score,
        )  # fmt: skip
    out.print(operators)
    hours = _table("Hours of the day", "hour", "attempts", "answered", "contacts", "sales")
    for hour in data["hours"]:
        if hour["attempts"]:
            hours.add_row(
                f"{hour['hour']:02d}:00", *(str(hour[k]) for k in ("attempts", "answered", "contacts", "sales"))
            )
    out.print(hours)
