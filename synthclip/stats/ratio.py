"""The ratio of two runs' quantiles over the same seeds: a paired percentile bootstrap.

Used where two methods are run on the same seeds (common random numbers: torch-rates compares optimizers on
the same minibatch streams), so the seeds are resampled jointly and the interval uses the pairing.
"""

from __future__ import annotations

import numpy as np

from ._common import _check_confidence
from .intervals import ConfidenceInterval, Interval

RATIO_METHODS = ("paired-percentile",)


def _quantile(values: np.ndarray, q: float, axis: int) -> np.ndarray:
    """The estimate of :func:`quantile_ci` (order statistic ceil(q n), numpy's inverted_cdf) along ``axis``."""
    return np.quantile(values, q, axis=axis, method="inverted_cdf")


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a/b elementwise; two failed (+inf) quantiles give NaN (no ratio)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isinf(a) & np.isinf(b), np.nan, a / b)


def quantile_ratio_ci(
    a,
    b,
    q: float,
    *,
    confidence_level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    method: str = "paired-percentile",
) -> Interval:
    """Q_q(a) / Q_q(b) of paired samples (``a[i]`` and ``b[i]`` from the same seed), with the percentile interval
    of ``n_boot`` joint resamples of the seeds (outer order statistics: slightly conservative).

    Failed runs are +inf and kept: a finite quantile over a failed one is 0, a failed one over a finite one
    +inf. When both quantiles are +inf there is no ratio: the estimate is NaN, and the interval is NaN when
    any resample meets that (the interval is undefined, not narrow). Coverage is measured by ``calibrate``
    (case "quantile_ratio_ci": paired log-normal seeds with a known quantile ratio)."""
    c = _check_confidence(confidence_level)
    if method not in RATIO_METHODS:
        raise ValueError(f"method must be one of {RATIO_METHODS}, got {method!r}")
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q!r}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot!r}")
    x = np.where(np.isnan(np.asarray(a, dtype=float)), np.inf, np.asarray(a, dtype=float)).ravel()
    y = np.where(np.isnan(np.asarray(b, dtype=float)), np.inf, np.asarray(b, dtype=float)).ravel()
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"a and b must be paired samples of one nonzero length, got {x.size} and {y.size}")
    assumes = "independent seeds, each a pair (a_i, b_i); a percentile bootstrap over seeds"
    point = float(_ratio(_quantile(x, q, 0), _quantile(y, q, 0)))
    idx = np.random.default_rng(np.random.Philox(seed)).integers(0, x.size, size=(n_boot, x.size))
    boot = _ratio(_quantile(x[idx], q, 1), _quantile(y[idx], q, 1))
    if np.isnan(point) or np.isnan(boot).any():
        return Interval(point, ConfidenceInterval(np.nan, np.nan), c, method, assumes)
    half = 0.5 * (1.0 - c)
    lo = float(np.quantile(boot, half, method="lower"))
    hi = float(np.quantile(boot, 1.0 - half, method="higher"))
    return Interval(point, ConfidenceInterval(lo, hi), c, method, assumes)
