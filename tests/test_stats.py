"""Tests of synthclip.stats.

Every statistical check states its false-failure probability (over the choice of seed) and takes its
tolerance from the sample size; every positive check has a negative control that must be rejected.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from synthclip import stats as st

Z_1E4 = sps.norm.isf(0.5e-4)  # two-sided normal quantile for false-failure 1e-4


def _binomial_floor(p: float, reps: int, false_failure: float = 1e-4) -> float:
    """Smallest empirical rate that a Binomial(reps, p) count reaches with prob >= 1 - false_failure."""
    return sps.binom.ppf(false_failure, reps, p) / reps


# ------------------------------------------------------------------------------------------------
# quantile_ci
# ------------------------------------------------------------------------------------------------


def test_quantile_estimate_is_inverted_cdf_order_statistic():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 10, 37):
        x = rng.normal(size=n)
        for q in np.linspace(0.01, 0.99, 99):
            est, _, _ = st.quantile_ci(x, q)
            assert est == np.sort(x)[math.ceil(round(q * n, 9)) - 1]
            if abs(q * n - round(q * n)) > 1e-9:  # numpy takes q*n literally at integers
                assert est == np.quantile(x, q, method="inverted_cdf")
    # q*n one ulp above an integer (0.1*3*10, linspace's 0.7000000000000001) still gives rank q*n
    assert st.quantile_ci(np.arange(1.0, 11.0), 0.1 * 3)[0] == 3.0
    assert st.quantile_ci(np.arange(1.0, 11.0), 0.7000000000000001)[0] == 7.0


def test_quantile_ci_exact_ranks_tiny():
    x = np.array([9.0, 2.0, 7.0, 1.0, 5.0, 3.0, 10.0, 4.0, 8.0, 6.0])
    # textbook: n = 10, median, 95%: (X_(2), X_(9)), coverage 1 - 2 P(B <= 1) = 0.9785
    est, lo, hi = st.quantile_ci(x, 0.5, confidence=0.95)
    assert (est, lo, hi) == (5.0, 2.0, 9.0)
    assert st.quantile_ranks(10, 0.5, 0.95) == (5, 2, 9)
    # n = 5 median: P(B = 0) = 1/32 > 0.025, so no finite lower rank works
    assert st.quantile_ci([3.0, 1.0, 2.0, 5.0, 4.0], 0.5) == (3.0, -np.inf, np.inf)
    # q = 0.99 with n = 20: the upper rank is beyond n -> hi = +inf
    est, lo, hi = st.quantile_ci(np.arange(20.0), 0.99)
    assert est == 19.0 and hi == np.inf and np.isfinite(lo)


def test_quantile_ranks_are_maximal_and_cover():
    # deterministic: each tail <= (1-c)/2 and neither end can move inward without breaking that
    for n in (3, 10, 50, 200):
        for q in (0.1, 0.5, 0.9, 0.99):
            for c in (0.8, 0.95):
                half = (1 - c) / 2
                _, l, u = st.quantile_ranks(n, q, c)
                lower_tail = sps.binom.cdf(l - 1, n, q)  # P(B < l)
                upper_tail = sps.binom.sf(u - 1, n, q)  # P(B >= u)
                assert lower_tail <= half * (1 + 1e-9) and upper_tail <= half * (1 + 1e-9)
                assert sps.binom.cdf(l, n, q) > half  # l + 1 would break the lower tail
                if u <= n:
                    assert sps.binom.sf(u - 2, n, q) > half  # u - 1 would break the upper tail
                assert 1 - lower_tail - upper_tail >= c - 1e-12


@pytest.mark.parametrize("q, c", [(0.5, 0.95), (0.9, 0.9), (0.9, 0.95)])
def test_quantile_ci_coverage_continuous(q, c):
    n, reps = 25, 20000
    rng = np.random.default_rng(11)
    x = rng.exponential(size=(n, reps))  # each column is one small sample
    truth = -math.log1p(-q)
    _, lo, hi = st.quantile_ci(x, q, confidence=c)
    hits = int(np.sum((lo <= truth) & (truth <= hi)))
    _, l, u = st.quantile_ranks(n, q, c)
    exact = sps.binom.cdf(u - 1, n, q) - sps.binom.cdf(l - 1, n, q)  # P(l <= B <= u-1)
    assert exact >= c
    # two-sided binomial band around the exact coverage: false-failure 1e-4 in total
    assert sps.binom.ppf(0.5e-4, reps, exact) <= hits <= sps.binom.isf(0.5e-4, reps, exact)
    # and hence >= nominal minus a binomial tolerance (false-failure 1e-4)
    assert hits / reps >= _binomial_floor(c, reps)
    # negative control: the 50% interval must fail the same coverage criterion (its coverage
    # is ~0.5-0.6, dozens of binomial standard deviations below c; false-failure < 1e-100)
    _, lo50, hi50 = st.quantile_ci(x, q, confidence=0.5)
    assert np.mean((lo50 <= truth) & (truth <= hi50)) < _binomial_floor(c, reps)


def test_quantile_ci_coverage_with_atoms_and_failures():
    # discrete law with 15% failures (+inf, NaN): the interval stays conservative (>= c)
    n, reps, q, c = 30, 20000, 0.8, 0.9
    rng = np.random.default_rng(12)
    x = rng.poisson(3.0, size=(n, reps)).astype(float)
    fail = rng.random((n, reps)) < 0.15
    x[fail] = np.where(rng.random(fail.sum()) < 0.5, np.nan, np.inf)
    # true q-quantile of the law with failures = +inf: F(t) = 0.85 * Poisson_cdf(t)
    t = 0
    while 0.85 * sps.poisson.cdf(t, 3.0) < q:
        t += 1
    _, lo, hi = st.quantile_ci(x, q, confidence=c)
    covered = np.mean((lo <= t) & (t <= hi))
    assert covered >= _binomial_floor(c, reps)  # false-failure 1e-4


def test_quantile_ci_failures_are_plus_inf_and_shapes():
    x = np.array([1.0, np.nan, 2.0, np.inf, 3.0, -np.inf])  # 3 failures
    assert st.quantile_ci(x, 0.5)[0] == 3.0  # rank 3 of [1, 2, 3, inf, inf, inf]
    assert st.quantile_ci(x, 0.51)[0] == np.inf  # rank 4
    v = np.arange(60.0).reshape(20, 3)
    est, lo, hi = st.quantile_ci(v, 0.5)
    assert est.shape == lo.shape == hi.shape == (3,)
    np.testing.assert_array_equal(est, np.quantile(v, 0.5, axis=0, method="inverted_cdf"))
    assert np.all(lo <= est) and np.all(est <= hi)
    assert np.ndim(st.quantile_ci(np.arange(5.0), 0.5)[0]) == 0


# ------------------------------------------------------------------------------------------------
# failure_probability
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k, n", [(0, 10), (1, 10), (3, 20), (10, 10), (37, 100), (500, 1000), (2, 5000)])
@pytest.mark.parametrize("method, scipy_method", [("wilson", "wilson"), ("clopper-pearson", "exact")])
def test_failure_probability_matches_scipy(k, n, method, scipy_method):
    values = np.full(n, 0.5)
    values[:k] = 2.0
    values[: k // 3] = np.inf  # failures count as > eps
    values[k // 3 : k // 2] = np.nan
    for c in (0.9, 0.95, 0.999):
        p, lo, hi = st.failure_probability(values, 1.0, confidence=c, method=method)
        ref = sps.binomtest(k, n).proportion_ci(confidence_level=c, method=scipy_method)
        assert p == k / n
        # scipy's exact interval comes from a root finder: compare to its tolerance
        np.testing.assert_allclose([lo, hi], [ref.low, ref.high], rtol=1e-7, atol=1e-12)


def test_failure_probability_columns():
    v = np.array([[0.1, 5.0], [2.0, np.nan], [0.2, 0.3], [3.0, 0.4]])
    p, lo, hi = st.failure_probability(v, 1.0)
    np.testing.assert_array_equal(p, [0.5, 0.5])
    assert p.shape == lo.shape == hi.shape == (2,)
    p, _, _ = st.failure_probability(v, np.array([0.15, 4.0]))
    np.testing.assert_array_equal(p, [0.75, 0.5])


def test_failure_probability_eps_inf_counts_failures():
    # a failure (+inf, -inf or NaN) exceeds every threshold, +inf included; finite values never do
    v = np.array([1.0, np.inf, np.nan, -np.inf, 1e308, 2.0])
    for method in ("wilson", "clopper-pearson"):
        p, lo, hi = st.failure_probability(v, np.inf, method=method)
        assert p == 3 / 6 and lo > 0
    cols = np.array([[np.inf, 1.0], [0.5, 2.0]])
    np.testing.assert_array_equal(st.failure_probability(cols, np.inf)[0], [0.5, 0.0])
    # negative control: a finite eps above every finite value gives the same count
    assert st.failure_probability(v, 1.7e308)[0] == 3 / 6


# ------------------------------------------------------------------------------------------------
# fit_rate
# ------------------------------------------------------------------------------------------------

K = np.logspace(1, 4, 19)  # six per decade; default window [1e4/10, 1e4] -> the last 7 checkpoints
S_TRUE = -0.75


def _power_law(rng, n, s=S_TRUE):
    # c k^s times multiplicative k-independent noise: i.i.d. per entry plus a per-run factor,
    # so columns are correlated as in real trajectories
    noise = np.exp(rng.normal(size=(n, K.size)) + 0.5 * rng.normal(size=(n, 1)))
    return 3.0 * K**s * noise


@pytest.mark.parametrize("q", [0.5, 0.9])
def test_fit_rate_recovers_power_law_and_rejects_wrong_slope(q):
    v = _power_law(np.random.default_rng(21), 1000)
    fit = st.fit_rate(K, v, q, n_boot=20000, confidence=0.999, seed=3)
    assert fit.ok and fit.reason == ""
    assert (fit.kmin, fit.kmax, fit.n_points, fit.n_traj) == (1000.0, 1e4, 7, 1000)
    # 99.9% percentile-bootstrap interval with 20/(1 - c) = 20 000 replicates (docs/theory.md): false-failure
    # ~1e-3; its 90 % coverage is measured in tests/test_calibration.py
    assert fit.ci_low <= S_TRUE <= fit.ci_high
    assert st.exponent_side(fit.ci_low, fit.ci_high, S_TRUE, 0.0) == "match"
    # negative control: slope s + 0.2 is ~10 interval half-widths away (half-width ~0.05)
    assert not fit.ci_low <= S_TRUE + 0.2 <= fit.ci_high
    assert st.exponent_side(fit.ci_low, fit.ci_high, S_TRUE + 0.2, 0.0) == "faster"  # decays faster than -0.55
    assert st.exponent_side(fit.ci_low, fit.ci_high, S_TRUE - 0.2, 0.0) == "slower"


def test_fit_rate_bootstrap_coverage():
    # 400 independent small experiments; nominal 90% interval. The percentile interval with outer
    # order statistics measured ~0.93-0.95 here. Check coverage >= 0.9 minus the binomial
    # tolerance (false-failure 1e-4), and that 50% intervals fail the same check (negative control:
    # their coverage ~0.5-0.6 sits > 10 sd below the floor, false-failure < 1e-20).
    reps, n = 400, 200
    hits90 = hits50 = 0
    for rep in range(reps):
        v = _power_law(np.random.default_rng(10_000 + rep), n)
        f90 = st.fit_rate(K, v, 0.5, n_boot=200, confidence=0.9, seed=rep)
        f50 = st.fit_rate(K, v, 0.5, n_boot=200, confidence=0.5, seed=rep)
        hits90 += f90.ci_low <= S_TRUE <= f90.ci_high
        hits50 += f50.ci_low <= S_TRUE <= f50.ci_high
    floor = _binomial_floor(0.9, reps)
    assert hits90 / reps >= floor
    assert hits50 / reps < floor


def test_fit_rate_bootstrap_is_reproducible_and_matches_brute_force():
    v = _power_law(np.random.default_rng(22), 300)
    a = st.fit_rate(K, v, 0.9, n_boot=300, seed=7)
    assert a == st.fit_rate(K, v, 0.9, n_boot=300, seed=7)
    assert a != st.fit_rate(K, v, 0.9, n_boot=300, seed=8)
    assert a.slope == st.fit_rate(K, v, 0.9, n_boot=300, seed=8).slope
    # brute force with the documented stream: each replicate draws n rows from Philox(seed)
    rng = np.random.Generator(np.random.Philox(7))
    sel = K >= 1000 * (1 - 1e-12)  # the default window: the last decade
    logk = np.log(K[sel])
    slopes = []
    for _ in range(300):
        rows = v[rng.integers(0, v.shape[0], size=v.shape[0])][:, sel]
        qb = np.quantile(rows, 0.9, axis=0, method="inverted_cdf")
        slopes.append(np.polyfit(logk, np.log(qb), 1)[0])
    assert a.ci_low == pytest.approx(np.quantile(slopes, 0.025, method="lower"), abs=1e-12)
    assert a.ci_high == pytest.approx(np.quantile(slopes, 0.975, method="higher"), abs=1e-12)
    assert a.slope == pytest.approx(
        np.polyfit(logk, np.log(np.quantile(v[:, sel], 0.9, axis=0, method="inverted_cdf")), 1)[0]
    )


def test_fit_rate_mean_and_kmin_kmax():
    v = _power_law(np.random.default_rng(23), 2000)
    fit = st.fit_rate(K, v, "mean", n_boot=200, kmin=10, kmax=1000)
    assert fit.q == "mean" and (fit.kmin, fit.n_points) == (10.0, 13)
    assert fit.kmax == pytest.approx(1000.0)
    # lognormal noise: the mean is finite, slope within a generous 99.99%-style band
    assert abs(fit.slope - S_TRUE) < 0.1 and fit.ci_low < fit.ci_high
    no_ci = st.fit_rate(K, v, 0.5, n_boot=0)
    assert np.isnan(no_ci.ci_low) and np.isnan(no_ci.ci_high) and np.isfinite(no_ci.slope)


def test_fit_rate_failures_counted_not_dropped():
    v = _power_law(np.random.default_rng(24), 400)
    v[:40, -1] = np.nan  # 10% failures at the last checkpoint
    ok = st.fit_rate(K, v, 0.5, n_boot=100)  # the median is unaffected
    assert ok.ok
    bad = st.fit_rate(K, v, 0.95, n_boot=100)
    assert np.isnan(bad.slope) and "+inf" in bad.reason and "k=10000" in bad.reason
    # q = 0.88 (rank 352, failures at ranks 361-400): the quantile is finite, but a resample with
    # >= 49 failures (prob ~7.5%, ~30 of 400) has an infinite one; those are counted at both ends,
    # so the upper end is +inf once more than 2.5% (10) are (fewer: ~4 sd, false-failure ~1e-4)
    edge = st.fit_rate(K, v, 0.88, n_boot=400)
    assert edge.ok and "bootstrap replicates" in edge.reason and edge.ci_high == np.inf
    zeros = v.copy()
    zeros[:, -1] = 0.0
    assert "<= 0" in st.fit_rate(K, zeros, 0.5, n_boot=10).reason
    inf_mean = st.fit_rate(K, v, "mean", n_boot=10)
    assert np.isnan(inf_mean.slope) and "mean" in inf_mean.reason


def test_fit_slope():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    assert st.fit_slope(x, 2.0 - 0.5 * x) == pytest.approx((-0.5, 2.0))
    with pytest.raises(ValueError):
        st.fit_slope([1.0, 1.0], [1.0, 2.0])


# ------------------------------------------------------------------------------------------------
# confidence studies (delta)
# ------------------------------------------------------------------------------------------------

DELTAS = np.array([0.1, 0.03, 0.01, 0.003, 0.001])


def test_delta_fit_exact_models():
    poly = st.delta_fit(DELTAS, 2.0 * (1 / DELTAS) ** 0.5, "poly")
    assert poly.slope == pytest.approx(0.5) and poly.intercept == pytest.approx(math.log(2.0))
    assert poly.r2 == pytest.approx(1.0)
    polylog = st.delta_fit(DELTAS, np.log(1 / DELTAS) ** 2, "polylog")
    assert polylog.slope == pytest.approx(2.0) and polylog.r2 == pytest.approx(1.0)
    assert st.delta_fit(DELTAS, np.log(1 / DELTAS) ** 2, "poly").r2 < 0.999
    assert np.isnan(st.delta_fit(DELTAS, [1, 2, 3, 4, np.inf], "poly").slope)
    with pytest.raises(ValueError, match="model"):
        st.delta_fit(DELTAS, np.ones(5), "linear")


def test_delta_fit_bootstrap_pareto_vs_exponential():
    n = 50_000
    rng = np.random.default_rng(31)
    pareto = rng.random(n) ** (-1 / 2.0)  # (1-delta)-quantile = delta^(-1/2): poly slope 1/2
    expo = rng.exponential(size=n)  # (1-delta)-quantile = log(1/delta): polylog slope 1
    fp = st.delta_fit_bootstrap(pareto, DELTAS, n_boot=2000, confidence=0.9999, seed=1)
    fe = st.delta_fit_bootstrap(expo, DELTAS, n_boot=2000, confidence=0.9999, seed=1)
    assert set(fp) == {"poly", "polylog"}
    # 99.99% order-statistic pivot intervals (10^6 draws, exact per side for Pareto/polylog quantiles):
    # false-failure 1e-4 each
    assert fp["poly"].ci_low <= 0.5 <= fp["poly"].ci_high
    assert fe["polylog"].ci_low <= 1.0 <= fe["polylog"].ci_high
    # negative controls: the wrong model's slope is far from the right model's exponent and fits
    # worse (structural differences, many interval widths apart)
    assert not fp["polylog"].ci_low <= 1.0 <= fp["polylog"].ci_high
    assert not fe["poly"].ci_low <= 0.5 <= fe["poly"].ci_high
    assert fp["poly"].r2 > fp["polylog"].r2 and fe["polylog"].r2 > fe["poly"].r2
    one = st.delta_fit_bootstrap(pareto, DELTAS, "poly", n_boot=2000, confidence=0.9999, seed=1)
    assert list(one) == ["poly"] and one["poly"] == fp["poly"]
    with pytest.raises(ValueError, match="deltas"):
        st.delta_fit_bootstrap(pareto[:500], DELTAS, n_boot=10)  # delta = 0.001 < 1/n
    with pytest.raises(ValueError, match="method"):
        st.delta_fit_bootstrap(pareto, DELTAS, method="bca")


def test_delta_pivot_is_exact_for_pareto_quantiles():
    # For Pareto data log X_(r) = (1/a) log(1/deltã) exactly, so slope_hat * a is the pivot's ratio:
    # with the same uniforms the pivot's draws reproduce the estimator's law. Check the 90 % interval's
    # two-sided coverage over 2000 samples: misses ~ Binomial(2000, 0.1) (the other shape's quantiles
    # are inside the Pareto ones here, so the interval is the Pareto pivot's), band at 1e-4 each side.
    reps, n, a = 2000, 2000, 1.5
    deltas = np.geomspace(0.1, 5e-3, 6)
    miss = 0
    for r in range(reps):
        x = np.random.Generator(np.random.Philox(900 + r)).random(n) ** (-1 / a)
        f = st.delta_fit_bootstrap(x, deltas, "poly", n_boot=2000, confidence=0.9, seed=1)["poly"]
        miss += not f.ci_low <= 1 / a <= f.ci_high
    lo, hi = sps.binom.ppf(1e-4, reps, 0.1), sps.binom.isf(1e-4, reps, 0.1)
    assert lo <= miss <= hi, miss
    # negative control: the percentile bootstrap's 50 % interval on the same data is far outside
    x = np.random.Generator(np.random.Philox(5)).random(n) ** (-1 / a)
    pivot = st.delta_fit_bootstrap(x, deltas, "poly", n_boot=2000, confidence=0.9, seed=1)["poly"]
    narrow = st.delta_fit_bootstrap(x, deltas, "poly", n_boot=2000, confidence=0.5, seed=1)["poly"]
    assert narrow.ci_high - narrow.ci_low < 0.5 * (pivot.ci_high - pivot.ci_low)


def test_power_law_test_rejects_polylog_not_pareto():
    n = 20_000
    deltas = np.geomspace(0.1, 5e-4, 10)
    rng = np.random.default_rng(61)
    pareto = rng.random(n) ** (-1 / 0.5)  # (1-delta)-quantile delta^(-2)
    small = rng.random(n) ** (-1 / 3.0)  # delta^(-1/3): close to polylog over this grid
    polylog = rng.exponential(size=n) ** 2  # log(1/delta)^2
    c = 1 - 2e-4
    # under a pure power law the test's size is exactly (1 - c)/2 = 1e-4 (pivot law): false-failure 1e-4 each
    assert not st.power_law_test(pareto, deltas, confidence=c, seed=2).rejects
    assert not st.power_law_test(small, deltas, confidence=c, seed=2).rejects
    # the polylog law is concave in log(1/delta): rejected (p-value at the draws' floor here)
    t = st.power_law_test(polylog, deltas, confidence=c, seed=2)
    assert t.rejects and t.statistic < 0
    with pytest.raises(ValueError, match="at least 3"):
        st.power_law_test(pareto, deltas[:2])


# ------------------------------------------------------------------------------------------------
# tail indices
# ------------------------------------------------------------------------------------------------


def _pareto(a, n, seed):
    return np.random.default_rng(seed).random(n) ** (-1 / a)  # P(X > t) = t^-a, t >= 1


def test_hill_pareto_exact_error_probabilities():
    a, n, c = 1.5, 1_000_000, 0.9999
    x = _pareto(a, n, 41) * np.where(np.random.default_rng(42).random(n) < 0.5, -1, 1)
    est = st.hill(x, confidence=c, method="normal")
    k = st.default_tail_k(n)
    assert est.k == k == 1000 and est.n == n and est.method == "hill"
    # the default interval is the exact one: alpha_hat times Gamma(k, 1)'s (1 -+ c)/2 quantiles over k
    exact = st.hill(x, confidence=c)
    assert exact.alpha == est.alpha
    assert exact.ci_low == pytest.approx(est.alpha * sps.gamma.ppf((1 - c) / 2, k) / k, rel=1e-12)
    assert exact.ci_high == pytest.approx(est.alpha * sps.gamma.isf((1 - c) / 2, k) / k, rel=1e-12)
    assert exact.ci_low <= a <= exact.ci_high
    # for exact Pareto, k * alpha / alpha_hat ~ Gamma(k, 1): the miss probability is exact
    w = sps.norm.isf((1 - c) / 2) / math.sqrt(k)
    false_failure = sps.gamma.cdf(k * (1 - w), k) + sps.gamma.sf(k * (1 + w), k)
    assert false_failure < 2e-4
    assert est.ci_low <= a <= est.ci_high
    # negative control a + 0.5: accepted only if alpha_hat (1 + w) >= a + 0.5
    false_accept = sps.gamma.cdf(k * (1 + w) * a / (a + 0.5), k)
    assert false_accept < 1e-6
    assert not est.ci_low <= a + 0.5 <= est.ci_high


def test_moment_estimator_pareto():
    a, n = 1.5, 1_000_000
    est = st.moment_estimator(_pareto(a, n, 43), confidence=0.999)
    # exact-Pareto pivot 99.9% interval (20/(1 - c) draws of k = 1000 exponentials): false-failure 1e-3
    assert est.method == "moment" and est.ci_low <= a <= est.ci_high
    normal = st.moment_estimator(_pareto(a, n, 43), confidence=0.999, method="normal")
    assert normal.alpha == est.alpha and normal.ci_low <= a <= normal.ci_high
    # negative controls on the gamma = 1/alpha scale (sd sqrt(1 + gamma^2)/sqrt(k) ~ 0.038):
    # alpha = 3 (gamma 1/3) and alpha = 1 (gamma 1) are accepted only if gamma_hat is off by
    # > 5 sd (the 99.9% half-width is ~3.3 sd), false-failure < 1e-6 each
    assert not est.ci_low <= a + 1.5 <= est.ci_high
    assert not est.ci_low <= a - 0.5 <= est.ci_high


def test_mohammadi_stable_and_gaussian():
    n = 250_000
    rng = np.random.default_rng(51)
    x = sps.levy_stable.rvs(1.5, 0.0, size=n, random_state=rng)
    est = st.mohammadi(x, confidence=0.9999)
    assert est.k == 500 and est.n == n and est.method == "mohammadi"
    # bootstrap-t over 500 i.i.d. blocks (200 000 resamples): false-failure ~1e-4; the Student-t
    # interval (method="t") is the same up to Z's skewness. "Roughly": the interval is narrow
    assert est.ci_low <= 1.5 <= est.ci_high and est.ci_high - est.ci_low < 0.25
    assert not est.ci_low <= 2.0 <= est.ci_high  # negative control: not Gaussian
    t = st.mohammadi(x, confidence=0.9999, method="t")
    assert t.alpha == est.alpha and t.ci_low <= 1.5 <= t.ci_high
    g = st.mohammadi(rng.normal(size=n), confidence=0.9999)
    assert g.ci_low <= 2.0 <= g.ci_high and abs(g.alpha - 2.0) < 0.2
    assert not g.ci_low <= 1.5 <= g.ci_high  # negative control: not alpha = 1.5
    # vectors: Euclidean norms of block sums; Gaussian vectors still give ~2
    gv = st.mohammadi(rng.normal(size=(n // 10, 3)), confidence=0.9999)
    assert gv.ci_low <= 2.0 <= gv.ci_high


def test_mohammadi_parametric_pivot_on_vectors():
    # vectors take the parametric pivot by default (method "auto"); stable vectors of mixed coordinate scales
    # (two decades) and Gaussian ones, n = 1000 draws of d = 20, at 0.999: each interval covers its truth
    # with false failure <= 1e-3 (the pivot's level is measured by calibrate) and excludes the other index
    # (negative controls: the estimate's sd is about 0.05 at this size, the other index > 6 sd away)
    from synthclip import noise

    scales = np.logspace(-1, 1, 20)
    x = noise.sample("stable", 1.5, (1000, 20), seed="test_stats/parametric/stable") * scales
    est = st.mohammadi(x, confidence=0.999)
    assert est == st.mohammadi(x, confidence=0.999, method="parametric")  # "auto" on vectors
    assert est == st.mohammadi(x, confidence=0.999)  # same seed, same bits
    assert est.ci_low <= 1.5 <= est.ci_high and not est.ci_low <= 2.0 <= est.ci_high
    g = st.mohammadi(
        noise.sample("gaussian", 2.0, (1000, 20), seed="test_stats/parametric/gauss") * scales, confidence=0.999
    )
    assert g.ci_low <= 2.0 <= g.ci_high and not g.ci_low <= 1.5 <= g.ci_high
    # the pivot's law is the model's, not the data's blocks: it differs from the block bootstrap-t
    assert (est.ci_low, est.ci_high) != (
        st.mohammadi(x, confidence=0.999, method="bootstrap-t").ci_low,
        st.mohammadi(x, confidence=0.999, method="bootstrap-t").ci_high,
    )
    with pytest.raises(ValueError, match="method must be"):
        st.mohammadi(x, method="pivot")


def test_tail_bad_input():
    with pytest.raises(ValueError, match="k"):
        st.hill(np.arange(1.0, 11.0), k=10)
    with pytest.raises(ValueError, match="finite"):
        st.hill([1.0, np.inf, 2.0])
    with pytest.raises(ValueError, match="nonzero"):
        st.hill(np.r_[np.zeros(100), 1.0, 2.0], k=5)
    with pytest.raises(ValueError, match="k1"):
        st.mohammadi(np.ones(10), k1=1)


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [0.0, 1.0, -0.1, 1.5, float("nan"), "median", None])
def test_bad_q_names_q(q):
    with pytest.raises(ValueError, match=r"\bq\b"):
        st.quantile_ci(np.ones(5), q)
    with pytest.raises(ValueError, match=r"\bq\b"):
        st.fit_rate(K, np.ones((5, K.size)), q)


def test_empty_and_mismatched_values():
    with pytest.raises(ValueError, match="empty"):
        st.quantile_ci([], 0.5)
    with pytest.raises(ValueError, match="empty"):
        st.failure_probability(np.empty((0, 3)), 1.0)
    with pytest.raises(ValueError, match="empty"):
        st.fit_rate(K, np.empty((0, K.size)), 0.5)
    with pytest.raises(ValueError, match="shape"):
        st.fit_rate(K, np.ones((5, K.size + 1)), 0.5)
    with pytest.raises(ValueError, match="shape"):
        st.fit_rate(K, np.ones(K.size), 0.5)
    with pytest.raises(ValueError, match="checkpoints"):
        st.fit_rate(K, np.ones((5, K.size)), 0.5, kmin=9000)
    with pytest.raises(ValueError, match="confidence"):
        st.quantile_ci(np.ones(5), 0.5, confidence=1.0)
    with pytest.raises(ValueError, match="method"):
        st.failure_probability(np.ones(5), 1.0, method="wald")


def test_fit_rate_with_one_level_per_checkpoint_matches_single_levels():
    # a level per checkpoint: each column read at its own rank; equal levels give fit_rate's own answer
    v = _power_law(np.random.default_rng(31), 500)
    one = st.fit_rate(K, v, 0.9, n_boot=200, seed=5)
    per = st.fit_rate(K, v, np.full(K.size, 0.9), n_boot=200, seed=5)
    assert (per.slope, per.ci_low, per.ci_high) == (one.slope, one.ci_low, one.ci_high) and per.q == "levels"
    # negative control: other levels change the estimate
    other = st.fit_rate(K, v, np.linspace(0.5, 0.99, K.size), n_boot=200, seed=5)
    assert other.slope != one.slope
    with pytest.raises(ValueError, match="levels per checkpoint"):
        st.fit_rate(K, v, np.full(3, 0.9))


def test_binomial_and_mean_intervals_match_scipy():
    from scipy import stats as sps

    for k, n in ((0, 10), (3, 10), (10, 10), (7, 400)):
        for method, sp in (("clopper-pearson", "exact"), ("wilson", "wilson")):
            got = st.binomial_ci(k, n, confidence_level=0.9, method=method)
            want = sps.binomtest(k, n).proportion_ci(confidence_level=0.9, method=sp)
            assert got.confidence_interval == pytest.approx((want.low, want.high), abs=1e-12)
            assert got.estimate == k / n and got.method == method and got.assumes
    x = np.random.default_rng(1).normal(size=12)
    t = st.mean_ci(x, confidence_level=0.95)
    want = sps.t.interval(0.95, x.size - 1, loc=x.mean(), scale=sps.sem(x))
    assert (t.low, t.high) == pytest.approx(want)
    assert st.mean_ci(x, method="normal").high < t.high  # z < t quantile: the normal interval is narrower
    with pytest.raises(ValueError, match="k must be an integer in"):
        st.binomial_ci(11, 10)
    with pytest.raises(ValueError, match="method must be one of"):
        st.mean_ci(x, method="bca")


def test_percentile_interval_counts_failures_at_both_ends():
    boot = np.r_[np.linspace(0, 1, 98), np.nan, np.inf]
    lo, hi, bad = st.percentile_interval(boot, 0.9)
    assert bad == 2 and lo < 0.1 and hi > 0.9
    lo, hi, bad = st.percentile_interval(np.r_[np.full(50, np.nan), np.linspace(0, 1, 50)], 0.9)
    assert (lo, hi, bad) == (-np.inf, np.inf, 50)


def test_joint_bootstrap_shares_one_resample_across_groups():
    # two groups that are the same trajectories (the second doubled): with one shared index draw per replicate
    # every replicate's ratio is exactly 2, where independent resamples would scatter it
    rng = np.random.default_rng(4)
    x = rng.pareto(1.5, 101) + 1.0
    out = st.joint_bootstrap(np.vstack([x, 2.0 * x]), n_boot=200, seed=3)
    assert out["mean"].shape == out["median"].shape == (200, 2)
    assert np.array_equal(out["mean"][:, 1], 2.0 * out["mean"][:, 0])
    assert np.array_equal(out["median"][:, 1], 2.0 * out["median"][:, 0])
    # the median is the order statistic ceil(n/2), the estimate of quantile_ci; the same seed repeats exactly
    assert np.all(np.isin(out["median"][:, 0], x))
    again = st.joint_bootstrap(np.vstack([x, 2.0 * x]), n_boot=200, seed=3)
    assert np.array_equal(again["mean"], out["mean"])
    with pytest.raises(ValueError, match="statistics must be among"):
        st.joint_bootstrap(np.vstack([x, x]), ("mode",), n_boot=10, seed=0)
