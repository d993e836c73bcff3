"""The bias study's verdicts (Koloskova et al.) on a small but sufficient run, its exact floor, and bad flags.

Rule under test (the study's docstring, ``bias.floor_verdict``): per (noise, c), the slope of log median(avg
‖∇f‖) against log η; *vanishes* if its interval lies above t = 0.25, *floor* if below. Sizes: c = 1,
η ∈ {0.1, 0.03, 0.01}, N = 100, K = 3000 (η_min·K = 30 relaxation times of the contraction η·P(|x + ξ| < c)).
The intervals here are distribution-free (:func:`box_slopes`): each of a noise's three medians gets its exact
order-statistic interval at level 1 − 1/6·10^−3, so both noises' boxes (six intervals, which also give the floor
check's interval) hold at once with probability ≥ 1 − 10^−3: the false-failure rate is ≤ 10^−3 by the union
bound, with no bootstrap level to take on trust (the study's own 95 % bootstrap is calibrated by ``study
calibrate``; its extreme levels cannot be measured). Margins at these sizes (seed 0): symmetric slope 0.535 in
[0.451, 0.611], one-sided 0.000 in [−0.010, 0.009], both ≥ 0.16 away from t.
Negative control: symmetric noise must not be called a floor.
"""

import math

import numpy as np
import pandas as pd
import pytest

from synthclip import noise, stats, theory
from synthclip.harness import cli
from synthclip.study import STUDIES, bias

FALSE_FAILURE = 1e-3
LEVEL = 1 - FALSE_FAILURE  # the joint level of each verdict's intervals (read by studies/replicate_checks.py)


def box_slopes(floors: pd.DataFrame, *, confidence: float, threshold: float) -> pd.DataFrame:
    """The η-slope per (noise, c) with a distribution-free interval, judged by ``bias.floor_verdict``.

    Each median over runs gets its exact order-statistic interval (``stats.quantile_ci``) at level
    1 − (1 − confidence)/m for the m step sizes, so all m hold at once with probability ≥ confidence
    (union bound); the OLS slope of the log medians is linear in them, so its interval is the slope's range
    over that box (each log median at the end its coefficient's sign asks for). Wider than the bootstrap, but
    its level is exact-conservative at any level, where a percentile bootstrap's extreme ends are not
    measurable: used here at level 1 − 10^−3.
    """
    rows = []
    for (law, c), part in floors.groupby(["noise", "clip"], sort=True):
        by_lr = sorted(part.groupby("lr"))
        level = 1.0 - (1.0 - confidence) / len(by_lr)
        # failed runs are already +inf in grad_norm_avg (run_cell), so they raise the medians' ends
        ends = [stats.quantile_ci(g["grad_norm_avg"].to_numpy(), 0.5, confidence=level) for _, g in by_lr]
        x = np.log([lr for lr, _ in by_lr])
        weights = (x - x.mean()) / ((x - x.mean()) @ (x - x.mean()))
        with np.errstate(divide="ignore", invalid="ignore"):
            est, low, high = (np.log([e[i] for e in ends]) for i in range(3))
        slope = float(weights @ est)
        lo = float(np.sum(np.where(weights > 0, weights * low, weights * high)))
        hi = float(np.sum(np.where(weights > 0, weights * high, weights * low)))
        rows.append(
            {
                "noise": law,
                "clip": c,
                "slope": slope,
                "ci_low": lo,
                "ci_high": hi,
                "lr_min": by_lr[0][0],
                "floor": ends[0][0],
                "floor_low": ends[0][1],
                "floor_high": ends[0][2],
                "verdict": bias.floor_verdict(slope, lo, hi, threshold),
                "confidence": confidence,
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def slopes():
    study = STUDIES["bias"]
    _, p = cli.parse(["bias", "--clips", "1", "--lrs", "0.1,0.03,0.01", "--n-traj", "100", "--steps", "3000"])
    floors = pd.concat([study.run_cell(c)["floors"] for c in study.cells(p)], ignore_index=True)
    n_noises = floors["noise"].nunique()
    out = box_slopes(floors, confidence=1 - FALSE_FAILURE / n_noises, threshold=0.25)
    alpha = float(floors["alpha"].iloc[0])
    out["predicted"] = [theory.clip_floor(r.noise, alpha, r.clip) for r in out.itertuples()]
    return {r.noise: r for r in out.itertuples()}


def test_one_sided_noise_leaves_a_floor(slopes):
    r = slopes["pareto-onesided"]
    assert r.verdict == "floor", r
    # the floor is the exact |x_c|; the time average of |x| may sit one step (η·c) away from it
    assert r.floor_low - r.lr_min * r.clip <= r.predicted <= r.floor_high + r.lr_min * r.clip, r


def test_symmetric_noise_has_no_floor(slopes):
    r = slopes["pareto"]
    assert r.verdict != "floor", r  # negative control
    assert r.verdict == "vanishes", r


@pytest.mark.parametrize("c", [0.5, 2.0])
def test_exact_floor_zeroes_the_clipped_mean(c):
    """E clip(x_c + ξ, c) = 0 checked by Monte Carlo on the engine's own sampler: the clipped values lie in
    [−c, c], so the sample mean's sd is ≤ c/√n and |mean| ≤ 3.3·c/√n fails with probability ≤ 10^−3."""
    alpha, n = 1.5, 1_000_000
    xc = theory.clip_floor("pareto-onesided", alpha, c)
    assert abs(theory.mean_clipped(xc, alpha, c)) < 1e-10
    xi = noise.sample("pareto-onesided", alpha, n, seed=f"bias-floor-{c}")
    assert abs(np.mean(np.clip(xc + xi, -c, c))) <= 3.3 * c / math.sqrt(n)
    assert theory.clip_floor("pareto", alpha, c) == 0.0


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--lrs", "0.1"], "--lrs needs at least 2 distinct step sizes"),
        (["--lrs", "0.1,3"], "--lrs must be a finite number in (0, 2)"),
        (["--clips", "1,-2"], "--clips must be a finite number > 0"),
        (["--noises", "gaussian"], "--noises: unknown value 'gaussian'"),
        (["--steps", "10", "--tail-points", "50"], "--steps must be >= 2·--tail-points"),
        (["--alpha", "1"], "--alpha must be in"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, needle, capsys):
    assert cli.main(["bias", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
