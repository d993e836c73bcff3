"""The shift between two small samples: Hodges–Lehmann estimate with the exact Mann–Whitney interval.

Used where each side is a handful of seed replicates (torch-noise compares a statistic between two models or
settings): distribution-free under the shift model, exact at any sample size, and unbounded (rather than
falsely narrow) when the samples are too small for the level.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ._common import _check_confidence
from .intervals import ConfidenceInterval, Interval

SHIFT_METHODS = ("mann-whitney",)


@dataclass(frozen=True)
class ShiftInterval(Interval):
    """:class:`Interval` plus the coverage the discrete Mann–Whitney law achieves (≥ the level)."""

    achieved: float = np.nan


@functools.lru_cache(maxsize=64)
def _mann_whitney_cdf(m: int, n: int) -> np.ndarray:
    """P(U <= u), u = 0..mn, of the Mann–Whitney count under exchangeability (exact, by recursion)."""
    # f[i][j][u]: arrangements of i x's and j y's with u (x, y) pairs where y < x
    table: list[list] = [[None] * (n + 1) for _ in range(m + 1)]
    for i in range(m + 1):
        for j in range(n + 1):
            if i == 0 or j == 0:
                f = np.zeros(i * j + 1)
                f[0] = 1.0
            else:
                f = np.zeros(i * j + 1)
                a = table[i - 1][j]  # the largest is an x: it beats all j y's
                f[j : j + a.size] += a
                b = table[i][j - 1]  # the largest is a y: no new pair
                f[: b.size] += b
            table[i][j] = f
    counts = table[m][n]
    return np.cumsum(counts) / counts.sum()


def shift_ci(a, b, *, confidence_level: float = 0.95, method: str = "mann-whitney") -> ShiftInterval:
    """Shift of ``a`` over ``b``: the Hodges–Lehmann estimate (median of all a_i − b_j) and the exact
    Mann–Whitney interval [D_(C), D_(mn+1−C)] of the sorted differences, C the largest count with
    P(U ≤ C − 1) ≤ (1 − c)/2.

    Coverage ≥ ``confidence_level`` for any continuous law under the shift model, and the interval excludes 0
    exactly when the two-sided Mann–Whitney test rejects equality at 1 − c. Non-finite values are dropped
    (the callers' statistics are logs of positive values). With no values on a side, every field is NaN;
    when m, n are too small for any interval at this level, its ends are ±inf (``achieved`` = 1)."""
    c = _check_confidence(confidence_level)
    if method not in SHIFT_METHODS:
        raise ValueError(f"method must be one of {SHIFT_METHODS}, got {method!r}")
    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    assumes = "two independent samples of one continuous law up to a shift (exact, distribution-free)"
    if x.size == 0 or y.size == 0:
        return ShiftInterval(np.nan, ConfidenceInterval(np.nan, np.nan), c, method, assumes, np.nan)
    d = np.sort((x[:, None] - y[None, :]).ravel())
    est = float(np.median(d))
    cdf = _mann_whitney_cdf(x.size, y.size)
    half = 0.5 * (1.0 - c)
    ok = np.nonzero(cdf <= half + 1e-12)[0]  # u with P(U <= u) <= half; C − 1 is the largest
    if ok.size == 0:
        return ShiftInterval(est, ConfidenceInterval(-np.inf, np.inf), c, method, assumes, 1.0)
    k = int(ok[-1]) + 1
    return ShiftInterval(
        est,
        ConfidenceInterval(float(d[k - 1]), float(d[d.size - k])),
        c,
        method,
        assumes,
        float(1.0 - 2.0 * cdf[k - 1]),
    )
