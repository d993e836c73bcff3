"""The bias study's verdicts (Koloskova et al.) on a small but sufficient run, its exact floor, and bad flags.

Rule under test (the study's docstring): per (noise, c), the slope of log median(avg ‖∇f‖) against log η;
*vanishes* if its interval lies above t = 0.25, *floor* if below. Sizes: c = 1, η ∈ {0.1, 0.03, 0.01}, N = 100,
K = 3000 (η_min·K = 30 relaxation times of the contraction η·P(|x + ξ| < c)); intervals at level
1 − 2.5·10^−4 from 8000 joint bootstrap replicates, so the two verdicts plus the floor check below fail with
probability ≤ 3 × 2.5·10^−4 < 10^−3. Margins at these sizes (quick run, 95% CIs): symmetric slope
0.536 [0.510, 0.560], one-sided −0.004 [−0.006, −0.003], both ≥ 0.25 away from t.
Negative control: symmetric noise must not be called a floor.
"""
import math

import numpy as np
import pandas as pd
import pytest

from synthclip import noise
from synthclip.study import STUDIES, cli
from synthclip.study import bias

LEVEL = 1 - 2.5e-4


@pytest.fixture(scope="module")
def slopes():
    study = STUDIES["bias"]
    _, p = cli.parse(["bias", "--clips", "1", "--lrs", "0.1,0.03,0.01", "--n-traj", "100", "--steps", "3000"])
    floors = pd.concat([study.run_cell(c)["floors"] for c in study.cells(p)], ignore_index=True)
    out = bias.analyze_floors(floors, n_boot=8000, confidence=LEVEL, threshold=0.25, seed=5)
    return {r.noise: r for r in out["slopes"].itertuples()}


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
    xc = bias.clip_floor("pareto-onesided", alpha, c)
    assert abs(bias.mean_clipped(xc, alpha, c)) < 1e-10
    xi = noise.sample("pareto-onesided", alpha, n, seed=f"bias-floor-{c}")
    assert abs(np.mean(np.clip(xc + xi, -c, c))) <= 3.3 * c / math.sqrt(n)
    assert bias.clip_floor("pareto", alpha, c) == 0.0


@pytest.mark.parametrize("args,needle", [
    (["--lrs", "0.1"], "--lrs needs at least 2 distinct step sizes"),
    (["--lrs", "0.1,3"], "--lrs must be < 2"),
    (["--clips", "1,-2"], "--clips values must be finite numbers > 0"),
    (["--noises", "gaussian"], "--noises: unknown value 'gaussian'"),
    (["--steps", "10", "--tail-points", "50"], "--steps must be >= 2·--tail-points"),
    (["--alpha", "1"], "--alpha must be in"),
])
def test_bad_flags_exit_2_with_one_line(args, needle, capsys):
    assert cli.main(["bias", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
