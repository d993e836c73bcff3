"""The dimension study (Corollary 7 vs Theorem 8) on small but sufficient runs: its scope, its shapes, and its flags.

Rule under test (the study's docstring): the growth exponent in d of the MEAN error (and of the GClip/CClip ratio
of means), its joint bootstrap interval, and the shape: *grows* if the interval lies above t = 0.1, *flat* if
it lies inside [−t, t]. The ratio is reported beside the ratio of the two bounds (kind "bound-ratio": never
judged); each method's growth is judged only inside its bound's scope (the theorem's own clip level), which the
study's τ0·k^(1/α) is not, so those rows read "none".

Sizes: d ∈ {1, 10, 100}, N = 100 trajectories per (method, d), K = 300, τ0 = 0.1. Intervals at level 1 − 10^−3
from 20 000 joint bootstrap replicates (≥ 20/(1 − c), docs/theory.md). A statistical assertion below fails only
if an interval misses the exponent the finite-size run actually has, so each has a false-failure rate of about
10^−3, and the file's ≤ 6 such assertions at most 6·10^−3. Measured at exactly these sizes and levels over seeds
0-3 (ranges over the seeds): Pareto α = 1.5 i.i.d. ratio exponent +0.389…+0.395, interval low end ≥ 0.377
(grows: far above t = 0.1); radial +0.043…+0.048 with the high end ≤ 0.055 (flat); Gaussian i.i.d. ratio
−0.008…−0.007 (flat); CClip's i.i.d. mean exponent is exactly 1 (separable problem and method: E f = d·E f_1),
measured +0.95…+1.03 with intervals ≈ ±0.1 around it; clipped fractions ≥ 0.149 at every d.
Negative controls: the Pareto i.i.d. ratio must not be called flat (the rule can say "grows"); a ratio of methods
that do not clip is "insufficient data"; the ratio's exponent at two clip levels must differ (it is a property of
the run's τ0, which is why no bound's ratio judges it).
"""

import json

import numpy as np
import pandas as pd
import pytest

from synthclip import theory, verdict
from synthclip.harness import cli
from synthclip.study import STUDIES
from synthclip.study import dimension as dim

LEVEL = 1 - 1e-3
N_BOOT = 20_000
SMALL = [
    "--dims",
    "1,10,100",
    "--clips",
    "0.1",
    "--n-traj",
    "100",
    "--steps",
    "300",
    "--confidence",
    str(LEVEL),
    "--n-boot",
    str(N_BOOT),
    "--quiet",
]


def _run(tmp_path_factory, name, *flags):
    out = tmp_path_factory.mktemp(name) / "dimension"
    assert cli.main(["dimension", *SMALL, *flags, "--out", str(out)]) == 0
    # every check reads the stored tables, as the scoreboard and the notebook do
    tables = {t: pd.read_parquet(out / f"{t}.parquet") for t in STUDIES["dimension"].tables}
    meta = json.loads((out / "meta.json").read_text())
    return tables, meta, out


def _rows(tables):
    return {(r.structure, r.series): r for r in tables["growth"].itertuples()}


@pytest.fixture(scope="module")
def pareto(tmp_path_factory):
    return _run(tmp_path_factory, "pareto", "--noise", "pareto", "--alpha", "1.5")


@pytest.fixture(scope="module")
def gaussian(tmp_path_factory):
    return _run(tmp_path_factory, "gaussian", "--noise", "gaussian", "--alpha", "2", "--structures", "iid")


def test_gaussian_iid_ratio_is_flat_and_reported_beside_the_ratio_of_bounds(gaussian):
    g = _rows(gaussian[0])
    r = g[("iid", "ratio")]
    assert r.statement == "thm4/thm8-sharp" and r.theory == 0.0 and r.kind == "bound-ratio"  # d^(2/α − 1) at α = 2
    assert r.shape == "flat" and r.expected == "flat", r
    # a ratio of two upper bounds predicts no ratio of errors: reported, never judged (nor the printed one)
    assert r.verdict == verdict.BOUND_RATIO, r
    assert r.printed_statement == "cor7/thm8" and r.printed_theory == 1.0 and r.printed_verdict == verdict.BOUND_RATIO
    report = (gaussian[2] / "report.txt").read_text()
    assert "reported (ratio of bounds)" in report and "beside the bounds' ratio d^0.000" in report


def test_cclip_iid_mean_grows_exactly_like_d_and_is_judged_by_no_bound(gaussian):
    # CClip on the separable quadratic with i.i.d. coordinates is d independent 1-d runs: E f = d·E f_1, so
    # the mean's exponent is exactly 1 (the median's need not be: the issue measured d^1.17 on medians). The
    # interval is at level 1 − 10^−3, so this fails by chance with probability about 10^−3.
    r = _rows(gaussian[0])[("iid", "cclip")]
    assert r.ci_low <= 1.0 <= r.ci_high, r
    # Theorem 8's constant is stated for its own clip level (τ_k = B k^(α−1)); the run's τ0·k^(1/α) is outside it
    assert r.statement == verdict.NONE and r.verdict == verdict.NONE and "lies outside it" in r.reason, r


def test_pareto_iid_ratio_grows_never_flat(pareto):
    r = _rows(pareto[0])[("iid", "ratio")]
    assert r.shape != "flat", r  # negative control for the radial "flat"
    assert r.shape == "grows" and r.expected == "grows", r
    assert r.theory == pytest.approx(2 / 1.5 - 1) and r.printed_theory == pytest.approx(2 / 1.5)


def test_radial_ratio_is_flat_with_both_methods_clipping(pareto):
    tables = pareto[0]
    r = _rows(tables)[("radial", "ratio")]
    assert r.shape == "flat" and r.statement == "cor7/thm8-radial", r
    assert r.verdict == verdict.BOUND_RATIO, r
    e = tables["errors"]
    clipped = e[e["structure"] == "radial"].set_index(["method", "dim"])["clip_frac"]
    # both clip a substantial fraction at every d (expected ≈ 0.15-0.19 at K = 300; a mean over 100 runs)
    assert len(clipped) == 6 and (clipped > 0.05).all(), clipped
    assert "clipped GClip / CClip" in (pareto[2] / "report.txt").read_text()


def test_the_ratio_exponent_moves_with_the_clip_level(tmp_path_factory):
    # The issue measured the i.i.d. ratio's exponent at +0.28 / +0.32 / +0.39 for τ0 = 1 / 0.1 / 0.03: it is a
    # property of the run's clip level, not a constant of d. At these sizes (measured: +0.309 [+0.299, +0.321]
    # at τ0 = 1, +0.389 [+0.382, +0.396] at 0.1, 95 %) the two 1 − 10^−3 intervals are disjoint; the check fails
    # by chance only if one of them misses its exponent (≤ 2·10^−3).
    tables, _, out = _run(
        tmp_path_factory, "sweep", "--noise", "pareto", "--alpha", "1.5", "--structures", "iid", "--clips", "1,0.1"
    )
    ratio = tables["growth"][tables["growth"]["series"] == "ratio"].set_index("tau0")
    assert list(ratio.index) == [1.0, 0.1]
    assert ratio.loc[1.0, "ci_high"] < ratio.loc[0.1, "ci_low"], ratio
    assert "it moves with τ0" in (out / "report.txt").read_text()
    # the local exponents between consecutive d: one per pair, per series and τ0
    local = tables["local"]
    assert len(local) == 2 * 3 * 2 and set(zip(local["d_low"], local["d_high"])) == {(1, 10), (10, 100)}
    assert (local["ci_low"] <= local["exponent"]).all() and (local["exponent"] <= local["ci_high"]).all()


def test_d1_ratio_is_exactly_one(pareto):
    # CClip in d = 1 is GClip (docs/theory.md corner case), the GClip level is scaled by √1 and radial = i.i.d. in d = 1
    ratios = pareto[0]["ratios"]
    assert (ratios[ratios["dim"] == 1]["ratio"] == 1.0).all()


def _covers(row) -> bool:
    """Whether the claim named in a growth row has a scope that contains the row."""
    c = theory.claim(row.statement, row.method, row.setting, "ratio" if row.series == "ratio" else row.metric)
    return c.covers(
        row.method,
        row.setting,
        "ratio" if row.series == "ratio" else row.metric,
        row.theory_alpha,
        noise=theory.noise_family(row.noise, row.structure),
        schedule=dim.SCHEDULE,
        variable="d",
    )


def test_no_row_is_judged_by_a_claim_whose_scope_excludes_it(pareto, gaussian):
    for tables in (pareto[0], gaussian[0]):
        for row in tables["growth"].itertuples():
            if row.series == "ratio":
                assert row.statement != verdict.NONE and _covers(row), row
            else:  # the method bounds' scope is their own clip schedule, not the study's
                assert row.statement == verdict.NONE and row.verdict == verdict.NONE, row


def _synthetic_finals(alpha=1.5, metric="f_avg", noise="pareto", gclip_clips=0.2):
    """Finals whose GClip/CClip ratio grows like d^(1/3), with a chosen GClip clipped fraction."""
    rng = np.random.default_rng(0)
    frames = []
    for structure in dim.STRUCTURES:
        for d in (1, 10, 100):
            base = rng.exponential(size=50) * d
            for method in dim.METHODS:
                grow = d ** (1 / 3) if (method == "gclip" and structure == "iid") else 1.0
                frames.append(
                    pd.DataFrame(
                        {
                            "structure": structure,
                            "method": method,
                            "dim": d,
                            "noise": noise,
                            "alpha": alpha,
                            "steps": 10,
                            "metric": metric,
                            "trajectory": np.arange(50),
                            "value": base * grow * (1 + 0.1 * rng.random(50)),
                            "clip_frac": gclip_clips if method == "gclip" else 0.2,
                            "failed": False,
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def _analyze(finals):
    out = dim.analyze_finals(finals, n_boot=200, confidence=0.95, tolerance=0.1, seed=1)
    return {(r.structure, r.series): r for r in out["growth"].itertuples()}


def test_rows_outside_every_scope_say_none():
    # in scope: judged, and by a covering claim
    g = _analyze(_synthetic_finals())
    assert all(r.statement != verdict.NONE and _covers(r) for (_, series), r in g.items() if series == "ratio")
    # α = 3 lies outside every claim's α ∈ (1, 2]; the last iterate is outside the ratio claims (bounds on x̄_k)
    # and outside the error claims (f_avg only)
    for finals in (_synthetic_finals(alpha=3.0), _synthetic_finals(metric="f")):
        for r in _analyze(finals).values():
            assert r.statement == verdict.NONE and r.verdict == verdict.NONE, r


def test_a_ratio_of_methods_that_do_not_clip_is_insufficient_data():
    g = _analyze(_synthetic_finals(gclip_clips=0.0))
    for structure in dim.STRUCTURES:
        r = g[(structure, "ratio")]
        assert r.verdict == verdict.INSUFFICIENT and "clipped fraction below 1%" in r.reason, r
    assert g[("iid", "gclip")].verdict != verdict.INSUFFICIENT  # a method's own growth does not need clipping


def test_scoreboard_rows_from_the_stored_tables(pareto):
    tables, meta, _ = pareto
    board = STUDIES["dimension"].scoreboard(tables, meta)
    assert list(board.columns) == list(verdict.SCOREBOARD_COLUMNS)
    assert list(board["statement"]) == ["thm4/thm8-sharp", "cor7/thm8-radial"]
    assert (board["quantity"] == "GClip/CClip ratio growth in d").all() and (board["figure"] == "dimension.png").all()
    growth = tables["growth"].set_index(["structure", "series"])
    for row in board.itertuples():
        structure = "iid" if row.statement == "thm4/thm8-sharp" else "radial"
        assert row.measured == growth.loc[(structure, "ratio"), "exponent"]
        assert row.verdict == growth.loc[(structure, "ratio"), "verdict"]
        assert row.ci_low <= row.measured <= row.ci_high


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--dims", "10"], "--dims needs at least 2 distinct dimensions"),
        (["--dims", "0,10"], "--dims must be a positive integer"),
        (["--structures", "iid,ring"], "--structures: unknown value 'ring'"),
        (["--metric", "loss"], "--metric: unknown value 'loss'"),
        (["--clips", "-1"], "--clips must be"),
        (["--n-traj", "1"], "--n-traj must be >= 2"),
        (["--allowance", "-1"], "--allowance must be"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, needle, capsys):
    assert cli.main(["dimension", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
