"""The one verdict rule (synthclip.verdict) and the scoped theory table (synthclip.theory)."""

import math

import numpy as np
import pytest

from synthclip import stats, theory, verdict


def _judge(slope, lo, hi, claim, **kw):
    base = dict(n_traj=10_000, q=0.5, confidence=0.95, allowance=verdict.RULE.allowance)
    return verdict.judge(slope, lo, hi, claim, 1.5, **{**base, **kw})


def test_words_by_kind():
    thm4 = theory.claim("thm4", "gclip", "strongly_convex", "f_avg")  # upper, −2/3 at α = 1.5
    thm5 = theory.claim("thm5", "*", "strongly_convex", "f")  # lower, spike instance
    assert _judge(-0.67, -0.70, -0.64, thm4).verdict == "within (tight)"
    assert _judge(-0.90, -0.95, -0.85, thm4).verdict == "within (not tight)"
    assert _judge(-0.40, -0.45, -0.35, thm4).verdict == "violates"
    assert _judge(-0.67, -0.70, -0.64, thm5, q="mean").verdict == "respects (tight)"
    assert _judge(-0.40, -0.45, -0.35, thm5, q="mean").verdict == "respects (not tight)"
    assert _judge(-0.90, -0.95, -0.85, thm5, q="mean").verdict == "violates"
    assert _judge(-0.9, -0.95, -0.85, None).verdict == "none"


def test_agreeing_words_need_an_interval_within_the_resolution():
    thm4 = theory.claim("thm4", "gclip", "strongly_convex", "f_avg")  # −2/3 at α = 1.5
    r = verdict.RULE.resolution
    assert r == 0.1 and verdict.RULE.allowance == 0.0  # the pre-registered rule
    # the exponent inside an interval of width 0.099: agreeing; of width 0.101: inconclusive
    assert _judge(-0.67, -0.70, -0.70 + 0.099, thm4).verdict == "within (tight)"
    wide = _judge(-0.67, -0.72, -0.72 + 0.101, thm4)
    assert wide.verdict == "inconclusive" and "width 0.101 > 0.1" in wide.reason and "within (tight)" in wide.reason
    # an interval wider than the resolution that excludes the exponent still gives its word
    assert _judge(-0.90, -1.00, -0.80, thm4).verdict == "within (not tight)"
    assert _judge(-0.40, -0.50, -0.30, thm4).verdict == "violates"
    # every agreeing word of every kind obeys it
    pred = theory.Claim(
        "pred",
        "gclip/cclip",
        "coordinatewise",
        "ratio",
        "d^(2/α − 1)",
        "test",
        "prediction",
        lambda a: 2.0 / a - 1.0,
        variable="d",
    )
    assert _judge(0.33, 0.20, 0.45, pred).verdict == "inconclusive"
    assert _judge(0.33, 0.30, 0.36, pred).verdict == "matches"


def test_a_ratio_of_bounds_is_reported_never_judged():
    ratio = theory.claim("thm4/thm8-sharp", "gclip/cclip", "coordinatewise", "ratio")
    assert ratio.kind == "bound-ratio"
    for lo, hi in ((0.30, 0.36), (0.0, 0.05), (0.6, 0.7)):  # inside, below and above d^(1/3)
        v = _judge((lo + hi) / 2, lo, hi, ratio)
        assert v.verdict == verdict.BOUND_RATIO and v.statement == "thm4/thm8-sharp", v


@pytest.mark.parametrize("delta", [0.1, -0.1])
def test_near_miss_controls_are_never_called_tight(delta):
    # a row that agrees, with its data shifted by (k/K)^delta (slope and bootstrap move by exactly delta):
    # an interval of width <= r that holds t cannot hold t after a shift of r (negative control of the rule)
    thm4 = theory.claim("thm4", "gclip", "strongly_convex", "f_avg")
    t = thm4.at(1.5)
    for lo in np.linspace(t - 0.099, t, 12):
        hi = lo + 0.099
        assert _judge((lo + hi) / 2, lo, hi, thm4).verdict == "within (tight)"
        shifted = _judge((lo + hi) / 2 + delta, lo + delta, hi + delta, thm4).verdict
        assert shifted == ("violates" if delta > 0 else "within (not tight)")


def test_near_miss_power_by_construction():
    # width = r at c = 0.95: a shift of r leaves t inside with probability Φ(−1.96) = 0.025
    assert verdict.near_miss_power(-0.7, -0.6, 0.95) == pytest.approx(0.975, abs=1e-6)
    assert verdict.near_miss_power(-0.7, -0.65, 0.95) > 0.999
    assert verdict.near_miss_power(-0.8, -0.6, 0.95) == 1.0  # wider: never agreeing
    rows = [
        {"verdict": "within (tight)", "ci_low": -0.7, "ci_high": -0.62},
        {"verdict": "violates", "ci_low": -0.5, "ci_high": -0.2},
    ]
    assert "≥ 0.998 on this table's 1 agreeing rows" in verdict.resolution_line(rows)


def test_pre_asymptotic_only_when_approaching():
    thm4 = theory.claim("thm4", "gclip", "strongly_convex", "f_avg")
    assert _judge(-0.40, -0.45, -0.35, thm4, trend="approaching").verdict == "pre-asymptotic"
    assert _judge(-0.40, -0.45, -0.35, thm4, trend="moving away").verdict == "violates"
    assert _judge(-0.67, -0.70, -0.64, thm4, trend="approaching").verdict == "within (tight)"


@pytest.mark.parametrize(
    "n,q,lo,hi,why",
    [
        (1, 0.5, -0.7, -0.6, "runs cannot bound"),
        (100, 0.99, -0.7, -0.6, "needs ≥ 368"),
        (10_000, 0.5, -math.inf, -0.6, "unbounded"),
        (10_000, 0.5, float("nan"), -0.6, "unbounded"),
        (1, 0.5, -0.6, -0.6, "runs cannot bound"),  # one run: a zero-width interval
    ],
)
def test_too_little_data_is_not_a_verdict(n, q, lo, hi, why):
    thm4 = theory.claim("thm4", "gclip", "strongly_convex", "f_avg")
    said = _judge(-0.65, lo, hi, thm4, n_traj=n, q=q)
    assert said.verdict == "insufficient data" and why in said.reason


def test_runs_needed_is_the_smallest_sufficient_n():
    for q in (0.5, 0.9, 0.99):
        n = verdict.runs_needed(q, 0.95)
        assert stats.quantile_ranks(n, q, 0.95)[2] <= n
        assert stats.quantile_ranks(n - 1, q, 0.95)[2] > n - 1


def test_find_has_no_fallback_and_respects_scope():
    # the spike lower bound judges any method on the spike instance only
    assert theory.find("adagrad_norm", "strongly_convex", "f", 1.5, noise="symmetric") is None
    assert theory.find("adagrad_norm", "strongly_convex", "f", 1.5, noise="spike").statement == "thm5"
    # the printed and the balanced schedules are different statements; a constant clip level has none
    assert (
        theory.find("gclip", "strongly_convex", "f_avg", 1.5, noise="symmetric", schedule="alpha-1").statement == "thm4"
    )
    assert (
        theory.find("gclip", "strongly_convex", "f_avg", 1.5, noise="symmetric", schedule="1/alpha").statement
        == "thm4-balanced"
    )
    assert theory.find("gclip", "strongly_convex", "f_avg", 1.5, noise="symmetric", schedule="constant") is None
    # a method's own upper bound wins over the class-wide lower bound on the spike instance
    assert theory.find("gclip", "strongly_convex", "f_avg", 1.5, noise="spike", schedule="alpha-1").kind == "upper"
    # existence statements and Table 1 never judge a row
    assert all(
        c.kind != "existence" and c.statement != "table1"
        for c in (
            theory.find(m, "strongly_convex", "f_avg", 1.5, noise=n, schedule="alpha-1")
            for m in ("gclip", "cclip")
            for n in theory.ALL_NOISE
        )
        if c
    )
    # Theorem 2 labels: the minimum is bounded through the average, Theorem 6 judges only its own instance;
    # Theorem 2 covers only the schedule it prescribes (τ_K ∝ K^(1/(3α−2))), never another or an unnamed one
    assert theory.find("gclip", "nonconvex", "grad_norm_min", 1.5, schedule=theory.THM2_SCHEDULE).kind == "upper"
    assert theory.find("gclip", "nonconvex", "thm2_lhs", 1.5, schedule="horizon:alpha/(3alpha-2)") is None
    assert theory.find("gclip", "nonconvex", "thm2_lhs", 1.5) is None
    assert theory.claim("thm6", "*", "nonconvex-thm6", "grad_norm_avg").setting != "nonconvex"


def test_every_claim_states_kind_and_scope():
    for c in theory.CLAIMS:
        assert c.kind in theory.KINDS
        assert set(c.noise) <= set(theory.ALL_NOISE) and c.noise
        assert c.scope


def test_noise_family():
    assert theory.noise_family("pareto-onesided") == "asymmetric"
    assert theory.noise_family("pareto-onesided", "radial") == "symmetric"
    assert theory.noise_family("stable") == "symmetric" and theory.noise_family("spike") == "spike"


def test_bias_limit_depends_on_the_noise_tail():
    c = theory.claim("bias-limit", "gclip", "strongly_convex", "f_avg")
    assert c.at(1.2, 1.3) == pytest.approx(-2 * 0.2 * 0.3)
    assert c.at(1.2, 1.3) > theory.claim("thm4", "gclip", "strongly_convex", "f_avg").at(1.2)


def test_trend_rule():
    near = [(3162, 1e4, -0.66, -0.68, -0.64), (1e3, 3162, -0.65, -0.68, -0.62), (316, 1e3, -0.64, -0.67, -0.61)]
    assert verdict.trend_of(near, -0.667) == "steady"
    bend = [(3162, 1e4, -0.60, -0.62, -0.58), (1e3, 3162, -0.55, -0.57, -0.53), (316, 1e3, -0.50, -0.52, -0.48)]
    assert verdict.trend_of(bend, -0.667) == "approaching"
    assert verdict.trend_of(bend, -0.3) == "moving away"
    assert verdict.trend_of(bend, None) == "bending"
    assert verdict.trend_of(bend[:2], -0.667) == "too short"


def test_half_decades_tile_down_from_k():
    k = np.unique(np.round(np.geomspace(1, 1e4, 41)))
    w = verdict.half_decades(k)
    assert w[0] == pytest.approx((1e4 / 10**0.5, 1e4)) and len(w) == 6
    assert all(lo >= verdict.RULE.min_k * (1 - 1e-12) for lo, _ in w)


def test_fit_rate_windows_equals_one_fit_per_window():
    rng = np.random.default_rng(4)
    k = np.unique(np.round(np.geomspace(1, 1e4, 41)))
    v = k**-0.7 * np.exp(rng.normal(size=(500, k.size)) + rng.normal(size=(500, 1)))
    windows = [(None, None), *verdict.half_decades(k)]
    for q in (0.5, 0.9, "mean"):
        together = stats.fit_rate_windows(k, v, q, windows, n_boot=300, seed=9)
        for (lo, hi), fit in zip(windows, together):
            alone = stats.fit_rate(k, v, q, kmin=lo, kmax=hi, n_boot=300, seed=9)
            assert (fit.slope, fit.kmin, fit.kmax) == (alone.slope, alone.kmin, alone.kmax)
            assert fit.ci_low == pytest.approx(alone.ci_low, abs=1e-12) and fit.ci_high == pytest.approx(
                alone.ci_high, abs=1e-12
            )


def test_local_slopes_and_trend_on_a_known_bend():
    # quantiles ∝ k^-0.5 / (1 + (k/1000)^0.4): the local slope bends from -0.5 towards -0.9 (-0.79 at k = 1e4)
    rng = np.random.default_rng(5)
    k = np.unique(np.round(np.geomspace(1, 1e4, 41)))
    v = (k**-0.5 / (1 + (k / 1000) ** 0.4)) * np.exp(0.1 * rng.normal(size=(2000, k.size)))

    def local(values):  # the half-decade fits, newest first, as the rates study stores them
        windows = verdict.half_decades(k)
        fits = stats.fit_rate_windows(k, values, 0.5, windows, n_boot=400)
        return [(lo, hi, f.slope, f.ci_low, f.ci_high) for (lo, hi), f in zip(windows, fits)]

    bent = local(v)
    assert verdict.trend_of(bent, -0.9) == "approaching", bent
    flat = local(k**-0.9 * np.exp(0.1 * rng.normal(size=(2000, k.size))))
    assert verdict.trend_of(flat, -0.9) == "steady", flat


def test_a_quantile_only_certifies_a_lower_bound_on_the_mean():
    thm5 = theory.claim("thm5", "*", "strongly_convex", "f")
    assert _judge(-0.90, -0.95, -0.85, thm5, q=0.9).verdict == "no certificate"  # faster: contradicts nothing
    assert _judge(-0.40, -0.45, -0.35, thm5, q=0.9).verdict == "certifies"
    assert _judge(-0.90, -0.95, -0.85, thm5, q="mean").verdict == "violates"  # the mean itself can violate


def test_the_rule_is_pinned_field_by_field():
    # the pre-registered rule (docs/theory.md, "What a verdict means"): a change to any field is a change of
    # every verdict and must be made here, on purpose, with the docs
    import dataclasses

    assert dataclasses.asdict(verdict.RULE) == {
        "window_decades": 1.0,
        "n_boot": 1000,
        "confidence": 0.95,
        "allowance": 0.0,
        "resolution": 0.1,
        "quantiles": (0.5, 0.9, 0.99),
        "local_decades": 0.5,
        "min_k": 10.0,
    }
    assert stats.DEFAULT_WINDOW_DECADES == 1.0
    # the studies' flags default to the rule (a changed default would change verdicts without touching RULE)
    from synthclip.harness.base import FitParams

    defaults = {
        f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
        for f in dataclasses.fields(FitParams)
    }
    assert (defaults["n_boot"], defaults["confidence"], defaults["allowance"], tuple(defaults["quantiles"])) == (
        1000,
        0.95,
        0.0,
        (0.5, 0.9, 0.99),
    )


@pytest.mark.parametrize("side", [+1, -1])
def test_near_miss_control_at_the_rules_allowance(side):
    # an interval of width 0.099 whose near end lies exactly one resolution (0.1) from the exponent: under the
    # rule (allowance 0) it excludes the exponent, so it never reads an agreeing word; any allowance ≥ 0.1
    # would let it agree
    thm4 = theory.claim("thm4", "gclip", "strongly_convex", "f_avg")
    t = thm4.at(1.5)
    lo = t + 0.1 if side > 0 else t - 0.1 - 0.099
    hi = lo + 0.099
    said = _judge((lo + hi) / 2, lo, hi, thm4)  # allowance = verdict.RULE.allowance
    assert said.verdict not in verdict.AGREEING
    assert said.verdict == ("violates" if side > 0 else "within (not tight)")
    # the same interval moved to hold the exponent agrees (positive control of the same call)
    assert _judge(t, t - 0.05, t + 0.049, thm4).verdict == "within (tight)"
    # and an allowance of one resolution would no longer exclude the exponent: the control has power
    assert verdict.outcome((lo + hi) / 2, lo, hi, t, 0.1) == "match"
    assert _judge((lo + hi) / 2, lo, hi, thm4, allowance=0.1).verdict == "inconclusive"


def test_lower_bound_conclusion_says_no_more_than_its_rows():
    import pandas as pd

    from synthclip import findings

    def rows(*words):
        return pd.DataFrame({"method": [f"m{i}" for i in range(len(words))], "verdict": list(words)})

    assert findings.lower_bound_conclusion(rows("respects (tight)", "respects (not tight)")).startswith("respected")
    # an inconclusive row confirms nothing: the old sentence "every method respects" said more than this
    assert findings.lower_bound_conclusion(rows("respects (tight)", "inconclusive")).startswith("undecided")
    assert findings.lower_bound_conclusion(rows("respects (tight)", "violates")).startswith("contradicted: 1 of 2")
    assert findings.lower_bound_conclusion(rows("insufficient data")).startswith("insufficient data")
