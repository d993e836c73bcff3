"""Parameter specifications shared by the method, problem and noise registries.

A :class:`Param` names a parameter, its default, its valid range and a one-line doc; ``validate``
turns user input into checked Python values or raises a one-line ``ValueError`` that names the
parameter and the valid range. No kernel ever sees an unchecked value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Param:
    """One parameter of a registry entry.

    kind is "float", "int", "bool" or "choice". For "float" the valid range is
    ``low <(=) value <(=) high``; ``allow_inf`` admits +inf (e.g. an infinite clip level).
    ``aliases`` are strings accepted in place of a float (e.g. clip_power="1/alpha"), resolved later.
    """

    name: str
    default: Any
    doc: str
    kind: str = "float"
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    allow_inf: bool = False
    choices: Sequence[str] = ()
    aliases: Sequence[str] = ()

    def range_text(self) -> str:
        if self.kind == "bool":
            return "True or False"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = "(" if self.low_open else "["
        hi = ")" if (self.high_open or (self.high == math.inf and not self.allow_inf)) else "]"
        text = f"{lo}{_fmt(self.low)}, {_fmt(self.high)}{hi}"
        if self.aliases:
            text += " or one of " + ", ".join(repr(a) for a in self.aliases)
        return text

    def check(self, value: Any, owner: str = "") -> Any:
        where = f"{owner} parameter {self.name!r}" if owner else f"parameter {self.name!r}"
        if self.kind == "bool":
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise ValueError(f"{where} must be True or False, got {value!r}")
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{where} must be {self.range_text()}, got {value!r}")
            return value
        if isinstance(value, str) and value in self.aliases:
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be a number in {self.range_text()}, got {value!r}") from None
        if self.kind == "int":
            if not float(number).is_integer():
                raise ValueError(f"{where} must be an integer in {self.range_text()}, got {value!r}")
        ok = not math.isnan(number)
        if ok and math.isinf(number):
            ok = number > 0 and self.allow_inf
        if ok and not math.isinf(number):
            ok = (number > self.low if self.low_open else number >= self.low) and (
                number < self.high if self.high_open else number <= self.high
            )
        if not ok:
            raise ValueError(f"{where} must be in {self.range_text()}, got {value!r}")
        return int(number) if self.kind == "int" else number


def _fmt(x: float) -> str:
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    return f"{x:g}"


@dataclass(frozen=True)
class Spec:
    """A registry entry: a name, its parameters and a doc string."""

    name: str
    params: tuple[Param, ...]
    doc: str
    code: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def validate(self, values: Mapping[str, Any], kind: str) -> dict[str, Any]:
        """Defaults overlaid with ``values``; unknown names and bad values raise ValueError."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            valid = ", ".join(sorted(known)) or "none"
            raise ValueError(f"unknown parameter {unknown[0]!r} for {kind} {self.name!r}; valid parameters: {valid}")
        out = {}
        for p in self.params:
            out[p.name] = p.check(values[p.name], f"{kind} {self.name!r}") if p.name in values else p.default
        return out


def lookup(registry: Mapping[str, Spec], name: str, kind: str) -> Spec:
    """The registry entry called ``name`` or a ValueError listing the valid names."""
    key = name.replace("-", "_") if isinstance(name, str) else name
    for candidate in (name, key):
        if isinstance(candidate, str) and candidate in registry:
            return registry[candidate]
    raise ValueError(f"unknown {kind} {name!r}; valid: {', '.join(registry)}")
