"""The confidence study's verdicts (Chezhegov et al.) on a small but sufficient run, and its bad flags.

Rule under test (the study's docstring): *polynomial* if the poly-model slope's interval lies above
s_max·β, else *polylog* if the polylog-model slope's interval lies below s_max (= 2), else *undecided*.
Sizes: N = 5000 trajectories, K = 300, δ from 0.1 to 2·10^−3, so the smallest δ leaves δN = 10 runs above
its quantile (the fewest for which an order-statistic interval and its bootstrap are meaningful); on that grid
s_max·β = 0.497. Intervals are at level 1 − 2.5·10^−4 with 8000 bootstrap replicates (2 beyond each end), and
a verdict below can only be wrong if one of its intervals misses the true slope: 4 intervals in all, so the
false-failure rate is ≤ 4 × 2.5·10^−4 = 10^−3. The margins are wide: at these sizes (quick run, 95% CIs)
clipped AdaGrad-Norm's polylog slope is 1.36 [1.26, 1.49] against 2, delayed AdaGrad-Norm's poly slope
1.90 [1.68, 2.18] and tied-b0 AdaGrad-Norm's 1.40 [1.22, 1.64] against 0.497.
Negative control: delayed AdaGrad-Norm must not be called polylogarithmic.
"""
import numpy as np
import pytest

from synthclip.study import STUDIES, cli
from synthclip.study import confidence as conf

LEVEL = 1 - 2.5e-4
SIZES = ["--n-traj", "5000", "--steps", "300", "--delta-min", "2e-3", "--n-boot", "8000",
         "--confidence", str(LEVEL)]


@pytest.fixture(scope="module")
def verdicts():
    study = STUDIES["confidence"]
    _, p = cli.parse(["confidence", *SIZES])
    wanted = {("reference", "clip_adagrad_norm"), ("reference", "adagrad_norm-delayed"), ("tied-b0", "adagrad_norm")}
    cells = [c for c in study.cells(p) if (c["instance"], c["label"]) in wanted]
    assert len(cells) == 3
    results = [study.run_cell(c) for c in cells]
    import pandas as pd

    tables = {name: pd.concat([r[name] for r in results], ignore_index=True) for name in results[0]}
    v = study.analyze(p, tables)["verdicts"]
    return {(r.instance, r.method): r for r in v.itertuples()}


def test_boundary_is_the_poly_slope_of_log_power():
    deltas = np.geomspace(0.1, 2e-3, 10)
    q = np.log(1 / deltas) ** 2.0
    from synthclip import stats

    assert stats.delta_fit(deltas, q, "poly").slope == pytest.approx(conf.boundary_slope(deltas, 2.0), rel=1e-12)
    assert stats.delta_fit(deltas, q, "polylog").slope == pytest.approx(2.0, rel=1e-12)


def test_clipped_adagrad_norm_is_polylog(verdicts):
    r = verdicts[("reference", "clip_adagrad_norm")]
    assert r.verdict == "polylog", r
    assert r.agrees == "yes"


def test_delayed_adagrad_norm_is_polynomial_never_polylog(verdicts):
    r = verdicts[("reference", "adagrad_norm-delayed")]
    assert r.verdict != "polylog", r  # negative control
    assert r.verdict == "polynomial", r


def test_plain_adagrad_norm_fails_on_the_tied_instance(verdicts):
    r = verdicts[("tied-b0", "adagrad_norm")]
    assert r.verdict == "polynomial", r


@pytest.mark.parametrize("args,needle", [
    (["--delta-min", "1e-6"], "--delta-min must be >= 10/--n-traj"),
    (["--delta-min", "0.5"], "--delta-min must be in (0, --delta-max"),
    (["--instances", "reference,bogus"], "--instances: unknown value 'bogus'"),
    (["--methods", "adamw"], "--methods: unknown value 'adamw'"),
    (["--n-deltas", "2"], "--n-deltas must be an integer >= 3"),
    (["--noise", "gaussian"], "--noise must be a heavy-tailed law"),
    (["--alpha", "0.5"], "--alpha must be in"),
])
def test_bad_flags_exit_2_with_one_line(args, needle, capsys):
    assert cli.main(["confidence", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
