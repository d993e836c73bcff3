"""Empirical rate-slope checks for GClip (Theorem 4) and the rates study's command line.

The rule is ``synthclip.verdict``'s, the one every study uses, fixed before any run: the slope of log
quantile against log k over the last decade k ∈ [K/10, K] of K = 2·10^4, a percentile bootstrap over
trajectories, no allowance, judged in the words of the claim's kind (an agreeing word needs an interval no
wider than the resolution 0.1). Here the level is 1 − 1e−3 with 20 000 replicates (≥ 20/(1 − level)), so a
correct verdict is turned into a wrong one with probability ≤ 1e−3 per check.

Setting (as in Theorem 4): f = x²/2, η_k = 4/(k+1), Theorem 4's weighted average, proj-GClip with radius 10
and τ_k = k^(1/α) (the proof's bias-variance balance, theory entry "thm4-balanced"), at α = 1.5 on noise of
tail index a = 1.7 (inside Assumption 1: E|g|^α is finite): the bound holds and is loose there (the variance
balance gives about k^(−0.8)), so the expected verdict is "within (not tight)". Negative control: the same
rows shifted by (k/K)^Δ so that their slope sits the resolution 0.1 *above* the exponent (a violation of the
size the rule claims to resolve) must read "violates"; and Table 1's looser exponent must read "within (not
tight)" too, never tight. The Gaussian case (α = 2, all moments finite) is at its own exponent −1: expected
"within (tight)", with the near-miss shifts ±0.1 never agreeing.
"""

import pytest

import synthclip
from synthclip import stats, theory, verdict
from synthclip.harness import cli
from synthclip.study.rates import rate_checkpoints

LEVEL = 1 - 1e-3
N_BOOT = 20_000
STEPS = 20_000


@pytest.fixture(
    scope="module",
    params=[("pareto", 1.5, 1.7, 10_000), ("stable", 1.5, 1.7, 5_000), ("gaussian", 2.0, 2.0, 20_000)],
    ids=["pareto-1.7", "stable-1.7", "gaussian-2"],
)
def gclip_run(request):
    noise, alpha, tail, n = request.param
    res = synthclip.simulate(
        "gclip",
        noise=noise,
        alpha=tail,
        steps=STEPS,
        n_traj=n,
        seed="rate-check",
        clip_power=1.0 / alpha,
        radius=10.0,
        checkpoints=rate_checkpoints(STEPS),
    )
    return noise, alpha, res


def check_gclip_slope(
    res, alpha: float, q: float, claim: theory.Claim, seed: int = 7, shift: float = 0.0
) -> verdict.Verdict:
    """The check, in one place (studies/replicate_checks.py replays it on other seeds); ``shift`` multiplies
    the errors by (k/K)^shift, which moves the slope and its whole bootstrap by exactly ``shift``."""
    k = res.checkpoints
    values = res.metric("f_avg") * (k / k.max()) ** shift
    fit = stats.fit_rate(k, values, q, n_boot=N_BOOT, confidence=LEVEL, seed=seed)
    return verdict.judge(
        fit.slope,
        fit.ci_low,
        fit.ci_high,
        claim,
        alpha,
        n_traj=res.n_traj,
        q=q,
        confidence=LEVEL,
        allowance=verdict.RULE.allowance,
        n_failed=res.n_failed,
    )


@pytest.mark.parametrize("q", [0.5, 0.9])
def test_gclip_slope_against_theorem4(gclip_run, q):
    noise, alpha, res = gclip_run
    assert res.n_failed == 0
    claim = theory.find(
        "gclip", "strongly_convex", "f_avg", alpha, noise=theory.noise_family(noise), schedule="1/alpha"
    )
    assert claim.statement == "thm4-balanced"
    said = check_gclip_slope(res, alpha, q, claim)
    expected = "within (tight)" if noise == "gaussian" else "within (not tight)"
    assert said.verdict == expected, said
    fit = stats.fit_rate(res.checkpoints, res.metric("f_avg"), q, n_boot=0)
    t, r = claim.at(alpha), verdict.RULE.resolution
    # negative control: rows violating the bound by the resolution must read "violates"
    assert check_gclip_slope(res, alpha, q, claim, shift=t + r - fit.slope).verdict == "violates"
    # negative control: Table 1's exponent −(α−1)/α (−1/3 at α = 1.5, −1/2 at α = 2) is loose, never tight
    said = check_gclip_slope(res, alpha, q, theory.claim("table1", "gclip", "strongly_convex", "f_avg"))
    assert said.verdict == "within (not tight)", said
    if noise == "gaussian":  # near misses of a tight row are never called tight
        for d in (-r, r):
            assert check_gclip_slope(res, alpha, q, claim, shift=d).verdict != "within (tight)"


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
    assert {
        "study",
        "method",
        "noise",
        "alpha",
        "dim",
        "metric",
        "k",
        "quantile",
        "value",
        "ci_low",
        "ci_high",
        "n_traj",
        "n_failed",
    } <= set(q.columns)
    s = pd.read_parquet(folder / "slopes.parquet")
    assert {"method", "metric", "quantile", "slope", "ci_low", "ci_high", "theory", "theory_source", "verdict"} <= set(
        s.columns
    )
    (folder / "rates.png").unlink()
    assert cli.main(["plot", str(folder)]) == 0
    assert (folder / "rates.png").stat().st_size > 0


def test_rerun_uses_cache_and_changed_parameters_replace_results(tmp_path, capsys):
    out = tmp_path / "rates"
    args = ["rates", *QUICK, "--methods", "gclip", "--out", str(out)]
    assert cli.main(args) == 0
    capsys.readouterr()
    assert cli.main(args) == 0
    assert "0 cells computed, 2 cached" in capsys.readouterr().out  # the boundary and a tail inside
    assert cli.main([*args, "--steps", "200"]) == 0
    text = capsys.readouterr().out
    assert "replacing the results" in text  # never silently mixed with the old configuration
    import pandas as pd

    q = pd.read_parquet(out / "alpha=1.5" / "quantiles.parquet")
    assert q["k"].max() == 200


def test_toml_config_is_overridden_by_flags(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('n_traj = 123\nsteps = 177\nmethods = ["sgd"]\n')
    study, p = cli.parse(["rates", "--config", str(config), "--steps", "150"])
    assert (p.n_traj, p.steps, p.methods) == (123, 150, ["sgd"])


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--alpha", "0.9"], "--alpha must be a finite number in (1, 2]"),
        (["--alpha", "2.5", "--noise", "stable"], "--alpha must be a finite number in (1, 2]"),
        (["--n-traj", "0"], "--n-traj must be a positive integer"),
        (["--methods", "gclip,adamw"], "--methods: unknown value 'adamw'"),
        (["--out", "/dev/null/results"], "--out: cannot write to"),
        (["--steps", "ten"], "--steps"),
        (["--bogus", "1"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, needle, capsys):
    assert cli.main(["rates", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err


def test_unknown_study_exits_2(capsys):
    assert cli.main(["nosuchstudy"]) == 2
    assert "unknown study" in capsys.readouterr().err


# -- verdicts: scope, too little data, the asymmetric variant ---------------------------------------


def _slopes(folder):
    import pandas as pd

    s = pd.read_parquet(folder / "slopes.parquet")
    return s[s["window"] == "last decade"]


def test_no_row_is_judged_outside_its_claims_scope(tmp_path, capsys):
    out = tmp_path / "rates"
    assert cli.main(["rates", *QUICK, "--methods", "sgd,gclip,adagrad_norm,clip_adam_norm", "--out", str(out)]) == 0
    s = _slopes(out / "alpha=1.5")
    # stable noise: no theorem covers the last iterate (Theorem 5 is about the spike instance only),
    # SGD at α < 2 (Remark 1) or the AdaGrad/Adam-Norm family's rates in k
    assert (s[s["metric"] == "f"]["verdict"].isin(["none", "reported only"])).all()
    assert (s[s["method"].isin(["sgd", "adagrad_norm", "clip_adam_norm"])]["statement"] == "none").all()
    judged = s[(s["method"] == "gclip") & (s["metric"] == "f_avg")]
    assert set(judged["statement"]) == {"thm4"}
    for _, r in s[s["statement"] != "none"].iterrows():
        claim = theory.claim(r["statement"], "gclip", "strongly_convex", r["metric"])
        assert claim.covers("gclip", "strongly_convex", r["metric"], r["alpha"], noise="symmetric", schedule="alpha-1")
    assert {"window", "trend", "kind"} <= set(pd_columns(out / "alpha=1.5"))
    assert (pd_local(out / "alpha=1.5")["window"] == "half-decade").any()


def pd_columns(folder):
    import pandas as pd

    return pd.read_parquet(folder / "slopes.parquet").columns


def pd_local(folder):
    import pandas as pd

    s = pd.read_parquet(folder / "slopes.parquet")
    return s[s["window"] == "half-decade"]


def test_one_trajectory_is_insufficient_data(tmp_path, capsys):
    out = tmp_path / "rates"
    assert (
        cli.main(
            [
                "rates",
                "--quick",
                "--quiet",
                "--n-traj",
                "1",
                "--steps",
                "300",
                "--n-boot",
                "50",
                "--methods",
                "gclip",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    s = _slopes(out / "alpha=1.5")
    judged = s[(s["metric"] == "f_avg") & (s["quantile"] != "mean")]
    assert (judged["verdict"] == "insufficient data").all(), judged[["quantile", "verdict", "reason"]]
    assert judged["reason"].str.contains("runs cannot bound").all()
    assert "insufficient data" in capsys.readouterr().out


def test_onesided_variant_states_the_clip_schedule_conclusion(tmp_path, capsys):
    out = tmp_path / "onesided"
    assert (
        cli.main(
            ["rates-onesided", "--quick", "--quiet", "--methods", "gclip,gclip-balanced,gclip-const", "--out", str(out)]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "Clip schedule (asymmetric noise, tail index a = 1.3 > α = 1.2)" in text
    # on the quick run's data (fixed seed) the rule gives no erratum: the printed schedule's median is
    # still pre-asymptotic, so it does not violate on every judged quantile
    assert "No erratum by the rule" in text and "ERRATUM" not in text
    s = _slopes(out / "alpha=1.2")
    med = s[(s["metric"] == "f_avg") & (s["quantile"] == "0.5")].set_index("method")
    assert med.loc["gclip", "verdict"] == "pre-asymptotic"
    assert med.loc["gclip-balanced", "verdict"] == "within (not tight)"
    assert med.loc["gclip", "statement"] == "thm4" and med.loc["gclip-balanced", "statement"] == "thm4-balanced"
    assert med.loc["gclip-const", "statement"] == "none"
    assert float(med.loc["gclip", "noise_alpha"]) == 1.3 and float(med.loc["gclip", "alpha"]) == 1.2


def test_summary_gathers_verdict_rows_and_errata(tmp_path, capsys):
    root = tmp_path / "results"
    assert cli.main(["rates", *QUICK, "--methods", "gclip,gclip-balanced", "--out", str(root / "rates")]) == 0
    assert cli.main(["summary", str(root)]) == 0
    text = capsys.readouterr().out
    assert "erratum Table 1, strongly convex row: confirmed by the data" in text
    assert "erratum Theorems 4 and 8, the clip schedule: no evidence stored" in text
    import pandas as pd

    board = pd.read_parquet(root / "summary.parquet")
    from synthclip.verdict import SCOREBOARD_COLUMNS

    assert list(board.columns) == list(SCOREBOARD_COLUMNS)
    assert set(board["statement"]) == {"thm4", "thm4-balanced", "table1"}
    assert set(board["figure"]) == {"rates/alpha=1.5/rates.png", "rates/alpha=1.5,tail=1.7/rates.png"}
    md = (root / "summary.md").read_text()
    assert md.startswith("| study | statement |") and "## Errata" in md
    assert cli.main(["summary", str(tmp_path / "nothing-here")]) == 2
