"""Confidence studies: how the (1 − δ)-quantile grows as δ → 0 (polynomial or polylog), and the power-law test."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ._common import _MODELS, _as_errors, _check_confidence, _check_count, _upper_rank
from .intervals import percentile_interval
from .rates import _RowBootstrap, _slopes, fit_slope

# --------------------------------------------------------------------------------------------------
# confidence studies: how the (1 - delta)-quantile grows as delta -> 0
# --------------------------------------------------------------------------------------------------


class DeltaFit(NamedTuple):
    """Line fit of :func:`delta_fit`: ``log quantile ~ intercept + slope * x(delta)``."""

    slope: float
    intercept: float
    r2: float


@dataclass(frozen=True)
class DeltaFitCI:
    """Result of :func:`delta_fit_bootstrap` for one model, with its interval (pivot or percentile)."""

    model: str
    slope: float
    ci_low: float
    ci_high: float
    intercept: float
    r2: float
    n_boot: int
    n: int
    confidence: float
    reason: str = ""


def _delta_x(deltas: np.ndarray, model: str) -> np.ndarray:
    if model == "poly":
        return np.log(1.0 / deltas)
    if model == "polylog":
        return np.log(np.log(1.0 / deltas))
    raise ValueError(f"model must be 'poly' or 'polylog', got {model!r}")


def _check_deltas(deltas) -> np.ndarray:
    d = np.asarray(deltas, dtype=np.float64)
    if d.ndim != 1 or d.size < 2:
        raise ValueError(f"deltas must be 1-D with at least 2 values, got shape {d.shape}")
    if not np.all((d > 0) & (d < 1)):
        raise ValueError(f"deltas must lie in (0, 1), got {d}")
    if np.unique(d).size < 2:
        raise ValueError("deltas needs at least 2 distinct values")
    return d


def delta_fit(deltas, quantiles, model: str) -> DeltaFit:
    """Fit ``log quantile`` against ``log(1/delta)`` (``model="poly"``) or ``log log(1/delta)``
    (``model="polylog"``).

    A ``(1 - delta)``-quantile growing like ``(1/delta)^s`` is a straight line of slope ``s`` in the
    first coordinates; one growing like ``log(1/delta)^s`` is a straight line in the second. Which
    line fits better (``r2``) and whether the slope is ~0 tells polynomial from polylogarithmic
    dependence on the confidence level (Chezhegov et al.: unclipped AdaGrad/Adam are polynomial,
    clipped ones polylog). Returns :class:`DeltaFit` ``(slope, intercept, r2)``; all NaN when a
    quantile is +inf or <= 0 (no logarithm). ``r2`` is NaN when all quantiles are equal.
    """
    d = _check_deltas(deltas)
    qv = np.asarray(quantiles, dtype=np.float64)
    if qv.shape != d.shape:
        raise ValueError(f"quantiles must have the shape of deltas {d.shape}, got {qv.shape}")
    x = _delta_x(d, model)
    if not np.all(np.isfinite(qv) & (qv > 0)):
        return DeltaFit(float("nan"), float("nan"), float("nan"))
    y = np.log(qv)
    slope, intercept = fit_slope(x, y)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum((y - intercept - slope * x) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    return DeltaFit(slope, intercept, r2)


DELTA_METHODS = ("pivot", "percentile")


@lru_cache(maxsize=64)
def _rank_pivot_draws(n: int, ranks: tuple, n_boot: int, seed: int) -> np.ndarray:
    """``(n_boot, len(ranks))`` draws of ``1 - U_(r)`` for n i.i.d. uniforms, jointly over the ranks.

    The ``m``-th smallest of n uniforms is ``G_m / G_(n+1)`` with ``G`` the partial sums of i.i.d.
    standard exponentials (Renyi; David & Nagaraja 2003, 2.5), and ``1 - U_(r)`` is the ``(n - r + 1)``-th
    smallest, so one draw needs one Gamma variate per distinct rank plus one: cheap enough for any level.
    The law depends on (n, ranks) only, never on the data, so draws are cached.
    """
    m = n - np.asarray(ranks, dtype=np.int64) + 1
    order = np.argsort(m, kind="stable")
    shapes = np.diff(np.concatenate([[0], m[order], [n + 1]])).astype(np.float64)
    rng = np.random.Generator(np.random.Philox(seed))
    g = np.cumsum(rng.gamma(np.where(shapes > 0, shapes, 1.0), size=(n_boot, shapes.size)) * (shapes > 0), axis=1)
    out = np.empty((n_boot, m.size))
    out[:, order] = g[:, :-1] / g[:, -1:]
    out.setflags(write=False)
    return out


def _pivot_draws(n_boot: int, confidence: float) -> int:
    """Monte Carlo draws of a pivot: ``n_boot``, but at least 100 000 and ``100 / (1 - confidence)``.

    A draw costs one Gamma variate per delta and the draws are cached, so they are cheap; and one set of
    draws serves every call with the same (n, deltas, seed), so its Monte Carlo error does not average out
    over calls. The calibration showed it: with 1000 or 10 000 draws one side's 5 % quantile was off by
    2 Monte Carlo sd (0.062-0.068 realised against 0.05 on N = 10^5); with 100 000 draws the error is
    ~0.07 % in probability.
    """
    return max(n_boot, 100_000, math.ceil(100.0 / (1.0 - confidence)))


@lru_cache(maxsize=256)
def _pivot_bounds(
    d: tuple, n: int, ranks: tuple, model: str, n_boot: int, seed: int, confidence: float
) -> tuple[float, float]:
    """``(P_lo, P_hi)``: the smaller lower and the larger upper ``(1 -+ c)/2`` quantile of the two shapes'
    pivots (outer order statistics, numpy's "lower"/"higher"); cached, as the pivot's law is data-free."""
    ratios = _pivot_ratios(np.asarray(d), n, np.asarray(ranks), model, n_boot, seed)
    half = 0.5 * (1.0 - confidence)
    return (
        float(np.min(np.quantile(ratios, half, axis=0, method="lower"))),
        float(np.max(np.quantile(ratios, 1.0 - half, axis=0, method="higher"))),
    )


def _pivot_ratios(d: np.ndarray, n: int, ranks: np.ndarray, model: str, n_boot: int, seed: int) -> np.ndarray:
    """Draws of ``slope_hat / slope`` for ``model``'s fit, one column per quantile shape.

    If the data's ``(1 - delta)``-quantile is exactly ``C (1/delta)^s`` (or exactly ``C log(1/delta)^s``),
    ``log X_(r_i) = log C + s h(deltã_i)`` with ``h(delta) = log(1/delta)`` (or ``log log(1/delta)``) and
    ``deltã_i = 1 - U_(r_i)``; the fitted slope is then ``s`` times the fit of ``h(deltã)``, while the
    estimand (the fit through the true quantiles) is ``s`` times the fit of ``h(delta)``. Their ratio has a
    known law, free of ``s`` and ``C``: an exact pivot under either shape.
    """
    x = _delta_x(d, model)
    tilde = _rank_pivot_draws(n, tuple(int(r) for r in ranks), n_boot, seed)
    cols = []
    for shape in _MODELS:
        with np.errstate(divide="ignore", invalid="ignore"):
            cols.append(_slopes(x, _delta_x(tilde, shape)) / fit_slope(x, _delta_x(d, shape))[0])
    return np.stack(cols, axis=1)


def delta_pivot_intervals(
    deltas, n: int, ranks, quantiles, model: str, *, n_boot: int = 400, confidence: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(slopes, lower ends, upper ends) of :func:`delta_fit_bootstrap`'s pivot interval, one per row of
    ``quantiles`` (rows: the order statistics ``X_(ranks)`` of n runs, one row per data set).

    The one implementation of the pivot interval: ``delta_fit_bootstrap`` calls it with one row, and
    ``study calibrate`` with many rows of exact order statistics to measure its level where raw samples
    would be too many (level 1 − 2.5·10^−4 at n = 50 000 needs R ≳ 10^5 data sets).
    """
    d = np.asarray(deltas, dtype=np.float64)
    rows = np.atleast_2d(np.asarray(quantiles, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = _slopes(_delta_x(d, model), np.log(rows))
    return (slopes, *_pivot_ends(slopes, d, n, ranks, model, n_boot, confidence, seed))


def _pivot_ends(
    slopes: np.ndarray, d: np.ndarray, n: int, ranks, model: str, n_boot: int, confidence: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``[slope / P_hi, slope / P_lo]`` for each fitted slope (see :func:`delta_fit_bootstrap`)."""
    p_lo, p_hi = _pivot_bounds(
        tuple(d.tolist()),
        int(n),
        tuple(int(r) for r in ranks),
        model,
        _pivot_draws(n_boot, confidence),
        seed,
        confidence,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = slopes / p_hi if p_hi > 0 else np.zeros_like(slopes)
        hi = slopes / p_lo if p_lo > 0 else np.full_like(slopes, math.inf)
    flat = slopes == 0.0  # every fitted quantile equal: the slope has no scale to be wrong by
    lo[flat] = hi[flat] = 0.0
    return lo, hi


def _delta_quantiles(values, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(errors with failures as +inf, ranks ceil((1 − δ) n), the (1 − δ)-quantiles) of one checkpoint's runs."""
    v = _as_errors(values, ndim=1)
    n = v.size
    if np.any(d * n < 1):
        raise ValueError(f"deltas must be >= 1/n = {1 / n:g} (n = {n} runs), got min {d.min():g}")
    ranks = np.array([_upper_rank(1.0 - di, n) for di in d])
    return v, ranks, np.partition(v, np.unique(ranks - 1))[ranks - 1]


def delta_fit_bootstrap(
    values, deltas, model=_MODELS, n_boot: int = 400, confidence: float = 0.95, seed: int = 0, method: str = "pivot"
) -> dict[str, DeltaFitCI]:
    """:func:`delta_fit` on raw errors, with a confidence interval for the slope of each model.

    Parameters
    ----------
    values : array_like, shape (n,)
        Per-trajectory errors at one checkpoint; non-finite entries are failures (+inf).
    deltas : array_like
        Failure levels in (0, 1); the ``(1 - delta)``-quantile (order statistic
        ``ceil((1 - delta) n)``) is fitted. Each ``delta * n`` must be >= 1, otherwise the quantile
        is just the sample maximum and says nothing about ``delta``.
    model : ``"poly"``, ``"polylog"`` or a sequence of them (default both)
    n_boot, confidence, seed :
        Replicates (Monte Carlo draws for ``"pivot"``, resamples for ``"percentile"``) from
        ``Generator(Philox(seed))``; all models and all deltas share them. ``"percentile"`` needs
        ``n_boot >= 20 / (1 - confidence)`` for its ends to be more than the extreme replicates; the pivot
        draws ``max(n_boot, 100 000, 100 / (1 - confidence))`` (one Gamma variate per delta each, cached).
    method : ``"pivot"`` (default) or ``"percentile"``
        ``"pivot"``: the order-statistic pivot of :func:`_pivot_ratios`. ``slope_hat / slope`` has an
        exact, parameter-free law when the quantile is exactly polynomial or exactly polylogarithmic in
        ``1/delta``; the interval ``[slope_hat / P_hi, slope_hat / P_lo]`` takes ``P_lo`` (``P_hi``) as the
        smaller (larger) of the two shapes' ``(1 - c)/2`` (``(1 + c)/2``) quantiles, so each side misses
        with probability exactly ``(1 - c)/2`` under the matching shape and less under the other one
        (measured by ``python -m synthclip.study calibrate``). ``"percentile"``: the percentile bootstrap
        over runs, kept for comparison: it under-covers on the upper side (extreme order statistics are
        right-skewed in log and a resample cannot exceed the sample maximum; measured 0.09 per side at a
        nominal 0.05 on Pareto data, N = 5000, delta down to 2e-3).

    Returns
    -------
    dict mapping each model to :class:`DeltaFitCI`. Percentile: unfittable replicates (a resampled
    quantile that is +inf or <= 0) are counted at both ends of the interval and noted in ``reason``.
    """
    models = (model,) if isinstance(model, str) else tuple(model)
    for m in models:
        if m not in _MODELS:
            raise ValueError(f"model must be 'poly' or 'polylog', got {m!r}")
    if method not in DELTA_METHODS:
        raise ValueError(f"method must be one of {', '.join(DELTA_METHODS)}, got {method!r}")
    c = _check_confidence(confidence)
    n_boot = _check_count(n_boot, "n_boot", 0)
    seed = _check_count(seed, "seed", 0)
    d = _check_deltas(deltas)
    v, ranks, point = _delta_quantiles(values, d)
    n = v.size
    fittable = bool(np.all(np.isfinite(point) & (point > 0)))
    reps = None
    if n_boot and fittable and method == "percentile":
        boot = _RowBootstrap(v[:, None], seed)
        reps = boot.order_stats(n_boot, np.zeros(d.size, dtype=np.int64), ranks)
    out = {}
    for m in models:
        fit = delta_fit(d, point, m)
        lo = hi = float("nan")
        reason = "" if np.isfinite(fit.slope) else "a (1 - delta)-quantile is +inf or <= 0"
        if reps is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                logreps = np.where(reps > 0, np.log(reps), np.nan)
            lo, hi, n_bad = percentile_interval(_slopes(_delta_x(d, m), logreps), c)
            if n_bad:
                reason = (
                    f"{n_bad} of {n_boot} bootstrap replicates had a quantile that is +inf "
                    f"or <= 0; counted at both ends of the interval"
                )
        elif n_boot and fittable:
            lo, hi = _pivot_ends(np.array([fit.slope]), d, n, ranks, m, n_boot, c, seed)
            lo, hi = float(lo[0]), float(hi[0])
        out[m] = DeltaFitCI(
            model=m,
            slope=fit.slope,
            ci_low=lo,
            ci_high=hi,
            intercept=fit.intercept,
            r2=fit.r2,
            n_boot=n_boot,
            n=n,
            confidence=c,
            reason=reason,
        )
    return out


class PowerLawTest(NamedTuple):
    """Result of :func:`power_law_test`: ``statistic`` (curvature / slope of ``log quantile`` in
    ``log(1/delta)``), ``p_value`` (probability of a statistic this low under a pure power law) and
    ``rejects`` (``p_value <= (1 - confidence) / 2``: the quantile is more concave than any power law
    gives at this n)."""

    statistic: float
    p_value: float
    rejects: bool


def _curvature_over_slope(u: np.ndarray, logy: np.ndarray) -> np.ndarray:
    """Quadratic coefficient of each row of logy on u (least squares on 1, u, u^2) over its slope."""
    uc = u - u.mean()
    design = np.stack([np.ones_like(uc), uc, uc * uc], axis=1)
    coef = np.linalg.lstsq(design, np.atleast_2d(logy).T, rcond=None)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return coef[2] / _slopes(u, np.atleast_2d(logy))


@lru_cache(maxsize=64)
def _power_law_null(u: tuple, n: int, ranks: tuple, draws: int, seed: int) -> np.ndarray:
    """The statistic's law under any pure power law, sorted (data-free, so cached)."""
    null = np.sort(_curvature_over_slope(np.asarray(u), np.log(1.0 / _rank_pivot_draws(n, ranks, draws, seed))))
    null.setflags(write=False)
    return null


def power_law_test(values, deltas, n_boot: int = 4000, confidence: float = 0.95, seed: int = 0) -> PowerLawTest:
    """Test whether the ``(1 - delta)``-quantile is a pure power law ``C (1/delta)^s`` (any C, s > 0).

    A polylogarithmic quantile is concave in ``u = log(1/delta)`` (``log q = s log u``); a power law is a
    straight line. The statistic is the quadratic coefficient of ``log X_(ceil((1-delta) n))`` on ``u``
    over the linear slope. Under any pure power law it equals the same ratio computed on
    ``log(1/deltã)`` (``deltã = 1 - U_(r)``, uniform order statistics), whose law is exact and free of C
    and s; ``n_boot`` draws of it give the p-value (one-sided: concavity). Rejecting says "slower than
    every power law can look at this n", which is what a *polylog* verdict needs beyond a small slope
    (draws: ``max(n_boot, 100 000, 100 / (1 - confidence))``):
    on a finite delta grid ``(1/delta)^0.3`` and ``log(1/delta)^1.5`` have similar slopes.
    """
    c = _check_confidence(confidence)
    n_boot = _check_count(n_boot, "n_boot", 1)
    seed = _check_count(seed, "seed", 0)
    d = _check_deltas(deltas)
    if d.size < 3:
        raise ValueError(f"deltas needs at least 3 values for a curvature, got {d.size}")
    v, ranks, point = _delta_quantiles(values, d)
    n = v.size
    if not np.all(np.isfinite(point) & (point > 0)) or np.unique(point).size < 2:
        return PowerLawTest(float("nan"), float("nan"), False)
    stat, p_value = power_law_pvalues(d, n, ranks, point[None, :], n_boot=n_boot, confidence=c, seed=seed)
    return PowerLawTest(float(stat[0]), float(p_value[0]), bool(p_value[0] <= 0.5 * (1.0 - c)))


def power_law_pvalues(
    deltas, n: int, ranks, quantiles, *, n_boot: int = 4000, confidence: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(statistics, p-values) of :func:`power_law_test`, one per row of order statistics ``quantiles``.

    The one implementation of the test: ``power_law_test`` calls it with one row, ``study calibrate`` with
    many rows of exact order statistics to measure its false-rejection rate at the tests' level.
    """
    d = np.asarray(deltas, dtype=np.float64)
    u = np.log(1.0 / d)
    rows = np.atleast_2d(np.asarray(quantiles, dtype=np.float64))
    stat = _curvature_over_slope(u, np.log(rows))
    draws = _pivot_draws(n_boot, confidence)
    null = _power_law_null(tuple(u.tolist()), int(n), tuple(int(r) for r in ranks), draws, seed)
    return stat, (np.searchsorted(null, stat, side="right") + 1) / (draws + 1)
