"""The nonconvex study (Theorem 2): its verdict on a small run, a negative control, and a bad flag.

Rule (synthclip.verdict's, the same for every study): an upper bound's exponent t is "within (tight)" of the
slope of log(median) against log K over the last decade of horizons when t ∈ [lo − A, hi + A], [lo, hi] the percentile-bootstrap interval over trajectories at
level 1 − 1e−3 and A = 0.05 the allowance for the pre-asymptotic bend (measured: the median of
(1/K) Σ min{‖∇f‖, ‖∇f‖²} decays like K^−0.378 over K = 100..1000 and K^−0.379 over 100..10^4, against
−0.4). A correct exponent is rejected with probability ≤ 1e−3 (the interval's level) once the model error
is inside A: the false-failure rate of the positive check. The negative controls apply the same rule to
exponents that are wrong by 0.2 or more, which the run must reject: the test asserts that the interval's
half-width (set by N = 300 trajectories per horizon) is below the distance to the wrong exponent minus A,
so a run too small to tell them apart fails loudly instead of passing by luck.
"""
import dataclasses

import numpy as np
import pandas as pd

from synthclip import stats, theory, verdict
from synthclip.study import STUDIES, cli

LEVEL = 1 - 1e-3
ALLOWANCE = 0.05


def _fit(row) -> stats.RateFit:
    return stats.RateFit(slope=row["slope"], ci_low=row["ci_low"], ci_high=row["ci_high"], intercept=row["intercept"],
                         q=row["statistic"], kmin=row["kmin"], kmax=row["kmax"], n_points=int(row["n_points"]),
                         n_boot=0, n_traj=int(row["n_traj"]))


def test_theorem2_rate_reproduced_and_wrong_exponents_rejected():
    study = STUDIES["nonconvex"]
    p = study.make_params({"horizons": [100, 316, 1000], "n_traj": 300, "methods": ["gclip"], "n_boot": 2000,
                           "confidence": LEVEL, "allowance": ALLOWANCE, "seed": 11})
    values = pd.concat([study.run_cell(c)["values"] for c in study.cells(p)], ignore_index=True)
    tables = study.analyze(p, {"values": values})
    slopes = tables["slopes"]
    row = slopes[(slopes["metric"] == "thm2_lhs") & (slopes["statistic"] == "0.5")].iloc[0]
    t = theory.exponent("thm2", "gclip", "nonconvex", "thm2_lhs", 1.5)
    assert row["theory"] == t and row["verdict"] == "within (tight)", row.to_dict()
    assert row["statement"] == "thm2" and row["kind"] == "upper"
    report = study.report(tables, {"params": dataclasses.asdict(p)})
    assert "Theorem 2 upheld" in report and "tight: thm2_lhs q=0.5" in report
    fit = _fit(row)
    half = (fit.ci_high - fit.ci_low) / 2
    # negative controls: the unsquared exponent −(α−1)/(3α−2) and the strongly convex −2(α−1)/α
    for wrong, said in ((theory.exponent("thm2", "gclip", "nonconvex", "grad_norm_min", 1.5), "within (not tight)"),
                        (theory.exponent("thm4", "gclip", "strongly_convex", "f_avg", 1.5), "violates")):
        assert half < abs(wrong - t) - ALLOWANCE, (half, wrong)
        words = verdict.WORDS["upper"][verdict.outcome(fit.slope, fit.ci_low, fit.ci_high, wrong, ALLOWANCE)]
        assert words == said, (wrong, fit)
    # the min over k is bounded through min ≤ average: never slower than the bound
    mins = slopes[(slopes["metric"] == "grad_norm_min") & slopes["statistic"].isin(["0.5", "0.9"])]
    assert set(mins["verdict"]) <= {"within (tight)", "within (not tight)"}, mins
    # 300 runs cannot bound a 0.99-quantile at level 1 − 1e−3 (needs 757): not a verdict
    top = slopes[(slopes["statistic"] == "0.99") & (slopes["metric"] != "grad_norm")]  # the judged quantities
    assert (top["verdict"] == "insufficient data").all() and verdict.runs_needed(0.99, LEVEL) == 757
    assert np.all(slopes["n_failed"] == 0)


def test_bad_flag_exits_2_with_one_line(capsys):
    assert cli.main(["nonconvex", "--horizons", "100,1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--horizons" in err
    assert cli.main(["nonconvex", "--tau0", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--tau0" in err
