"""torch-noise's statistics and claim rules on data with a known answer: the exact Mann–Whitney shift
interval (its coverage, with a negative control), the pooled outlier ratios, the norm statistics, the
Hill plot, and every claim's three outcomes on synthetic probe tables. No torch needed."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from synthclip import stats
from synthclip.stats.shift import _mann_whitney_cdf
from synthclip.study import torch_noise as tn
from synthclip.study.torch_noise import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED


def _shift(a, b, c=0.95):
    ci = stats.shift_ci(a, b, confidence_level=c)
    return ci.estimate, ci.low, ci.high, ci.achieved


def _brute_cdf(m, n):
    """P(U <= u) by enumerating every arrangement (the definition)."""
    counts = np.zeros(m * n + 1)
    for xs in itertools.combinations(range(m + n), m):
        ys = sorted(set(range(m + n)) - set(xs))
        counts[sum(1 for x in xs for y in ys if y < x)] += 1
    return np.cumsum(counts) / counts.sum()


@pytest.mark.parametrize("m, n", [(1, 1), (2, 3), (4, 3), (5, 5)])
def test_mann_whitney_null_law_is_exact(m, n):
    np.testing.assert_allclose(_mann_whitney_cdf(m, n), _brute_cdf(m, n), rtol=0, atol=1e-15)


def test_shift_interval_excludes_zero_exactly_when_mann_whitney_rejects():
    rng = np.random.default_rng(1)
    assert _shift(np.arange(5.0), np.arange(5.0) + 100)[3] == pytest.approx(1 - 2 * 4 / 252)
    for shift in np.linspace(0.0, 3.0, 40):
        a, b = rng.normal(shift, 1, 5), rng.normal(0, 1, 5)
        _, lo, hi, _ = _shift(a, b, 0.95)
        p = sps.mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue
        assert (lo > 0 or hi < 0) == (p < 0.05)


def test_shift_interval_covers_the_true_shift_at_its_stated_level():
    # 4000 replicates of 5 + 5 normals shifted by 0.7: the exact interval covers with probability 0.968
    # (1 - 8/252); false-failure 1e-3 over the binomial count; the negative control (a wrong shift, 0.7 + 1)
    # must be covered far less often
    rng = np.random.default_rng(2)
    reps = 4000
    a = rng.normal(0.7, 1, (reps, 5))
    b = rng.normal(0, 1, (reps, 5))
    ends = np.array([_shift(x, y, 0.95)[1:3] for x, y in zip(a, b)])
    covered = np.count_nonzero((ends[:, 0] <= 0.7) & (0.7 <= ends[:, 1]))
    assert sps.binomtest(covered, reps, 1 - 8 / 252).pvalue > 1e-3
    wrong = np.count_nonzero((ends[:, 0] <= 1.7) & (1.7 <= ends[:, 1]))
    assert sps.binomtest(wrong, reps, 1 - 8 / 252).pvalue < 1e-3


def test_shift_interval_with_too_few_replicates_is_unbounded():
    est, lo, hi, cov = _shift([1.0, 2.0], [0.0, 0.5], 0.95)
    assert est > 0 and lo == -np.inf and hi == np.inf
    assert tn.side(lo, hi, 0.0) == "none"
    assert np.isnan(_shift([], [1.0])[0])


def test_gaussian_outlier_rates_are_seed_000s_references():
    from synthclip.torch import probe  # numpy only

    q1, q3 = sps.norm.ppf([0.25, 0.75])
    assert sps.norm.sf(q3 + 1.5 * (q3 - q1)) == pytest.approx(probe.GAUSS_MILD, rel=1e-4)
    assert sps.norm.sf(q3 + 3.0 * (q3 - q1)) == pytest.approx(probe.GAUSS_EXTREME, rel=1e-4)
    assert (tn.GAUSS_MILD_RATE, tn.GAUSS_EXTREME_RATE) == (probe.GAUSS_MILD, probe.GAUSS_EXTREME)


def test_pooled_outlier_ratio_sees_a_gaussian_as_one_and_a_lognormal_as_heavier():
    # at level 0.999 (false failure 1e-3): Gaussian norms' pooled ratio interval holds 1; lognormal ones
    # (the negative control: a skewed, heavier law) lie above 1
    from synthclip.torch import probe

    rng = np.random.default_rng(3)
    for law, expect in (("gauss", "holds"), ("lognormal", "above")):
        counts = []
        for _ in range(20):
            x = 10 + rng.standard_normal(1000) if law == "gauss" else rng.lognormal(0, 1, 1000)
            counts.append(probe.norm_statistics(x)["mild_count"])
        ratio, lo, hi, n = tn.pooled_ratio(counts, [1000] * 20, tn.GAUSS_MILD_RATE, 0.999)
        assert n == 20 and tn.side(lo, hi, 1.0) == expect, (law, ratio, lo, hi)


def test_norm_statistics_on_known_samples():
    from synthclip.torch import probe

    flat = probe.norm_statistics(np.ones(1000))
    assert flat["top1_share"] == pytest.approx(0.01) and flat["max_over_median"] == 1.0
    assert flat["running_drift"] == 0.0 and flat["mild_count"] == 0
    spike = probe.norm_statistics(np.r_[np.ones(999), 1000.0])
    assert spike["top1_share"] > 0.99 and spike["max_over_median"] == 1000.0 and spike["extreme_count"] == 1
    assert spike["running_drift"] > 0.9  # m_n jumps at the last draw
    gauss = probe.norm_statistics(10 + np.random.default_rng(4).standard_normal(1000))
    assert gauss["ks_gauss"] < 0.062  # KS at n = 1000: 1.95/√n is the 1e-3 critical value
    # the top-1 % share of N(10, 1): E[X² 1{X > q_0.99}] / E[X²] (the sample's top ten: within 10 %)
    from scipy import integrate

    q = sps.norm.ppf(0.99, 10)
    want = integrate.quad(lambda x: x * x * sps.norm.pdf(x, 10), q, 30)[0] / 101.0
    assert gauss["top1_share"] == pytest.approx(want, rel=0.1) and want < 0.017
    with pytest.raises(ValueError, match="norms"):
        probe.norm_statistics(np.ones(4))


def test_hill_plot_is_flat_on_a_pareto_tail():
    from synthclip.torch import probe

    x = np.random.default_rng(5).pareto(1.5, 4000) + 1.0  # exact Pareto(1.5): every k is in the tail
    h = probe.hill_plot(x, confidence=0.999)
    assert set(h["estimator"]) == {"hill", "moment"} and int(np.sqrt(4000)) in set(h["k"])
    hill = h[h["estimator"] == "hill"]
    assert hill["k"].min() == 5 and hill["k"].max() <= 2000
    root = hill[hill["k"] == int(np.sqrt(4000))].iloc[0]
    assert root["ci_low"] <= 1.5 <= root["ci_high"]
    assert not root["ci_low"] <= 3.0 <= root["ci_high"]  # negative control: a wrong index is excluded
    mom = h[(h["estimator"] == "moment") & (h["k"] == int(np.sqrt(4000)))].iloc[0]
    assert mom["ci_low"] <= 1.5 <= mom["ci_high"]


# -- claims on synthetic probe tables ---------------------------------------------------------------


def _probes(spec: dict, steps=(0, 200), n_rep=5, seed=0) -> pd.DataFrame:
    """Probe rows: spec[model] = dict of column means (each replicate jittered by 2 %)."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, cols in spec.items():
        for step in steps:
            for r in range(n_rep):
                row = {"model": model, "replicate": r, "step": step, "batch_size": 1, "n_batches": 1000}
                for c, v in cols.items():
                    v = v(step) if callable(v) else v
                    row[c] = v if isinstance(v, (int, np.integer)) else v * (1 + 0.02 * rng.standard_normal())
                rows.append(row)
    return pd.DataFrame(rows)


HEAVY = dict(
    top1_share=0.2,
    running_drift=0.5,
    hill_alpha=1.5,
    hill_ci_low=1.2,
    hill_ci_high=1.8,
    moment_alpha=1.4,
    mild_count=40,
    extreme_count=5,
    median=lambda s: 1.0 if s == 0 else 0.4,
    coord_alpha=1.3,
    coord_ci_low=1.1,
    coord_ci_high=1.6,
    coord_below2=1.0,
    coord_draws=16,
    mohammadi_alpha=1.8,
    mohammadi_ci_low=1.7,
    mohammadi_ci_high=1.9,
)
LIGHT = dict(
    top1_share=0.012,
    running_drift=0.02,
    hill_alpha=30.0,
    hill_ci_low=25.0,
    hill_ci_high=36.0,
    moment_alpha=40.0,
    mild_count=3,
    extreme_count=0,
    median=lambda s: 1.0 if s == 0 else 0.97,
    coord_alpha=1.1,
    coord_ci_low=0.9,
    coord_ci_high=1.4,
    coord_below2=1.0,
    coord_draws=16,
    mohammadi_alpha=2.0,
    mohammadi_ci_low=1.9,
    mohammadi_ci_high=2.1,
)


def _by(claims, name, setting=None):
    rows = claims[claims["claim"] == name]
    if setting is not None:
        rows = rows[rows["setting"].str.startswith(setting)]
    assert len(rows) == 1, (name, setting, rows)
    return rows.iloc[0]


def test_claims_reproduced_when_text_is_heavy_and_vision_light():
    spec = {m: HEAVY for m in (*tn.TEXT_TASKS, *tn.ABLATIONS.values())} | {tn.VISION: LIGHT}
    spec |= {"words-noattn": HEAVY, "words-transformer-gauss": HEAVY, "words-noattn-gauss": LIGHT}
    c = tn.claims(_probes(spec), 200)
    for task in tn.TEXT_TASKS:
        assert _by(c, "Figure 1 (tier i)", task)["verdict"] == REPRODUCED
        assert _by(c, "α < 2 (tier ii)", f"{task}, step 0")["verdict"] == REPRODUCED
        assert _by(c, "seed 000: NLP norms heavy-tailed, vision not", task)["verdict"] == REPRODUCED
        assert _by(c, "Figure 2: text noise drifts in training, vision stays", task)["verdict"] == REPRODUCED
    assert _by(c, "α < 2 (tier ii)", f"{tn.VISION}, step 0")["verdict"] == NOT_REPRODUCED
    assert _by(c, "Figure 4: both architecture and data carry the tail")["verdict"] == REPRODUCED
    assert _by(c, APPENDIX_H, tn.VISION)["verdict"] == REPRODUCED
    # the vector view of a text task is heavy: Appendix H's premise is absent there
    assert _by(c, APPENDIX_H, "text-transformer")["verdict"] == INCONCLUSIVE
    board = tn.noise_scoreboard({"claims": c}, {})
    assert len(board) == len(c) and set(board["verdict"]) <= {REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE}


def test_claims_not_reproduced_when_vision_is_the_heavier():
    # the negative control: the same numbers with the roles swapped
    spec = {m: LIGHT for m in (*tn.TEXT_TASKS, *tn.ABLATIONS.values())} | {tn.VISION: HEAVY}
    spec |= {"words-noattn": LIGHT, "words-transformer-gauss": LIGHT, "words-noattn-gauss": HEAVY}
    c = tn.claims(_probes(spec), 200)
    for task in tn.TEXT_TASKS:
        assert _by(c, "Figure 1 (tier i)", task)["verdict"] == NOT_REPRODUCED
        assert _by(c, "α < 2 (tier ii)", f"{task}, step 0")["verdict"] == NOT_REPRODUCED
        assert _by(c, "seed 000: NLP norms heavy-tailed, vision not", task)["verdict"] == NOT_REPRODUCED
        assert _by(c, "Figure 2: text noise drifts in training, vision stays", task)["verdict"] == NOT_REPRODUCED
    assert _by(c, "Figure 4: both architecture and data carry the tail")["verdict"] == NOT_REPRODUCED
    assert _by(c, APPENDIX_H, tn.VISION)["verdict"] == INCONCLUSIVE


def test_claims_inconclusive_on_equal_laws_or_too_few_replicates():
    spec = {m: LIGHT for m in (*tn.TEXT_TASKS, tn.VISION)}
    c = tn.claims(_probes(spec), 200)
    for task in tn.TEXT_TASKS:  # the same law for text and vision: no shift interval excludes 0
        assert _by(c, "Figure 1 (tier i)", task)["verdict"] == INCONCLUSIVE
    two = tn.claims(_probes({tn.TEXT_TASKS[0]: HEAVY, tn.VISION: LIGHT}, n_rep=2), 200)
    row = _by(two, "Figure 1 (tier i)", tn.TEXT_TASKS[0])
    assert row["verdict"] == INCONCLUSIVE and "no finite" in row["reason"]
    missing = _by(two, "Figure 1 (tier i)", tn.TEXT_TASKS[1])
    assert missing["verdict"] == INCONCLUSIVE and "not run" in missing["reason"]
    assert _by(two, "Figure 4: both architecture and data carry the tail")["verdict"] == INCONCLUSIVE


# -- Appendix H, rule version 2: the replicates' Hill intervals (vector) and the draws' spans (coordinates) ----

APPENDIX_H = "Appendix H: coordinates look heavy where the vector is not"


def _replicates(fields: dict, n_rep: int = 5, overrides=None) -> pd.DataFrame:
    """Probe rows of the vision task at step 0, B = 1: ``fields`` on every replicate, then ``overrides``
    ({replicate: {column: value}})."""
    base = {"model": tn.VISION, "step": 0, "batch_size": 1, **fields}
    return pd.DataFrame([{**base, "replicate": r, **(overrides or {}).get(r, {})} for r in range(n_rep)])


def _interval(prefix: str, values) -> dict:
    return dict(zip((f"{prefix}_alpha", f"{prefix}_ci_low", f"{prefix}_ci_high"), values))


def _appendix_h(hill=(30.0, 25.0, 36.0), coord=(1.1, 0.9, 1.4), n_rep=5, overrides=None) -> pd.Series:
    """The Appendix H row of one task whose replicates carry Hill's (α̂, low, high) on ‖ξ‖ and the coordinate
    view's (median α̂, span low, span high)."""
    fields = {**_interval("hill", hill), **_interval("coord", coord), "mohammadi_alpha": 2.0}
    part = _replicates({**fields, "coord_below2": 1.0, "coord_draws": 16}, n_rep, overrides)
    return pd.Series(tn._appendix_h(part, tn.VISION, 0.95))


def test_appendix_h_reads_every_interval_against_2():
    assert _appendix_h()["verdict"] == REPRODUCED
    # every draw's interval above 2 (α̂ = +inf draws included): the coordinates look light, not reproduced
    assert _appendix_h(coord=(2.6, 2.2, np.inf))["verdict"] == NOT_REPRODUCED
    # near misses: one replicate's span reaches 2.01, or one draw lacks an interval: not on one side
    assert _appendix_h(overrides={3: {"coord_ci_high": 2.01}})["verdict"] == INCONCLUSIVE
    assert _appendix_h(overrides={0: {"coord_ci_low": np.nan}})["verdict"] == INCONCLUSIVE
    # the premise: one replicate's Hill interval reaching below 2.0 leaves the vector view not light
    row = _appendix_h(overrides={4: {"hill_ci_low": 1.95}})
    assert row["verdict"] == INCONCLUSIVE and "premise absent" in row["reason"]
    # the row states the median α̂ and the span of every draw's interval
    row = _appendix_h(overrides={2: {"coord_ci_low": 0.5, "coord_alpha": 0.7}})
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == (1.1, 0.5, 1.4)


# -- tier (ii), rule version 2: every replicate's calibrated interval, Hill and Mohammadi -------------------

TIER2 = "α < 2 (tier ii)"


def _tier2(hill, moh, n_rep=5, overrides=None) -> pd.Series:
    """The tier (ii) row of one task whose replicates carry the given (α̂, low, high) of each estimator;
    ``overrides``: {replicate: {column: value}}."""
    fields = {**_interval("hill", hill), **_interval("mohammadi", moh), "moment_alpha": 5.0}
    return tn._infinite_variance(_replicates(fields, n_rep, overrides), tn.VISION, 0, 0.95)


def test_tier2_reads_every_replicates_interval_against_2():
    # heavy by both: reproduced; light by Hill with Mohammadi at 2 (saturated): not reproduced
    assert _tier2((1.5, 1.2, 1.8), (1.8, 1.7, 1.9))["verdict"] == REPRODUCED
    assert _tier2((30.0, 25.0, 36.0), (2.0, 1.9, 2.1))["verdict"] == NOT_REPRODUCED
    # a stable law near 2: Hill reads it light (its bias), the stable-exact estimator below 2: not a
    # "not reproduced" (the version-1 rule's error), but the estimators' disagreement, said in the reason
    row = _tier2((3.0, 2.3, 3.9), (1.8, 1.75, 1.85))
    assert row["verdict"] == INCONCLUSIVE and "disagree" in row["reason"]
    # Hill below 2 on a Pareto-type tail while Mohammadi, biased toward 2 there, holds 2: reproduced
    assert _tier2((1.5, 1.2, 1.8), (1.95, 1.85, 2.05))["verdict"] == REPRODUCED
    # the reason names where each estimator is biased
    assert "biased toward 2 on Pareto and Student-t" in row["reason"] and "stable laws near 2" in row["reason"]


def test_tier2_negative_controls_one_replicate_breaks_the_conjunction():
    # one replicate whose interval holds 2 (or is undefined) stops "every interval below 2"
    holds = _tier2((1.5, 1.2, 1.8), (1.8, 1.7, 1.9), overrides={3: {"hill_ci_high": 2.5, "mohammadi_ci_high": 2.1}})
    assert holds["verdict"] == INCONCLUSIVE
    light = _tier2((30.0, 25.0, 36.0), (2.0, 1.9, 2.1), overrides={0: {"hill_ci_low": 1.9}})
    assert light["verdict"] == INCONCLUSIVE
    nan = _tier2((1.5, 1.2, 1.8), (1.8, 1.7, 1.9), overrides={1: {"mohammadi_ci_low": np.nan}})
    assert nan["verdict"] == INCONCLUSIVE and "no interval" in nan["reason"]
    # an interval [lo, +inf] (Mohammadi's 1/α reaching 0) with lo above 2 lies above 2
    assert tn.alpha_side(2.2, np.inf) == "above" and tn.alpha_side(1.5, np.inf) == "holds"


def test_views_table_reads_each_view_against_2():
    probes = _probes({tn.VISION: LIGHT, "text-transformer": HEAVY}, steps=(0,))
    lines = tn.views_lines(probes)
    row = {line.split()[0]: line for line in lines[3:]}
    assert list(row) == ["text-transformer", tn.VISION]  # the report's task order
    # the vision task: Hill above 2, Mohammadi holding 2, the coordinates below 2 (the scale mixture)
    assert re.findall(r"\] ([<>~] 2)", row[tn.VISION]) == ["> 2", "~ 2", "< 2"]
    assert re.findall(r"\] ([<>~] 2)", row["text-transformer"]) == ["< 2", "< 2", "< 2"]
