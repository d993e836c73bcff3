"""The smoothness study (Zhang et al. ICLR 2020): its verdict on a small run, negative controls, a bad flag.

Rule (the study's, fixed in its docstring): with growth exponents b = slope of log(median iterations to ε)
against log x0 over the last decade of x0 (synthclip.verdict's window; e^x0 for cosh), bootstrap intervals [lo, hi] over trajectories, the
allowance A = 0.05 and the margin M = 0.5, the claim holds when clipped and normalised GD grow at most
linearly (lo − A ≤ 1) and step-size-tuned GD grows faster than both and than linear by more than M
(lo_gd − max(1, hi) > M).

The gradient noise (Gaussian, 1e−3) moves a hitting time by a checkpoint or an iteration (log-spaced
checkpoints ~1% apart), so the intervals (level 1 − 1e−3, 12 trajectories per start: the fewest whose
order-statistic interval bounds the median at that level, synthclip.verdict.runs_needed) are 0.01–0.2 wide
(widest for clip on cosh, whose counts are ~10 iterations) while the exponents are 2 (x0²) against ≤ 1 on
x⁴/4 and 4.5 against ≤ 1 on cosh: (b) holds by > 2.5, several interval widths. (a) is tight by design for
normalised GD, which is exactly linear (count ⌈(x0 − r_ε)/h⌉: local exponent 1.006 on x⁴/4 over x0 = 4..16,
lower interval end 1.013 in each of seeds 1–5, 0.04 inside the threshold 1 + A); clip is affine (exponents 0.26 and 0.65). The false-failure rate is that of the intervals,
≤ 1e−3. So that a noisier run cannot pass by luck, the test asserts every interval is narrower than M. Negative controls: the same
separation rule applied to a linearly growing method (normalised GD in the role of the fixed-step one)
must say "not supported", and gd-tuned's measured exponent on x⁴/4 must be judged inconsistent with the
clipped method's linear growth (a wrong exponent 1) as well as with 3.
"""

import math

import pandas as pd

from synthclip import stats, theory, verdict
from synthclip.findings import smoothness_separation
from synthclip.harness import cli
from synthclip.study import STUDIES
from synthclip.study.smoothness import ADAPTIVE

LEVEL = 1 - 1e-3
ALLOWANCE, MARGIN = 0.0, 0.5  # the rule's allowance (none); the grid's quantization is added per row


def test_clipped_beats_fixed_step_and_controls_are_rejected():
    study = STUDIES["smoothness"]
    p = study.make_params(
        {
            "x0_quartic": [1.0, 2.0, 4.0, 8.0, 16.0],
            "x0_cosh": [1.0, 3.0, 5.0, 6.0],
            "steps": 25_000,
            "n_traj": 12,
            "n_checkpoints": 600,
            "n_boot": 2000,
            "confidence": LEVEL,
            "allowance": ALLOWANCE,
            "margin": MARGIN,
            "seed": 3,
        }
    )
    hits = pd.concat([study.run_cell(c)["hits"] for c in study.cells(p)], ignore_index=True)
    slopes = study.analyze(p, {"hits": hits})["slopes"]
    loglog = slopes[slopes["scale"] == "loglog"]
    for problem in ("quartic", "cosh"):
        part = slopes[slopes["problem"] == problem]
        assert part["claim"].iloc[0].startswith("supported"), part["claim"].iloc[0]
        judged = loglog[(loglog["problem"] == problem) & (loglog["method"] != "gd-fixed")]
        assert ((judged["ci_high"] - judged["ci_low"]) < MARGIN).all(), judged
        # negative control: a method that grows linearly (normalised GD's own rows) posing as the
        # fixed-step one is not "much faster"
        fake = pd.concat(
            [part[part["method"] != "gd-tuned"], part[part["method"] == "normalized"].assign(method="gd-tuned")],
            ignore_index=True,
        )
        assert smoothness_separation(fake, ALLOWANCE, MARGIN, ADAPTIVE).startswith("not supported")
        # a step not tuned to the start diverges from far starts
        assert "never reaches eps" in part.loc[part["method"] == "gd-fixed", "verdict"].iloc[0]
    gd = loglog[(loglog["problem"] == "quartic") & (loglog["method"] == "gd-tuned")].iloc[0]
    assert gd["verdict"] == "consistent" and gd["theory"] == 2.0, gd.to_dict()
    # the quantization allowance is derived from the grid alone, and it is small against the resolution
    assert 0 < gd["grid_allowance"] < 0.025 and gd["ci_high"] - gd["ci_low"] + 2 * gd["grid_allowance"] < 0.1
    fit = stats.RateFit(
        slope=gd["slope"],
        ci_low=gd["ci_low"],
        ci_high=gd["ci_high"],
        intercept=gd["intercept"],
        q=0.5,
        kmin=gd["x_min"],
        kmax=gd["x_max"],
        n_points=int(gd["n_points"]),
        n_boot=0,
        n_traj=int(gd["n_traj"]),
    )
    assert growth_verdict(fit, 1.0, p) == "grows faster"
    assert growth_verdict(fit, 3.0, p) == "grows slower"
    for near in (1.9, 2.1):  # near misses at the resolution are never called consistent
        assert growth_verdict(fit, near, p, gd["grid_allowance"]) != "consistent"
    semi = slopes[(slopes["problem"] == "cosh") & (slopes["scale"] == "semilog")].iloc[0]
    assert semi["verdict"] == "consistent", semi.to_dict()


def growth_verdict(fit, t, p, grid=0.0) -> str:
    """The rule's word for a growth exponent in x0 asked to be exactly t (a wrong exponent: a control)."""
    exact = theory.Claim(
        "growth", "-", "-", "-", "", "", "exact", lambda a: t, variable="x0", alpha_range=(0.0, math.inf)
    )
    return verdict.judge_fit(fit, exact, 2.0, p, n_traj=fit.n_traj, q=0.5, widen=grid).verdict


def test_bad_flag_exits_2_with_one_line(capsys):
    assert cli.main(["smoothness", "--x0-cosh", "1,1000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--x0-cosh" in err
    assert cli.main(["smoothness", "--methods", "adam"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--methods" in err
