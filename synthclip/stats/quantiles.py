"""Quantiles with order-statistic intervals, and failure probabilities with binomial intervals."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats as _sps

from ._common import _as_errors, _check_confidence, _check_count, _check_q, _upper_rank
from .intervals import _binomial_ends

# --------------------------------------------------------------------------------------------------
# quantiles and failure probabilities
# --------------------------------------------------------------------------------------------------


def quantile_ranks(n: int, q: float, confidence: float = 0.95) -> tuple[int, int, int]:
    """Ranks ``(r, l, u)`` (1-based) used by :func:`quantile_ci` for a sample of size ``n``.

    ``r = ceil(q n)`` is the estimate. With ``B ~ Binomial(n, q)`` (the number of sample points at or
    below the true quantile ``xi_q``), ``P(X_(l) > xi_q) <= P(B < l)`` and
    ``P(X_(u) < xi_q) <= P(B >= u)``; ``l`` is the largest rank with ``P(B < l) <= (1-c)/2`` and ``u``
    the smallest with ``P(B >= u) <= (1-c)/2``, so each tail holds at most half the miss probability
    and ``P(X_(l) <= xi_q <= X_(u)) >= P(l <= B <= u-1) >= c``. The inequalities are equalities for
    continuous laws and stay valid (conservative) for laws with atoms, e.g. an atom at +inf from
    failed runs. ``l = 0`` means the lower end is ``-inf``; ``u = n + 1`` means the upper end is
    ``+inf`` (the sample is too small to bound the quantile from above at this confidence).

    Reference: David & Nagaraja, *Order Statistics* (3rd ed., 2003), section 7.1.
    """
    return _quantile_ranks(_check_count(n, "n", 1), _check_q(q), _check_confidence(confidence))


@lru_cache(maxsize=256)
def _quantile_ranks(n: int, q: float, c: float) -> tuple[int, int, int]:
    """quantile_ranks after validation; cached, since a study asks for the same (n, q, c) at every column."""
    half = 0.5 * (1.0 - c)
    j = np.arange(n + 1)
    # relative slack 1e-12 so that a tail exactly equal to (1-c)/2 counts as inside, as intended
    cdf = _sps.binom.cdf(j, n, q)  # P(B <= j)
    l = int(np.searchsorted(cdf, half * (1 + 1e-12), side="right"))  # #{j: P(B <= j) <= half}
    sf = _sps.binom.sf(j, n, q)  # P(B > j) = P(B >= j + 1), decreasing
    ok = np.nonzero(sf <= half * (1 + 1e-12))[0]
    u = int(ok[0]) + 1 if ok.size else n + 1
    return _upper_rank(q, n), l, min(u, n + 1)


def quantile_ci(values, q, *, confidence=0.95):
    """The ``q``-quantile of each column and a distribution-free confidence interval.

    Parameters
    ----------
    values : array_like, shape (n_traj, ...)
        Errors; axis 0 indexes independent trajectories. Non-finite entries (NaN, +-inf) are failed
        runs and count as ``+inf``.
    q : float in (0, 1)
    confidence : float in (0, 1)

    Returns
    -------
    (estimate, lo, hi), each of shape ``values.shape[1:]`` (numpy float scalars for 1-D input).
    ``estimate`` is the order statistic ``X_(ceil(q n))`` (1-based; numpy's ``"inverted_cdf"``
    quantile). ``[lo, hi] = [X_(l), X_(u)]`` is the order-statistic interval from the Binomial(n, q)
    law, as equal-tailed as possible (each tail <= (1-c)/2, see :func:`quantile_ranks`), with
    coverage >= ``confidence`` for any distribution. When the needed upper rank exceeds ``n``,
    ``hi = +inf``: too few runs to bound the quantile from above (e.g. ``q = 0.99`` with
    ``n = 100``). Likewise ``lo = -inf`` when the needed lower rank is below 1.
    """
    q = _check_q(q)
    c = _check_confidence(confidence)
    v = _as_errors(values)
    n = v.shape[0]
    r, l, u = quantile_ranks(n, q, c)
    kth = sorted({i - 1 for i in (r, l, u) if 1 <= i <= n})
    part = np.partition(v, kth, axis=0)
    shape = v.shape[1:]
    est = part[r - 1]
    lo = part[l - 1] if l >= 1 else np.full(shape, -np.inf)[()]
    hi = part[u - 1] if u <= n else np.full(shape, np.inf)[()]
    return est, lo, hi


def failure_probability(values, eps, *, confidence=0.95, method="clopper-pearson"):
    """Fraction of runs whose error exceeds ``eps``, with a binomial confidence interval.

    Parameters
    ----------
    values : array_like, shape (n_traj, ...)
        Errors along axis 0; non-finite entries are failed runs and always count as ``> eps``.
    eps : float or array broadcastable to ``values.shape[1:]``
    confidence : float in (0, 1)
    method : ``"clopper-pearson"`` (default) or ``"wilson"``
        Clopper-Pearson (1934) "exact" interval: coverage >= confidence on each side for every p
        (conservative). Wilson score interval (Wilson 1927; Newcombe 1998, method 3): level on average
        only; ``calibrate`` measures one side under-covering when n·p is small (n = 200, p = 0.01: 0.055
        against 0.025 at 95 %), so no study uses it. Both match ``scipy.stats.binomtest(k, n).proportion_ci``.

    Returns
    -------
    (p, lo, hi), each of shape ``values.shape[1:]`` (numpy scalars for 1-D input).
    """
    c = _check_confidence(confidence)
    if method not in ("wilson", "clopper-pearson"):
        raise ValueError(f"method must be 'wilson' or 'clopper-pearson', got {method!r}")
    v = _as_errors(values)
    e = np.asarray(eps, dtype=np.float64)
    if np.any(np.isnan(e)):
        raise ValueError(f"eps must not be NaN, got {eps!r}")
    n = v.shape[0]
    # a failure (+inf) exceeds every eps, eps = +inf included, where inf > inf is False
    k = np.sum((v > e) | np.isinf(v), axis=0).astype(np.float64)
    lo, hi = _binomial_ends(k, n, c, method)
    return (k / n)[()], lo, hi


def hitting_times(checkpoints: np.ndarray, values: np.ndarray, eps: float) -> np.ndarray:
    """First checkpoint with value ≤ eps per trajectory (row); +inf where none (never reached, or diverged)."""
    with np.errstate(invalid="ignore"):
        hit = np.isfinite(values) & (values <= eps)
    first = np.argmax(hit, axis=1)
    return np.where(hit.any(axis=1), checkpoints[first].astype(float), np.inf)
