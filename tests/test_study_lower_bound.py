"""The lower-bound study (Theorem 5): its verdict on a small run, a negative control, and a bad flag.

Rule (synthclip.verdict's, the same for every study): with [lo, hi] the percentile-bootstrap interval
(trajectories resampled) of the slope of log E f(x_K) against log K over the last decade of horizons and
A = 0.05 the allowance, a method *violates* the lower bound's exponent t when t > hi + A, i.e. its mean error decays significantly faster than the bound allows.
Here the interval's level is 1 − 1e−3, so a method whose true decay is no faster than the bound is called a
violator with probability ≤ 5e−4 (one side of the interval); the positive check covers two methods whose
mean sits on the bound (SGD with η_k = 4/(k+1) and GClip), so its false-failure rate is ≤ 1e−3. The
negative control applies the same rule to a bound that is too strong, −(α−1)/α (Table 1's rate read as a
lower bound): both methods must be called violators; the test asserts that the interval's upper end is
more than A below it, the margin coming from N = 2000 runs per horizon (measured over seeds: the mean's
slope is −0.64..−0.68 for SGD with hi ≤ −0.52, −0.66..−0.68 for GClip with hi ≤ −0.64, against the bound
−2/3 and the wrong −1/3). The horizons are the study's defaults; the rule's window keeps K ∈ [1000, 10^4].
"""
import dataclasses

import pandas as pd

from synthclip import theory, verdict
from synthclip.study import STUDIES, cli

LEVEL = 1 - 1e-3
ALLOWANCE = 0.05


def test_every_method_respects_theorem5_and_a_too_strong_bound_is_violated():
    study = STUDIES["lower-bound"]
    p = study.make_params({"n_traj": 2000, "methods": ["sgd", "gclip", "adam_norm"],
                           "n_boot": 2000, "confidence": LEVEL, "allowance": ALLOWANCE, "seed": 5})
    values = pd.concat([study.run_cell(c)["values"] for c in study.cells(p)], ignore_index=True)
    tables = study.analyze(p, {"values": values})
    slopes = tables["slopes"]
    mean = slopes[slopes["statistic"] == "mean"].set_index("method")
    t = theory.exponent("thm5", "*", "strongly_convex", "f", 1.5)
    assert set(mean["theory"]) == {t}
    assert mean.loc["sgd", "verdict"] == "respects (tight)", mean.loc["sgd"].to_dict()
    assert mean.loc["gclip", "verdict"] == "respects (tight)", mean.loc["gclip"].to_dict()
    assert mean.loc["adam_norm", "verdict"].startswith("respects"), mean.loc["adam_norm"].to_dict()
    assert "every method respects the lower bound" in study.report(tables, {"params": dataclasses.asdict(p)})
    # negative control: a bound −(α−1)/α, stronger than Theorem 5's, must be reported as violated
    wrong = theory.exponent("table1", "gclip", "strongly_convex", "f_avg", 1.5)
    for method in ("sgd", "gclip"):
        r = mean.loc[method]
        assert (r["kmin"], r["kmax"]) == (1000, 10000)  # the rule's last decade of the default horizons
        assert r["ci_high"] + ALLOWANCE < wrong, r.to_dict()
        words = verdict.WORDS["lower"][verdict.outcome(r["slope"], r["ci_low"], r["ci_high"], wrong, ALLOWANCE)]
        assert words == "violates", r.to_dict()
    # the median carries the bound too (the drift that pays back the spike's mean): a certificate for the mean
    med = slopes[slopes["statistic"] == "0.5"].set_index("method")
    assert all(v.startswith("certifies") for v in med["verdict"]), med  # a quantile certifies the mean's bound


def test_bad_flag_exits_2_with_one_line(capsys):
    assert cli.main(["lower-bound", "--horizons", "100,300", "--spike-events", "150"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--spike-events" in err
    assert cli.main(["lower-bound", "--metric", "median"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--metric" in err
