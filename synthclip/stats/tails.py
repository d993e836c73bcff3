"""Tail-index estimators of noise samples: Hill, the moment (Dekkers–Einmahl–de Haan) estimator, Mohammadi."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats as _sps

from .._rng import derive_seed
from ._common import DEFAULT_TAIL_K_POWER, _check_confidence, _check_count, _z

# --------------------------------------------------------------------------------------------------
# tail indices
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TailIndex:
    """A tail-index estimate ``alpha`` (``P(|X| > t) ~ t^-alpha``) with a confidence interval.

    ``k`` is the number of upper order statistics used (Hill, moment) or the block size ``K1``
    (Mohammadi); ``n`` the number of samples used; ``method`` the estimator's name.
    ``alpha = inf`` means the estimator sees no heavy tail (e.g. extreme-value index <= 0).
    """

    alpha: float
    ci_low: float
    ci_high: float
    k: int
    n: int
    method: str


def default_tail_k(n: int) -> int:
    """``floor(n ** DEFAULT_TAIL_K_POWER)`` (``sqrt(n)``), kept within ``[1, n - 1]``."""
    return int(min(max(math.floor(n**DEFAULT_TAIL_K_POWER), 1), max(n - 1, 1)))


def _tail_sample(x, name: str = "x") -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.size < 2:
        raise ValueError(f"{name} needs at least 2 samples, got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (a tail-index estimate needs every sample)")
    return np.abs(a)


def _log_spacings(a: np.ndarray, k) -> tuple[np.ndarray, int]:
    """log X_(i) - log X_(k+1), i = 1..k, for the k largest of a (descending order statistics)."""
    n = a.size
    k = default_tail_k(n) if k is None else _check_count(k, "k", 1)
    if k > n - 1:
        raise ValueError(f"k must be <= n - 1 = {n - 1}, got {k}")
    top = np.partition(a, n - k - 1)[n - k - 1 :]  # X_(k+1) first, then the k largest
    threshold = top[0]
    if not threshold > 0:
        raise ValueError(f"x has fewer than k + 1 = {k + 1} nonzero values; lower k")
    return np.log(top[1:]) - np.log(threshold), k


def hill(x, k=None, confidence=0.95, method="gamma") -> TailIndex:
    """Hill estimator of the tail index on the ``k`` largest ``|x|``.

    ``1/alpha_hat = (1/k) sum_{i<=k} log X_(i) - log X_(k+1)`` (descending order statistics;
    Hill 1975, Ann. Statist. 3:1163). Default ``k = floor(sqrt(n))`` (:data:`DEFAULT_TAIL_K_POWER`).
    For alpha-stable data (alpha < 2) Hill targets the stability index, with a second-order bias that
    shrinks as ``k/n -> 0``. Light tails (Gaussian) give a large alpha that grows with n.

    Interval (``method``):

    * ``"gamma"`` (default): above a Pareto threshold the k log-spacings are i.i.d. exponential with
      mean ``1/alpha`` (Renyi), so ``k alpha / alpha_hat`` is exactly Gamma(k, 1) and
      ``[alpha_hat g_lo / k, alpha_hat g_hi / k]`` with ``g`` its ``(1 -+ c)/2`` quantiles is exact per
      side for Pareto tails at any k.
    * ``"normal"``: ``sqrt(k)(alpha_hat - alpha) -> N(0, alpha^2)`` (Hall 1982; de Haan & Ferreira 2006,
      Thm 3.2.5), ``alpha_hat (1 +- z/sqrt(k))``. Gamma(k) is skewed, so it misses below more often than
      stated (measured at k = 100: 0.057 per side at a nominal 0.05, 0.0015 at 0.0005;
      ``python -m synthclip.study calibrate``).
    """
    c = _check_confidence(confidence)
    if method not in ("gamma", "normal"):
        raise ValueError(f"method must be 'gamma' or 'normal', got {method!r}")
    a = _tail_sample(x)
    spacings, k = _log_spacings(a, k)
    gamma = float(spacings.mean())
    alpha = 1.0 / gamma if gamma > 0 else math.inf
    if method == "normal":
        w = _z(c) / math.sqrt(k)
        lo, hi = max(alpha * (1 - w), 0.0), alpha * (1 + w)
    else:
        half = 0.5 * (1.0 - c)
        lo = alpha * float(_sps.gamma.ppf(half, k)) / k
        hi = alpha * float(_sps.gamma.isf(half, k)) / k
    return TailIndex(alpha=alpha, ci_low=lo, ci_high=hi, k=k, n=a.size, method="hill")


@lru_cache(maxsize=32)
def _moment_pivot_draws(k: int, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draws of ``(A, B)`` with ``gamma_hat = gamma A + B`` for exact Pareto data (see moment_estimator)."""
    rng = np.random.Generator(np.random.Philox(seed))
    a = np.empty(draws)
    b = np.empty(draws)
    for lo in range(0, draws, 4096):  # chunks keep memory at 4096 k doubles
        e = rng.standard_exponential((min(4096, draws - lo), k))
        m1 = e.mean(axis=1)
        m2 = np.mean(e * e, axis=1)
        a[lo : lo + m1.size] = m1
        b[lo : lo + m1.size] = 1.0 - 0.5 / (1.0 - m1 * m1 / m2)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


def moment_estimator(x, k=None, confidence=0.95, method="pivot", n_draws=100_000, seed=0) -> TailIndex:
    """Dekkers-Einmahl-de Haan moment estimator of the tail index on the ``k`` largest ``|x|``.

    With ``M_j = (1/k) sum_{i<=k} (log X_(i) - log X_(k+1))^j``, the extreme-value index is
    ``gamma_hat = M_1 + 1 - 1/2 (1 - M_1^2/M_2)^-1`` and ``alpha_hat = 1/gamma_hat``
    (Dekkers, Einmahl & de Haan 1989, Ann. Statist. 17:1833). Unlike Hill it is consistent for every
    extreme-value index; ``gamma_hat <= 0`` (no heavy tail) gives ``alpha = inf``. Default ``k`` as
    for :func:`hill`.

    Interval (``method``):

    * ``"pivot"`` (default): above a Pareto threshold the k log-spacings are ``gamma`` times k i.i.d.
      standard exponentials (Renyi), so ``gamma_hat = gamma A + B`` with ``A = mean(E)`` and
      ``B = 1 - 1/2 (1 - A^2/mean(E^2))^-1`` of a known joint law, free of gamma. The interval is every
      ``gamma > 0`` at which the observed ``gamma_hat`` lies between the ``(1 -+ c)/2`` quantiles of
      ``gamma A + B`` (``max(n_draws, 100 000, 100/(1 - c))`` draws from ``Philox(seed)``, cached per k;
      the ends are quantiles of ``(gamma_hat - B) / A``): exact for
      Pareto tails at any k, mapped to ``alpha = 1/gamma`` (an end at ``gamma = 0`` is ``alpha = inf``).
    * ``"normal"``: ``sqrt(k)(gamma_hat - gamma) -> N(0, 1 + gamma^2)`` (their Theorem 3.1). It
      under-covers at ``k = sqrt(n)``: B's law is skewed (measured on Pareto(1.5), n = 10^4, 90 %:
      0.11 of intervals lie above alpha where 0.05 are nominal; ``python -m synthclip.study calibrate``).
    """
    c = _check_confidence(confidence)
    if method not in ("pivot", "normal"):
        raise ValueError(f"method must be 'pivot' or 'normal', got {method!r}")
    a = _tail_sample(x)
    spacings, k = _log_spacings(a, k)
    m1 = float(spacings.mean())
    m2 = float(np.mean(spacings**2))
    if not m2 > 0:
        raise ValueError("x has ties at the top order statistics; the moment estimator is undefined")
    gamma = m1 + 1.0 - 0.5 / (1.0 - m1 * m1 / m2)

    def inv(g):
        return 1.0 / g if g > 0 else math.inf

    if method == "normal":
        half = _z(c) * math.sqrt(1.0 + gamma * gamma) / math.sqrt(k)
        g_lo, g_hi = gamma - half, gamma + half
    else:
        # >= 100 000 draws: one cached set serves every call, so its Monte Carlo error must be small
        draws = max(_check_count(n_draws, "n_draws", 1), 100_000, math.ceil(100.0 / (1.0 - c)))
        big_a, big_b = _moment_pivot_draws(k, draws, _check_count(seed, "seed", 0))
        # gamma_hat <= observed  <=>  gamma <= W = (observed - B) / A  (A > 0), so P(gamma_hat <= obs | g)
        # = P(W >= g) and the interval is between W's (1 -+ c)/2 quantiles, clipped at 0
        w = (gamma - big_b) / big_a
        tail = 0.5 * (1.0 - c)
        g_lo = max(float(np.quantile(w, tail, method="lower")), 0.0)
        g_hi = max(float(np.quantile(w, 1.0 - tail, method="higher")), 0.0)
    return TailIndex(alpha=inv(gamma), ci_low=inv(g_hi), ci_high=inv(g_lo), k=k, n=a.size, method="moment")


def mohammadi(x, k1=None, confidence=0.95, method="auto", n_boot=2000, seed=0) -> TailIndex:
    """Mohammadi-Mohammadpour-Ogata estimator of the stability index from block sums.

    Split the first ``n = K1 * K2`` samples into ``K2`` consecutive blocks of ``K1``; with block sums
    ``Y_i``, ``1/alpha_hat = (mean_i log|Y_i| - mean_j log|X_j|) / log K1``
    (Mohammadi, Mohammadpour & Ogata 2015, Metrika 78:549; used by Simsekli, Sagun & Gurbuzbalaban
    2019, "A tail-index analysis of stochastic gradient noise in deep neural networks", with
    ``|.|`` the Euclidean norm for vectors). For symmetric alpha-stable data ``Y = K1^(1/alpha) X``
    in law, so ``1/alpha_hat`` is exactly unbiased; for finite-variance data (Gaussian) the CLT gives
    ``alpha -> 2``. The estimator targets the stability index, so it saturates at 2.

    Parameters
    ----------
    x : array_like, shape (n,) or (n, d)
        Signed samples (the block sums need the signs); rows of a 2-D array are vectors.
    k1 : int, optional
        Block size ``K1 >= 2``; default ``floor(sqrt(n))`` (so ``K2 ~ sqrt(n)`` blocks).
    confidence : float in (0, 1)

    Interval: ``1/alpha_hat = mean_i Z_i / log K1`` with
    ``Z_i = log|Y_i| - mean_{j in block i} log|X_j|``, and the ``Z_i`` are i.i.d. over the disjoint
    blocks with finite variance (logs of stable variables have all moments), so the studentised mean
    of the ``Z_i`` is asymptotically pivotal. ``method="bootstrap-t"`` (default) takes its quantiles
    from ``max(n_boot, 20/(1 - c))`` resamples of the blocks (``Philox(seed)``; second-order accurate,
    Hall 1992); ``method="t"`` from Student's t with ``K2 - 1`` degrees of freedom, which ignores Z's
    skewness and misses below more often than stated (measured at n = 10^4, K2 = 100: 0.060 per side at
    a nominal 0.05; ``python -m synthclip.study calibrate``). Mapped to ``alpha`` (an end ``<= 0``
    becomes ``inf``). Resampling the Z's is not the naive bootstrap of the data, which is inconsistent
    for sums of infinite-variance variables (Athreya 1987). ``TailIndex.k`` is ``K1``;
    ``TailIndex.n = K1 * K2``.

    On vectors the block bootstrap under-covers: Z of a vector is strongly right-skewed and ~31 blocks do
    not show it (intervals lie wholly above alpha up to five times as often as stated; the measured rates
    are on docs/studies/calibrate.md). ``method="parametric"`` takes the studentised mean's law from
    the model the estimator is exact for, on the data's own shape: :func:`_parametric_t_quantiles`
    simulates blocks of ``K1`` vectors of independent symmetric alpha-stable coordinates
    (``synthclip.noise.sample``, the engine's sampler) with the data's coordinate scales (median
    ``|x_j|``), at the point estimate and then once more at each end of the interval (one step of test
    inversion: each end is set by the law at that end). Its coverage per side is measured by
    ``python -m synthclip.study calibrate --procedures mohammadi`` (docs/studies/calibrate.md).
    ``method="auto"`` (default): ``"parametric"`` for vectors (2-D ``x``), ``"bootstrap-t"`` for scalars.
    """
    c = _check_confidence(confidence)
    if method not in ("auto", "bootstrap-t", "t", "parametric"):
        raise ValueError(f"method must be 'auto', 'bootstrap-t', 't' or 'parametric', got {method!r}")
    a = np.asarray(x, dtype=np.float64)
    if a.ndim not in (1, 2):
        raise ValueError(f"x must be 1-D or 2-D (n, d), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("x must be finite (a tail-index estimate needs every sample)")
    n_all = a.shape[0]
    k1 = default_tail_k(n_all) if k1 is None else _check_count(k1, "k1", 2)
    if k1 < 2 or n_all // k1 < 2:
        raise ValueError(f"need k1 >= 2 and at least 2 blocks: n = {n_all}, k1 = {k1}")
    k2 = n_all // k1
    norm_x, norm_y = _block_norms(a, k1)
    if np.any(norm_x == 0) or np.any(norm_y == 0):
        raise ValueError("x (or a block sum) has exact zeros; the estimator takes logarithms")
    z = np.log(norm_y) - np.log(norm_x).mean(axis=1)
    inv_alpha = float(z.mean()) / math.log(k1)
    se = float(z.std(ddof=1)) / math.sqrt(k2)
    if method == "auto":
        method = "parametric" if a.ndim == 2 else "bootstrap-t"
    if method == "parametric":
        scales = _coordinate_scales(a[: k1 * k2])
        g_lo, g_hi = _parametric_interval(
            inv_alpha, se / math.log(k1), scales, k1, k2, c, n_boot, _check_count(seed, "seed", 0)
        )
        return TailIndex(
            alpha=_inv(inv_alpha), ci_low=_inv(g_hi), ci_high=_inv(g_lo), k=k1, n=k1 * k2, method="mohammadi"
        )
    if method == "t":
        t_lo = -float(_sps.t.ppf(0.5 + 0.5 * c, k2 - 1))
        t_hi = -t_lo
    else:
        # bootstrap-t over the i.i.d. blocks: the studentised mean's own quantiles carry Z's skewness
        rng = np.random.Generator(np.random.Philox(_check_count(seed, "seed", 0)))
        b = max(_check_count(n_boot, "n_boot", 1), math.ceil(20.0 / (1.0 - c)))
        t_star = np.empty(b)
        for lo_ in range(0, b, 1024):  # chunks keep memory at 1024 K2 doubles
            zs = z[rng.integers(0, k2, size=(min(1024, b - lo_), k2))]
            with np.errstate(divide="ignore", invalid="ignore"):
                t_star[lo_ : lo_ + zs.shape[0]] = (zs.mean(axis=1) - z.mean()) / (
                    zs.std(axis=1, ddof=1) / math.sqrt(k2)
                )
        t_star = np.where(np.isnan(t_star), 0.0, t_star)  # a resample of one repeated block: no spread
        half = 0.5 * (1.0 - c)
        t_lo = float(np.quantile(t_star, half, method="lower"))
        t_hi = float(np.quantile(t_star, 1.0 - half, method="higher"))
    # 1/alpha lies in [mean - t_hi se, mean - t_lo se] / log K1
    g_lo = inv_alpha - t_hi * se / math.log(k1)
    g_hi = inv_alpha - t_lo * se / math.log(k1)
    return TailIndex(alpha=_inv(inv_alpha), ci_low=_inv(g_hi), ci_high=_inv(g_lo), k=k1, n=k1 * k2, method="mohammadi")


def _inv(g: float) -> float:
    """alpha = 1/g, with g <= 0 (no heavy tail seen) as alpha = inf."""
    return 1.0 / g if g > 0 else math.inf


#: The parametric pivot's model: symmetric alpha-stable coordinates with alpha in [MODEL_ALPHA_MIN, 2]
#: (the engine's sampler needs alpha > 1; an estimate outside is simulated at the nearest end, so the
#: interval's calibration is measured, and claimed, for alpha in that range only).
MODEL_ALPHA_MIN = 1.05
#: stable draws per simulated pool of blocks (three pools per interval): the pool holds
#: max(8 K2, min(POOL_MAX_BLOCKS, POOL_DRAWS / (K1 d))) blocks: at least eight estimators' worth
POOL_DRAWS = 1_000_000
POOL_MAX_BLOCKS = 1000


def _block_norms(x: np.ndarray, k1: int) -> tuple[np.ndarray, np.ndarray]:
    """(|X_ij|, |Y_i|): the norms of the rows of the K2 = n // k1 consecutive blocks of k1 rows of x (1-D or
    (n, d)), and of the blocks' sums Y_i (Euclidean norms for vectors)."""
    k2 = x.shape[0] // k1
    blocks = x[: k1 * k2].reshape((k2, k1) + x.shape[1:])
    sums = blocks.sum(axis=1)
    if x.ndim == 1:
        return np.abs(blocks), np.abs(sums)
    return np.linalg.norm(blocks, axis=2), np.linalg.norm(sums, axis=1)


def _block_z(x: np.ndarray, k1: int) -> np.ndarray:
    """Z_i = log|Y_i| - mean_j log|X_ij| (the estimator's block statistic) of simulated data."""
    norm_x, norm_y = _block_norms(x, k1)
    with np.errstate(divide="ignore"):
        return np.log(norm_y) - np.log(norm_x).mean(axis=1)


def _coordinate_scales(x: np.ndarray) -> np.ndarray:
    """Each coordinate's scale as the model draws it: median |x_j| (for stable coordinates a fixed multiple
    of the stable scale, and the estimator is scale-free); the mean |x_j| where the median is 0 (sparse
    coordinates); coordinates that are 0 in every draw are left out, as they add nothing to any norm."""
    if x.ndim == 1:
        return np.ones(1)
    ax = np.abs(x)
    scale = np.median(ax, axis=0)
    scale = np.where(scale > 0, scale, ax.mean(axis=0))
    return scale[scale > 0]


def _stable_pool(alpha: float, scales: np.ndarray, k1: int, blocks: int, seed: int) -> np.ndarray:
    """Z of ``blocks`` simulated blocks of k1 vectors with independent symmetric alpha-stable coordinates of
    the given scales (the engine's sampler), drawn in chunks of at most ~4·10^6 values."""
    from .. import noise  # numba: imported when a parametric interval is asked for, not with the statistics

    d = scales.size
    per = max(1, 4_000_000 // (k1 * d))
    out = []
    for j, lo in enumerate(range(0, blocks, per)):
        count = min(per, blocks - lo)
        draw = noise.sample("stable", alpha, (count * k1, d), seed=derive_seed(seed, "mohammadi-pool", j))
        out.append(_block_z(draw[:, 0] if d == 1 else draw * scales, k1))
    return np.concatenate(out)


def _parametric_t_quantiles(alpha: float, scales, k1: int, k2: int, probs, n_boot: int, seed: int) -> np.ndarray:
    """Quantiles ``probs`` of the studentised mean of K2 block statistics Z under the stable model at
    ``alpha`` (clipped to [MODEL_ALPHA_MIN, 2]): a pool of simulated blocks, resampled K2 at a time
    (``n_boot`` times, ``Philox(seed)``), each mean studentised by its own standard deviation and centred
    at the pool's mean."""
    alpha = min(max(alpha, MODEL_ALPHA_MIN), 2.0)
    n_blocks = max(8 * k2, min(POOL_MAX_BLOCKS, POOL_DRAWS // (k1 * scales.size)))
    z = _stable_pool(alpha, scales, k1, n_blocks, seed)
    z = z[np.isfinite(z)]  # a block sum of exactly 0 has probability 0 under the model
    mu = float(z.mean())
    rng = np.random.Generator(np.random.Philox(seed))
    t = np.empty(n_boot)
    for lo in range(0, n_boot, 1024):  # chunks keep memory at 1024 K2 doubles
        zs = z[rng.integers(0, z.size, size=(min(1024, n_boot - lo), k2))]
        with np.errstate(divide="ignore", invalid="ignore"):
            t[lo : lo + zs.shape[0]] = (zs.mean(axis=1) - mu) / (zs.std(axis=1, ddof=1) / math.sqrt(k2))
    t = np.where(np.isnan(t), 0.0, t)
    return np.array([np.quantile(t, p, method="lower" if p < 0.5 else "higher") for p in probs])


def _parametric_interval(
    g: float, se: float, scales, k1: int, k2: int, c: float, n_boot: int, seed: int
) -> tuple[float, float]:
    """The interval [g_lo, g_hi] of 1/alpha from the parametric pivot (see :func:`mohammadi`).

    The studentised mean T = (g_hat - g)/se has the law simulated at the estimate, which gives a first
    interval; then the end g_hi (heavy side) is recomputed with T's lower quantile at alpha = 1/g_hi and g_lo
    with the upper quantile at 1/g_lo, as a test of each end would: T's law depends on alpha (Z is more
    skewed for smaller alpha), and with few blocks the estimate is far from the ends."""
    half = 0.5 * (1.0 - c)
    b = max(_check_count(n_boot, "n_boot", 1), math.ceil(20.0 / (1.0 - c)))
    t_lo, t_hi = _parametric_t_quantiles(
        _inv(g), scales, k1, k2, (half, 1.0 - half), b, derive_seed(seed, "mohammadi-parametric", "estimate")
    )
    g_lo, g_hi = g - t_hi * se, g - t_lo * se
    t_lo = _parametric_t_quantiles(
        _inv(g_hi), scales, k1, k2, (half,), b, derive_seed(seed, "mohammadi-parametric", "heavy end")
    )[0]
    t_hi = _parametric_t_quantiles(
        _inv(g_lo), scales, k1, k2, (1.0 - half,), b, derive_seed(seed, "mohammadi-parametric", "light end")
    )[0]
    return g - t_hi * se, g - t_lo * se
