"""Tail decay in time: how fast a failure probability P_t = P(a run has not succeeded by t) falls with t.

A run succeeds once (the event is monotone: e.g. min_{k≤t} ‖∇f(x_k)‖² ≤ ε), so n runs are summarised by the
checkpoint at which each first succeeded, and P_t is the fraction of runs still failing at t. A decay
P_t ≈ exp(−c t^b / log(t)^m) is a line of slope −b in −log(log(t)^m log(1/P_t)) against log t: the *tail
scale* s_t = 1 / (log(t)^m log(1/P_t)) decays like t^(−b). :func:`decay_exponent` fits that slope over the
checkpoints whose P_t lies in a window (past the transient, with enough failing runs left to estimate it),
with a percentile bootstrap over runs: a resample of n runs is a multinomial draw over the first-success
checkpoints, so a replicate costs one draw of a vector, whatever n.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._common import _check_confidence, _check_count
from .intervals import percentile_interval
from .rates import fit_slope, ols_slopes


class DecayFit(NamedTuple):
    """Result of :func:`decay_exponent`: the slope of log s_t against log t (−b for P_t ≈ exp(−c t^b/log^m t)),
    its percentile interval, the fitted checkpoints and why a fit failed (``reason``, else "")."""

    slope: float
    ci_low: float
    ci_high: float
    kmin: float
    kmax: float
    n_points: int
    n: int
    reason: str = ""


def tail_scale(k, p, log_power: float = 0.0) -> np.ndarray:
    """s_t = 1 / (log(t)^m log(1/P_t)): NaN where P_t is 0 or 1 (no logarithm)."""
    k = np.asarray(k, dtype=float)
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 1.0 / (np.log(k) ** log_power * np.log(1.0 / p))
    return np.where((p > 0) & (p < 1), s, np.nan)


def decay_exponent(
    k,
    failing,
    *,
    log_power: float = 0.0,
    p_max: float = 0.1,
    min_count: int = 30,
    kmin: float = 0.0,
    kmax: float = float("inf"),
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> DecayFit:
    """Slope of log s_t (:func:`tail_scale`) against log t, with a percentile bootstrap over runs.

    Parameters
    ----------
    k : checkpoints t (increasing, > 1 where fitted: log t must be positive for ``log_power`` > 0)
    failing : int array (n_ckpt,) of runs still failing at each checkpoint, non-increasing, and ``n`` the number
        of runs as ``failing[0]``'s bound: pass ``failing`` with ``n`` prepended, i.e. shape (n_ckpt + 1,), the
        first entry the number of runs
    log_power : m of the decay's log correction (0: P_t ≈ exp(−c t^b))
    p_max, min_count : fit the checkpoints with P_t ≤ p_max (past the transient) and at least ``min_count``
        failing runs (a P_t estimated from fewer has a relative error above ~20 %); at least 3 such checkpoints
    kmin, kmax : restrict the fit further to kmin <= t <= kmax (local slopes)
    n_boot, confidence, seed : replicates (``Generator(Philox(seed))``) and the level of the interval

    The interval assumes the runs are independent; it is a percentile bootstrap (Efron & Tibshirani 1993, ch. 13)
    of the whole fit, the window kept fixed at the one chosen on the data.
    """
    c = _check_confidence(confidence)
    n_boot = _check_count(n_boot, "n_boot", 0)
    seed = _check_count(seed, "seed", 0)
    counts = np.asarray(failing, dtype=np.int64)
    k = np.asarray(k, dtype=float)
    if counts.ndim != 1 or counts.size != k.size + 1:
        raise ValueError(f"failing must hold n then one count per checkpoint ({k.size + 1} values), got {counts.shape}")
    n, counts = int(counts[0]), counts[1:]
    if n < 1 or np.any(np.diff(np.concatenate([[n], counts])) > 0) or np.any(counts < 0):
        raise ValueError("failing must be non-increasing from n >= 1 and non-negative (success is permanent)")
    if not 0 < p_max < 1:
        raise ValueError(f"p_max must be in (0, 1), got {p_max!r}")
    p = counts / n
    window = (p <= p_max) & (counts >= min_count) & (k > 1) & (k >= kmin) & (k <= kmax)
    nan = float("nan")
    if np.count_nonzero(window) < 3:
        return DecayFit(
            nan,
            nan,
            nan,
            nan,
            nan,
            int(np.count_nonzero(window)),
            n,
            f"fewer than 3 checkpoints with P_t <= {p_max:g} and >= {min_count} failing runs",
        )
    x = np.log(k[window])
    slope = fit_slope(x, np.log(tail_scale(k[window], p[window], log_power)))[0]
    lo = hi = nan
    if n_boot:
        rng = np.random.Generator(np.random.Philox(seed))
        # runs by the checkpoint of their first success: bin j succeeded between checkpoints j−1 and j, the last
        # bin never did; a resample of n runs is a multinomial draw over these bins
        bins = -np.diff(np.concatenate([[n], counts, [0]]))
        draws = rng.multinomial(n, bins / n, size=n_boot)
        still = n - np.cumsum(draws, axis=1)[:, :-1]  # failing at each checkpoint, per replicate
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.log(tail_scale(k[window], still[:, window] / n, log_power))
        lo, hi, _ = percentile_interval(ols_slopes(x, y), c)
    return DecayFit(
        float(slope),
        float(lo),
        float(hi),
        float(k[window].min()),
        float(k[window].max()),
        int(np.count_nonzero(window)),
        n,
    )
