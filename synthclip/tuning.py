"""Tuning whose optimum is interior: the one grid-search rule of every study that tunes a hyper-parameter.

A value tuned on a grid whose best point sits at the grid's edge is not tuned: the optimum may lie beyond
it, and a comparison of methods at such values compares untuned methods. The rule (:func:`tune_interior`),
fixed before any run and the same for every study:

1. Evaluate every point of the study's grid (geometric: neighbours about a constant factor apart).
2. Take the best score (smallest; a failed evaluation scores +inf; ties go to the smaller value).
3. If the best point is the grid's smallest or largest, add one point beyond that edge, a grid factor
   further out, and go back to 2; at most ``max_extensions`` times (default :data:`MAX_EXTENSIONS`).
4. The result is *interior* when the best point has an evaluated neighbour on each side with a strictly
   worse score, else *at edge*: a verdict resting on it must say the value is not tuned.

The report of every study that tunes states how many searches needed an extension and how many stayed at
an edge (:func:`edge_summary`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Extensions allowed per search (one grid factor each): with half-decade grids, a decade beyond either end.
MAX_EXTENSIONS = 2

__all__ = ["MAX_EXTENSIONS", "TuneResult", "tune_interior", "edge_summary"]


@dataclass(frozen=True)
class TuneResult:
    """The chosen value, the whole search (one row per evaluated value, in ascending order) and its status."""

    value: float
    table: pd.DataFrame  # columns: value, score, chosen, extension (0: the study's grid; j: j-th added point)
    n_extensions: int
    interior: bool

    @property
    def status(self) -> str:
        return "interior" if self.interior else "at edge"


def _factor(grid: np.ndarray) -> float:
    """The grid's mean ratio between neighbours; grids rounded to readable values (0.1, 0.3, 1) are accepted
    as geometric when every ratio is within 25 % of the mean one."""
    ratios = grid[1:] / grid[:-1]
    mean = float(np.exp(np.mean(np.log(ratios))))
    if mean <= 1.0 or np.any(np.abs(np.log(ratios / mean)) > math.log(1.25)):
        raise ValueError(
            f"grid must be geometric (about a constant ratio between neighbours), got {[float(v) for v in grid]}"
        )
    return mean


def tune_interior(
    evaluate: Callable[[float], float], grid: Sequence[float], *, max_extensions: int = MAX_EXTENSIONS
) -> TuneResult:
    """Minimise ``evaluate`` over ``grid``, extending the grid past an edge optimum (module docstring).

    ``evaluate(value)`` returns the score (lower is better); NaN and ±inf count as +inf (a failed run).
    """
    values = np.sort(np.asarray(grid, dtype=float))
    if values.size < 3 or not np.all(values > 0) or not np.all(np.isfinite(values)):
        raise ValueError(f"grid must hold at least 3 positive finite values, got {list(grid)}")
    if not isinstance(max_extensions, int) or max_extensions < 0:
        raise ValueError(f"max_extensions must be an integer >= 0, got {max_extensions!r}")
    factor = _factor(values)
    scores: dict[float, float] = {}
    added: dict[float, int] = {}

    def score_of(v: float) -> float:
        s = float(evaluate(v))
        return s if math.isfinite(s) else math.inf

    for v in values:
        scores[float(v)] = score_of(float(v))
        added[float(v)] = 0
    n_ext = 0
    while True:
        order = sorted(scores)
        s = np.array([scores[v] for v in order])
        best = int(np.argmin(s))  # argmin: the first, i.e. the smallest value, of ties
        at_low, at_high = best == 0, best == len(order) - 1
        if not (at_low or at_high) or n_ext >= max_extensions or not math.isfinite(s[best]):
            break
        n_ext += 1
        new = order[0] / factor if at_low else order[-1] * factor
        scores[new] = score_of(new)
        added[new] = n_ext
    order = sorted(scores)
    s = np.array([scores[v] for v in order])
    best = int(np.argmin(s))
    interior = 0 < best < len(order) - 1 and math.isfinite(s[best]) and s[best - 1] > s[best] and s[best + 1] > s[best]
    table = pd.DataFrame(
        {"value": order, "score": s, "chosen": np.arange(len(order)) == best, "extension": [added[v] for v in order]}
    )
    return TuneResult(float(order[best]), table, n_ext, bool(interior))


def edge_summary(results: Sequence[TuneResult] | pd.DataFrame) -> str:
    """One line for a report: how many searches were extended and how many stayed at an edge.

    Takes the results, or a table with columns ``n_extensions`` and ``interior`` (one row per search)."""
    if isinstance(results, pd.DataFrame):
        n_ext = results["n_extensions"].to_numpy(int)
        interior = results["interior"].to_numpy(bool)
    else:
        n_ext = np.array([r.n_extensions for r in results], dtype=int)
        interior = np.array([r.interior for r in results], dtype=bool)
    n = len(n_ext)
    return (
        f"tuning rule (fixed before the run): the grid is extended one factor past an edge optimum, at most "
        f"{MAX_EXTENSIONS} times; {int(np.count_nonzero(n_ext))} of {n} searches were extended, "
        f"{int(np.count_nonzero(~interior))} of {n} stayed at an edge (their verdicts read 'not tuned')"
    )
