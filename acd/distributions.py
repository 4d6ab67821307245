"""Talk, wrap-up and patience time distributions for the ACD simulator, read from a scenario's JSON.

Each is stated the way a planner states it (a mean and a spread, in seconds) and sampled from a seeded random.Random.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class Distribution(Protocol):
    """A non-negative duration in seconds."""

    @property
    def mean(self) -> float: ...

    def sample(self, rng: random.Random) -> float: ...


@dataclass(frozen=True, slots=True)
class Constant:
    value: float

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: random.Random) -> float:
        return self.value


@dataclass(frozen=True, slots=True)
class Exponential:
    mean: float

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Parametrised by the mean and sd of the lognormal itself, as talk times are reported."""

    mean: float
    sd: float

    def sample(self, rng: random.Random) -> float:
        # The underlying normal: sigma^2 = ln(1 + sd^2/mean^2), mu = ln(mean) - sigma^2/2.
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return rng.lognormvariate(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2))


@dataclass(frozen=True, slots=True)
class Gamma:
    mean: float
    sd: float

    def sample(self, rng: random.Random) -> float:
        # shape k = mean^2/sd^2 and scale theta = sd^2/mean give back the stated mean and sd.
        return rng.gammavariate((self.mean / self.sd) ** 2, self.sd**2 / self.mean)


@dataclass(frozen=True, slots=True)
class Uniform:
    low: float
    high: float

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


# Each distribution's parameters; "positive" ones must be > 0, the others >= 0.
_PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "constant": (("value",), ()),
    "exponential": (("mean",), ("mean",)),
    "lognormal": (("mean", "sd"), ("mean",)),
    "gamma": (("mean", "sd"), ("mean", "sd")),
    "uniform": (("min", "max"), ()),
}


def distribution_from(spec: object) -> Distribution:
    """Build a distribution from `{"dist": name, ...}`; the error names the key (relative to `spec`) and value."""
    if not isinstance(spec, Mapping):
        raise TypeError(f" = {spec!r}: must be an object with a 'dist' key")
    name = spec.get("dist")
    if name not in _PARAMS:
        raise ValueError(f".dist = {name!r}: unknown distribution (one of {', '.join(_PARAMS)})")
    needed, positive = _PARAMS[name]
    for key in spec:
        if key != "dist" and key not in needed:
            raise ValueError(f".{key}: unknown parameter for {name} (takes {', '.join(needed)})")
    values = {key: _number(spec, key, positive=key in positive) for key in needed}
    if name == "constant":
        return Constant(values["value"])
    if name == "exponential":
        return Exponential(values["mean"])
    if name == "lognormal":
        return LogNormal(values["mean"], values["sd"]) if values["sd"] > 0 else Constant(values["mean"])
    if name == "gamma":
        return Gamma(values["mean"], values["sd"])
    if values["max"] < values["min"]:
        raise ValueError(f".max = {values['max']!r}: must be >= min ({values['min']!r})")
    return Uniform(values["min"], values["max"])


def _number(spec: Mapping[str, object], key: str, *, positive: bool) -> float:
    if key not in spec:
        raise ValueError(f".{key}: missing")
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f".{key} = {value!r}: must be a number")
    if value < 0 or (positive and value == 0):
        raise ValueError(f".{key} = {value!r}: must be {'> 0' if positive else '>= 0'}")
    return float(value)
