"""A faster `dataclasses.replace` for the frozen, slotted value classes on the routing hot path.

`replace` re-runs __init__ through introspection (about 10 µs); these classes have no __post_init__ to honour.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")
_set = object.__setattr__


def evolve(value: T, **changes: Any) -> T:
    """A copy of `value` with `changes`; only for frozen slots dataclasses without __post_init__."""
    cls = type(value)
    slots: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    unknown = changes.keys() - set(slots)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    new = object.__new__(cls)
    for name in slots:
        _set(new, name, changes[name] if name in changes else getattr(value, name))
    return new
