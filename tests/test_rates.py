"""Empirical rate-slope checks for GClip (Theorem 4) and the rates study's command line.

The rule, declared up front: a theory exponent t is *consistent* with a measured slope when
t ∈ [lo − A, hi + A], [lo, hi] the percentile-bootstrap interval (resampling trajectories) at level
1 − 1e−3, and A = 0.05 the model-error allowance: tail index = α is the boundary case of Assumption 1,
so log factors (and, for Pareto noise, the slow O(k^(1−2/α)) approach of its sums to the stable limit)
bend the curve. A correct exponent is therefore rejected with probability ≤ 1e−3 per check (the
interval's level) once the model error is within A. The negative control applies the same rule to
Table 1's exponent −(α−1)/α, which must be rejected.

Setting (as in Theorem 4): f = x²/2, η_k = 4/(k+1), Theorem 4's weighted average, proj-GClip with
radius 10 and τ_k = k^(1/α) (the proof's bias-variance balance; the schedule as printed, τ_k = k^(α−1),
is faster than the bound on symmetric noise and the study reports it as "faster"). The fit covers
k ≥ 1000 of K = 2·10^4, the last 1.3 decades, where the pre-asymptotic bend measured on Pareto noise
(local slope −0.61 at k ≈ 300, −0.63 at k ≈ 10^3, −0.65 at k ≈ 10^4 for the median) is inside A.
"""
import pytest

import synthclip
from synthclip import stats, theory
from synthclip.study import cli

LEVEL = 1 - 1e-3
ALLOWANCE = 0.05
STEPS, KMIN = 20_000, 1000


@pytest.fixture(scope="module", params=[("pareto", 1.5, 10_000), ("stable", 1.5, 5_000), ("gaussian", 2.0, 5_000)],
                ids=["pareto-1.5", "stable-1.5", "gaussian-2"])
def gclip_run(request):
    noise, alpha, n = request.param
    res = synthclip.simulate("gclip", noise=noise, alpha=alpha, steps=STEPS, n_traj=n, seed="rate-check",
                             clip_power="1/alpha", radius=10.0, checkpoints=40)
    return alpha, res


@pytest.mark.parametrize("q", [0.5, 0.9])
def test_gclip_slope_is_theorem4(gclip_run, q):
    alpha, res = gclip_run
    assert res.n_failed == 0
    fit = stats.fit_rate(res.checkpoints, res.metric("f_avg"), q, kmin=KMIN, n_boot=2000, confidence=LEVEL,
                         seed=7)
    thm4 = theory.exponent("thm4", "gclip", "strongly_convex", "f_avg", alpha)
    assert stats.slope_verdict(fit, thm4, allowance=ALLOWANCE) == "consistent", fit
    # negative control: Table 1's exponent −(α−1)/α (−1/3 at α = 1.5, −1/2 at α = 2) must be rejected
    table1 = theory.exponent("table1", "gclip", "strongly_convex", "f_avg", alpha)
    assert stats.slope_verdict(fit, table1, allowance=ALLOWANCE) == "faster", fit


# -- the command line ------------------------------------------------------------------------------

QUICK = ["--quick", "--quiet", "--n-traj", "400", "--steps", "300", "--n-boot", "50"]


def test_rates_writes_the_four_files_and_reloads(tmp_path, capsys):
    out = tmp_path / "rates"
    assert cli.main(["rates", *QUICK, "--methods", "sgd,gclip", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Table 1 vs Theorem 4" in text and "gclip" in text
    folder = out / "alpha=1.5"
    for name in ("quantiles.parquet", "slopes.parquet", "meta.json", "rates.png"):
        assert (folder / name).stat().st_size > 0
    import pandas as pd

    q = pd.read_parquet(folder / "quantiles.parquet")
    assert {"study", "method", "noise", "alpha", "dim", "metric", "k", "quantile", "value", "ci_low", "ci_high",
            "n_traj", "n_failed"} <= set(q.columns)
    s = pd.read_parquet(folder / "slopes.parquet")
    assert {"method", "metric", "quantile", "slope", "ci_low", "ci_high", "theory", "theory_source",
            "verdict"} <= set(s.columns)
    (folder / "rates.png").unlink()
    assert cli.main(["plot", str(folder)]) == 0
    assert (folder / "rates.png").stat().st_size > 0


def test_rerun_uses_cache_and_changed_parameters_replace_results(tmp_path, capsys):
    out = tmp_path / "rates"
    args = ["rates", *QUICK, "--methods", "gclip", "--out", str(out)]
    assert cli.main(args) == 0
    capsys.readouterr()
    assert cli.main(args) == 0
    assert "0 cells computed, 1 cached" in capsys.readouterr().out
    assert cli.main([*args, "--steps", "200"]) == 0
    text = capsys.readouterr().out
    assert "replacing the results" in text  # never silently mixed with the old configuration
    import pandas as pd

    q = pd.read_parquet(out / "alpha=1.5" / "quantiles.parquet")
    assert q["k"].max() == 200


def test_toml_config_is_overridden_by_flags(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('n_traj = 123\nsteps = 77\nmethods = ["sgd"]\n')
    study, p = cli.parse(["rates", "--config", str(config), "--steps", "50"])
    assert (p.n_traj, p.steps, p.methods) == (123, 50, ["sgd"])


@pytest.mark.parametrize("args,needle", [
    (["--alpha", "0.9"], "--alpha must be in (1, 2]"),
    (["--alpha", "2.5", "--noise", "stable"], "--alpha must be in (1, 2]"),
    (["--n-traj", "0"], "--n-traj must be a positive integer"),
    (["--methods", "gclip,adamw"], "--methods: unknown value 'adamw'"),
    (["--out", "/dev/null/results"], "--out: cannot write to"),
    (["--steps", "ten"], "--steps"),
    (["--bogus", "1"], "unrecognized arguments: --bogus"),
])
def test_bad_flags_exit_2_with_one_line(args, needle, capsys):
    assert cli.main(["rates", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err


def test_unknown_study_exits_2(capsys):
    assert cli.main(["nosuchstudy"]) == 2
    assert "unknown study" in capsys.readouterr().err
