"""Rates: the slope of log quantile against log k, with a bootstrap over whole trajectories."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ._common import DEFAULT_WINDOW_DECADES, _as_errors, _check_confidence, _check_count, _check_q, _upper_rank
from .intervals import percentile_interval

# --------------------------------------------------------------------------------------------------
# rates: slope of log quantile against log k
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateFit:
    """Result of :func:`fit_rate`: ``quantile_q(error at k) ~ exp(intercept) * k ** slope``.

    ``kmin``/``kmax`` are the smallest and largest checkpoints actually fitted; ``n_points`` their
    number. ``[ci_low, ci_high]`` is the bootstrap percentile interval at ``confidence``. When the
    fit is impossible (a fitted quantile is +inf or <= 0), ``slope`` and the interval are NaN and
    ``reason`` says why; ``reason`` also notes bootstrap replicates that could not be fitted.
    """

    slope: float
    ci_low: float
    ci_high: float
    intercept: float
    q: float | str
    kmin: float
    kmax: float
    n_points: int
    n_boot: int
    n_traj: int
    confidence: float = 0.95
    reason: str = ""

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.slope))


def fit_slope(x, y) -> tuple[float, float]:
    """Ordinary least-squares line ``y ~ intercept + slope * x``; returns ``(slope, intercept)``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of equal length, got shapes {x.shape} and {y.shape}")
    if np.unique(x).size < 2:
        raise ValueError("x needs at least 2 distinct values to fit a slope")
    xc = x - x.mean()
    slope = float(xc @ (y - y.mean()) / (xc @ xc))
    return slope, float(y.mean() - slope * x.mean())


@njit(cache=True)
def _resampled_order_stats(counts, order, sorted_vals, cols, ranks, out):
    """out[t] = ranks[t]-th smallest (1-based) of column cols[t] in the resample given by counts.

    order[c] sorts column c; sorted_vals[c] = column c in that order; counts[i] = how often row i
    was drawn. The resample of column c sorted is sorted_vals[c, m] repeated counts[order[c, m]]
    times, so walk from the nearer end until the cumulative count reaches the rank.
    """
    n = counts.shape[0]
    for t in range(cols.shape[0]):
        c = cols[t]
        r = ranks[t]
        acc = 0
        if r <= n - r + 1:
            for m in range(n):
                acc += counts[order[c, m]]
                if acc >= r:
                    out[t] = sorted_vals[c, m]
                    break
        else:
            need = n - r + 1  # the r-th smallest is the (n-r+1)-th largest
            for m in range(n - 1, -1, -1):
                acc += counts[order[c, m]]
                if acc >= need:
                    out[t] = sorted_vals[c, m]
                    break


class _RowBootstrap:
    """Draws bootstrap resamples of the rows (whole trajectories) and evaluates statistics on them.

    Each replicate draws n row indices uniformly with replacement from Philox(seed), in order, so
    replicate b is the same whatever else is computed.
    """

    def __init__(self, v: np.ndarray, seed: int):
        self.n = v.shape[0]
        self.v = v
        self.rng = np.random.Generator(np.random.Philox(seed))
        self._order = None

    def _sorted(self):
        if self._order is None:
            order = np.argsort(self.v, axis=0, kind="stable")
            self._sorted_vals = np.ascontiguousarray(np.take_along_axis(self.v, order, axis=0).T)
            itype = np.int32 if self.n < 2**31 else np.int64
            self._order = np.ascontiguousarray(order.T.astype(itype))
        return self._order, self._sorted_vals

    def counts(self) -> np.ndarray:
        idx = self.rng.integers(0, self.n, size=self.n)
        return np.bincount(idx, minlength=self.n)

    def order_stats(self, n_boot: int, cols: np.ndarray, ranks: np.ndarray) -> np.ndarray:
        order, sorted_vals = self._sorted()
        cols = np.ascontiguousarray(cols, dtype=np.int64)
        ranks = np.ascontiguousarray(ranks, dtype=np.int64)
        out = np.empty((n_boot, cols.size))
        for b in range(n_boot):
            _resampled_order_stats(self.counts(), order, sorted_vals, cols, ranks, out[b])
        return out

    def means(self, n_boot: int) -> np.ndarray:
        out = np.empty((n_boot, self.v.shape[1]))
        for b in range(n_boot):
            out[b] = self.counts() @ self.v / self.n
        return out


def ols_slopes(x, y) -> np.ndarray:
    """Least-squares slope of y against x along y's last axis (one slope per row of a 2-D y; a row holding a
    non-finite value gives a non-finite slope). The one slope formula of the package's fits."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xc = x - x.mean()
    with np.errstate(invalid="ignore"):
        return (y - y.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)


_slopes = ols_slopes


def log_slope(x, point, boot, confidence: float) -> tuple[float, float, float, float]:
    """The slope of log(point) against log(x) and its percentile interval over the joint bootstrap's replicates
    (``boot``: one row per replicate, one column per x, every x resampled with the same trajectories, as
    :func:`joint_bootstrap` draws them): (slope, low, high, intercept). A value that is not > 0 (a failed
    median, +inf, 0) gives a non-finite slope, never a dropped point."""
    logx = np.log(np.asarray(x, dtype=float))

    def logs(v):
        v = np.asarray(v, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.isfinite(v) & (v > 0), np.log(v), np.nan)

    lp = logs(point)
    slope = float(ols_slopes(logx, lp))
    low, high = percentile_interval(ols_slopes(logx, logs(boot)), confidence)[:2]
    intercept = float(np.mean(lp) - slope * logx.mean()) if np.isfinite(slope) else float("nan")
    return slope, low, high, intercept


def fit_rate(k, values, q, *, kmin=None, kmax=None, n_boot=400, confidence=0.95, seed=0) -> RateFit:
    """Rate exponent: least-squares slope of ``log quantile_q(values[:, j])`` against ``log k_j``.

    Parameters
    ----------
    k : array_like, shape (n_ckpt,)
        Checkpoints (iteration counts); those fitted must be > 0.
    values : array_like, shape (n_traj, n_ckpt)
        Errors of independent trajectories; non-finite entries are failures, counted as +inf.
    q : float in (0, 1), an array of one level per checkpoint, or ``"mean"``
        Quantile level (estimate ``X_(ceil(q n))`` as in :func:`quantile_ci`); with one level per
        checkpoint (e.g. 1 − c/k) each column is read at its own rank (``RateFit.q`` is "levels"). ``"mean"`` fits the
        sample mean; it is allowed and reported, but means of heavy-tailed errors are unstable (the
        mean may not exist, a single run can dominate), so never base a verdict on the mean alone.
    kmin, kmax : float, optional
        Fit the checkpoints with ``kmin <= k <= kmax``. Default ``kmax = max(k)`` and
        ``kmin = kmax / 10 ** DEFAULT_WINDOW_DECADES`` (the last decade of the run, the one window
        of every study). At least 2 distinct checkpoints must be selected.
    n_boot : int >= 0
        Bootstrap replicates (0: no interval, ``ci_low = ci_high = nan``).
    confidence : float in (0, 1)
    seed : int
        Seed of the ``Generator(Philox(seed))`` that draws the resamples.

    Returns
    -------
    :class:`RateFit`. The interval is a percentile bootstrap (Efron & Tibshirani, *An Introduction
    to the Bootstrap*, 1993, ch. 13) that resamples whole trajectories (rows), the same rows at
    every checkpoint, so the correlation of one run's errors across k is kept and the interval is
    honest about it. A fitted quantile that is +inf (failures above the rank) or <= 0 has no
    logarithm: then the slope is NaN and ``reason`` says so (no exception, so a sweep over settings
    records the failure and goes on).

    The resampled quantiles are computed from each column sorted once and the multiplicity of each
    row in the resample (a walk over the sorted column), not by re-sorting; see
    ``_resampled_order_stats``.
    """
    return fit_rate_windows(k, values, q, [(kmin, kmax)], n_boot=n_boot, confidence=confidence, seed=seed)[0]


def fit_rate_windows(k, values, q, windows, *, n_boot=400, confidence=0.95, seed=0) -> list[RateFit]:
    """:func:`fit_rate` over several windows ``[(kmin, kmax), ...]`` (None ends take fit_rate's defaults) from
    one set of bootstrap replicates: replicate b resamples the same rows for every window, so each result
    equals ``fit_rate`` over that window with the same seed, at the cost of one bootstrap (the local slopes
    of ``synthclip.verdict`` use it)."""
    levels = None
    if isinstance(q, str):
        if q != "mean":
            raise ValueError(f"q must be in (0, 1) or 'mean', got {q!r}")
    elif np.ndim(q) == 1:  # one quantile level per checkpoint (e.g. 1 − c/k)
        levels = np.array([_check_q(float(x)) for x in q])
        q = "levels"
    else:
        q = _check_q(q)
    c = _check_confidence(confidence)
    n_boot = _check_count(n_boot, "n_boot", 0)
    seed = _check_count(seed, "seed", 0)
    k = np.asarray(k, dtype=np.float64)
    if k.ndim != 1:
        raise ValueError(f"k must be 1-D, got shape {k.shape}")
    v_all = np.asarray(values)
    if v_all.ndim != 2 or v_all.shape[1] != k.size:
        raise ValueError(f"values must have shape (n_traj, len(k)) = (n_traj, {k.size}), got {v_all.shape}")
    if not np.all(np.isfinite(k)):
        raise ValueError("k must be finite")
    if levels is not None and levels.size != k.size:
        raise ValueError(f"q as levels per checkpoint must have len(k) = {k.size} entries, got {levels.size}")
    sels = []
    for kmin, kmax in windows:
        kmax = float(np.max(k)) if kmax is None else float(kmax)
        kmin = kmax / 10.0**DEFAULT_WINDOW_DECADES if kmin is None else float(kmin)
        if not kmin <= kmax:
            raise ValueError(f"kmin must be <= kmax, got kmin={kmin}, kmax={kmax}")
        # tolerance: kmin = kmax/10 may miss a float checkpoint by an ulp
        sel = np.nonzero((k >= kmin * (1 - 1e-12)) & (k <= kmax * (1 + 1e-12)))[0]
        if np.unique(k[sel]).size < 2:
            raise ValueError(
                f"need at least 2 distinct checkpoints in [kmin, kmax] = [{kmin:g}, {kmax:g}], found {sel.size}"
            )
        if np.any(k[sel] <= 0):
            raise ValueError("fitted checkpoints k must be > 0 (the fit is in log k)")
        sels.append(sel)
    cols = np.unique(np.concatenate(sels))
    v = _as_errors(v_all[:, cols], ndim=2)
    n = v.shape[0]
    where = {int(col): i for i, col in enumerate(cols)}
    if q == "mean":
        point_all = v.mean(axis=0)
        ranks_all = None
    else:
        ranks_all = (
            np.array([_upper_rank(float(x), n) for x in levels[cols]])
            if levels is not None
            else np.full(cols.size, _upper_rank(q, n))
        )
        if levels is None:
            point_all = np.partition(v, ranks_all[0] - 1, axis=0)[ranks_all[0] - 1]
        else:
            point_all = np.sort(v, axis=0)[ranks_all - 1, np.arange(cols.size)]
    reps_all = None
    out = []
    for sel in sels:
        idx = np.array([where[int(j)] for j in sel])
        ks = k[sel]
        logk = np.log(ks)
        common = dict(
            q=q,
            kmin=float(ks.min()),
            kmax=float(ks.max()),
            n_points=int(ks.size),
            n_boot=n_boot,
            n_traj=n,
            confidence=c,
        )
        point = point_all[idx]
        bad = ~(np.isfinite(point) & (point > 0))
        if np.any(bad):
            what = {"mean": "mean", "levels": "quantile"}.get(q, f"{q}-quantile")
            first = int(np.argmax(bad))
            why = "+inf (failed runs)" if point[first] == np.inf else f"{point[first]:g} <= 0"
            nan = float("nan")
            out.append(
                RateFit(
                    slope=nan,
                    ci_low=nan,
                    ci_high=nan,
                    intercept=nan,
                    reason=f"{what} at k={ks[first]:g} is {why}; no logarithm, no slope "
                    f"({int(bad.sum())} of {ks.size} fitted checkpoints affected)",
                    **common,
                )
            )
            continue
        slope, intercept = fit_slope(logk, np.log(point))
        if n_boot == 0:
            out.append(RateFit(slope=slope, ci_low=float("nan"), ci_high=float("nan"), intercept=intercept, **common))
            continue
        if reps_all is None:
            boot = _RowBootstrap(v, seed)
            if q == "mean":
                reps_all = boot.means(n_boot)
            else:
                reps_all = boot.order_stats(n_boot, np.arange(cols.size), ranks_all)
        reps = reps_all[:, idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            logreps = np.where(reps > 0, np.log(reps), np.nan)
        lo, hi, n_bad = percentile_interval(_slopes(logk, logreps), c)
        reason = ""
        if n_bad:
            reason = (
                f"{n_bad} of {n_boot} bootstrap replicates had a quantile that is +inf or <= 0; "
                f"counted at both ends of the interval"
            )
        out.append(RateFit(slope=slope, ci_low=lo, ci_high=hi, intercept=intercept, reason=reason, **common))
    return out


def exponent_side(ci_low: float, ci_high: float, theory: float, allowance: float) -> str:
    """Where an exponent lies against a slope interval widened by ``allowance``: ``"match"`` (inside),
    ``"faster"`` (above it: the measured slope is more negative) or ``"slower"`` (below it). The one
    comparison behind ``synthclip.verdict``'s words."""
    if ci_low - allowance <= theory <= ci_high + allowance:
        return "match"
    return "faster" if theory > ci_high + allowance else "slower"
