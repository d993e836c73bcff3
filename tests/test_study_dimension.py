"""The dimension study's verdicts (Corollary 7 vs Theorem 8) on a small but sufficient run, and its bad flags.

Rule under test (the study's docstring): the GClip/CClip ratio of medians *grows* if its growth exponent's
interval lies above t = 0.1, is *flat* if it lies inside [−t, t]. Sizes: d ∈ {1, 10, 100}, N = 100
trajectories per (method, d), K = 300; intervals at level 1 − 5·10^−4 from 8000 joint bootstrap replicates
(trajectories resampled together across methods and d: they share the noise). Each verdict fails only if its
interval misses the true exponent, so the false-failure rate is ≤ 2 × 5·10^−4 = 10^−3. Margins at these sizes
(quick run, 95% CIs): i.i.d. exponent 0.307 [0.294, 0.321] against t = 0.1, radial −0.000 [−0.000, 0.007]
inside [−0.1, 0.1]; the reference run's d = 100 ratio is 3.56 (i.i.d.) against 1.19 (radial).
Negative control: the ratio under i.i.d. noise must not be called flat.
"""
import pandas as pd
import pytest

from synthclip.study import STUDIES, cli
from synthclip.study import dimension as dim

LEVEL = 1 - 5e-4


@pytest.fixture(scope="module")
def growth():
    study = STUDIES["dimension"]
    _, p = cli.parse(["dimension", "--dims", "1,10,100", "--n-traj", "100", "--steps", "300"])
    finals = pd.concat([study.run_cell(c)["finals"] for c in study.cells(p)], ignore_index=True)
    out = dim.analyze_finals(finals, n_boot=8000, confidence=LEVEL, tolerance=0.1, seed=11)
    g = out["growth"]
    return {(r.structure, r.series): r for r in g.itertuples()}, out


def test_ratio_grows_under_iid_noise_never_flat(growth):
    g, _ = growth
    r = g[("iid", "ratio")]
    assert r.verdict != "flat", r  # negative control
    assert r.verdict == "grows", r
    assert r.bound == pytest.approx(2 / 1.5)  # the bound's exponent d^(2/α) from theory.py


def test_ratio_is_flat_under_radial_noise(growth):
    g, _ = growth
    r = g[("radial", "ratio")]
    assert r.verdict == "flat", r
    assert r.bound == 0.0


def test_d1_ratio_is_exactly_one(growth):
    # CClip in d = 1 is GClip (THEORY.md corner case), and the GClip level is scaled by √1
    _, out = growth
    ratios = out["ratios"]
    assert (ratios[ratios["dim"] == 1]["ratio"] == 1.0).all()


@pytest.mark.parametrize("args,needle", [
    (["--dims", "10"], "--dims needs at least 2 distinct dimensions"),
    (["--dims", "0,10"], "--dims must be positive integers"),
    (["--structures", "iid,ring"], "--structures: unknown value 'ring'"),
    (["--metric", "loss"], "--metric: unknown value 'loss'"),
    (["--clip", "-1"], "--clip must be a finite number > 0"),
    (["--n-traj", "1"], "--n-traj must be >= 2"),
])
def test_bad_flags_exit_2_with_one_line(args, needle, capsys):
    assert cli.main(["dimension", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
