"""The staffing calculator behind the wallboard's form: the same computation as `switchboard staffing`, with query
parameters for options and errors that name the parameter.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from acd.staffing import Load, ServiceTarget, operators_needed, staffing_figures
from switchboard.errors import SupervisionError


def _positive(name: str, text: str | None, *, required: bool) -> float | None:
    if text is None or not text.strip():
        if required:
            raise SupervisionError(f"{name}: required (a number above 0)")
        return None
    try:
        value = float(text)
    except ValueError:
        raise SupervisionError(f"{name} = {text!r}: not a number") from None
    if not (math.isfinite(value) and value > 0.0):
        raise SupervisionError(f"{name} = {text!r}: must be a finite number above 0")
    return value


def _operators(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        value = int(text)
    except ValueError:
        raise SupervisionError(f"operators = {text!r}: not a whole number") from None
    if value < 1:
        raise SupervisionError(f"operators = {text!r}: must be at least 1")
    return value


def _target(text: str | None) -> ServiceTarget:
    if text is None or not text.strip():
        raise SupervisionError("sl: required, as SHARE/SECONDS, e.g. 0.8/20")
    try:
        return ServiceTarget.parse(text)
    except ValueError as exc:
        raise SupervisionError(f"sl = {text!r}: {exc}") from None


def staffing(
    calls_per_hour: str | None, aht: str | None, sl: str | None, patience: str | None, operators: str | None
) -> dict[str, Any]:
    """Operators needed for the target (Erlang C, or Erlang A with a patience), or the figures for `operators`."""
    rate = _positive("calls_per_hour", calls_per_hour, required=True)
    aht_s = _positive("aht", aht, required=True)
    target = _target(sl)
    patience_s = _positive("patience", patience, required=False)
    staffed = _operators(operators)
    assert rate is not None and aht_s is not None
    load = Load(rate, aht_s)
    if staffed is None:
        # As the CLI: the core's cap only guards against targets no staffing can meet; it scales with the load.
        cap = max(10_000, 10 * math.ceil(load.erlangs))
        try:
            figures = operators_needed(load, target, patience_s, max_operators=cap)
        except ValueError as exc:
            raise SupervisionError(f"sl = {sl!r}: {exc}") from None
    elif patience_s is None and staffed <= load.erlangs:
        raise SupervisionError(
            f"operators = {staffed}: cannot keep up with {load.erlangs:.4g} erlangs ({rate:g} calls/h x {aht_s:g} s): "
            f"with Erlang C the queue grows without bound; staff more, or give a patience for Erlang A"
        )
    else:
        figures = staffing_figures(load, staffed, target.within_s, patience_s)
    model = "Erlang C" if patience_s is None else f"Erlang A, mean patience {patience_s:g} s"
    return {
        "figures": dataclasses.asdict(figures),  # exactly `switchboard staffing --json`
        "erlangs": round(load.erlangs, 4),
        "model": model,
        "target": {"share": target.share, "within_s": target.within_s},
        "meets_target": figures.meets(target),
    }
