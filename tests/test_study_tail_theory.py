"""The 2025–26 statements on δ and on tails in t: the log-confidence, tail-decay and convex-rates studies' quick runs,
their negative controls, their flags, the ``abs`` problem and ``stats.decay_exponent`` on known answers.

False-failure rates (the chance that a correct implementation fails an assertion on a fresh seed):
* the controls: SGD without a clip must *violate* Liu's and the earlier exponent (log-confidence), and the
  tail-decay fit asked for t^(−2β_p) must *violate* it. Each fails only if a 95 % percentile interval reaches the
  control's exponent from the wrong side; on the quick runs the intervals lie ≥ 1.5 (SGD: slopes ≥ 2.6 against 1
  and 2) and ≥ 0.7 (tail decay: slopes ≈ −0.6..−0.8 against −1.6) away, many interval widths: far below 1e−6.
* ``decay_exponent`` on P_t = exp(−0.3 t^0.8/log(t+1)) (n = 10^6 runs drawn from it, fitted with log t): the
  interval at 1 − 10^−3 (20 000 replicates) must hold 0.8: ≤ 10^−3 nominally, plus the fit's own bias from
  log(t+1) against log t, 0.003 at these t (measured), a small fraction of the interval's half-width 0.01; the
  seed is fixed, so the test is deterministic and a change of stream draws once from that rate. The plain fit
  (no log correction) must lie above −0.7: it is −0.62, 0.08 away, many interval widths.
"""

import math

import numpy as np
import pandas as pd
import pytest

from synthclip import problems, stats, theory
from synthclip.engine import simulate
from synthclip.harness import cli
from synthclip.study import STUDIES


def _quick(name, tmp_path):
    assert cli.main([name, "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    folder = next(tmp_path.glob("alpha=*"))
    assert {"meta.json", "report.txt", f"{name}.png"} <= {f.name for f in folder.iterdir()}
    tables = {f.stem: pd.read_parquet(f) for f in folder.glob("*.parquet")}
    board = STUDIES[name].scoreboard(tables, {"study": name, "params": cli.parse([name, "--quick"])[1].__dict__})
    return folder, tables, board


def test_log_confidence_quick_run_and_its_control(tmp_path):
    folder, tables, board = _quick("log-confidence", tmp_path)
    v = tables["verdicts"].set_index(["problem", "method"])
    assert set(v.index) == {("abs", "gclip"), ("abs", "sgd"), ("quadratic", "gclip"), ("quadratic", "sgd")}
    for problem in ("abs", "quadratic"):
        control = v.loc[(problem, "sgd")]
        assert control["new_verdict"] == control["old_verdict"] == "violates", control  # the control fails
        assert control["decision"] == "neither"
        assert v.loc[(problem, "gclip"), "new_theory"] == pytest.approx({"abs": 1 / 3, "quadratic": 2 / 3}[problem])
        assert v.loc[(problem, "gclip"), "old_theory"] == {"abs": 1.0, "quadratic": 2.0}[problem]
    assert len(board) == 8 and board["verdict"].notna().all()  # the d_eff table is reported, never judged
    assert "as it must" in (folder / "report.txt").read_text()
    deff = tables["deff"]
    assert len(deff) == 2 * 3 * 2  # problems × structures × the δ with δ·N ≥ 10 (N = 5000: 0.1, 0.01)
    ranks = deff.groupby("structure")["effective_rank"].first()
    assert ranks["iid"] == 4 and ranks["axis"] == 1 and 1 < ranks["graded"] < 4
    assert np.allclose(deff.loc[deff["structure"] == "iid", "ratio_to_iid"], 1.0)
    assert "d_eff proxy (reported, not judged)" in (folder / "report.txt").read_text()
    # wiring: the axis row at δ = 0.01 is the quantile of the same run made here, in d = 4 with the axis structure
    p = cli.parse(["log-confidence", "--quick"])[1]
    sched = STUDIES["log-confidence"].cells(p)[-1]["params"]  # the last cell: quadratic, axis, the smallest δ
    res = simulate(
        "gclip", problem="quadratic", noise="pareto", alpha=p.tail, structure="axis", dim=4, steps=p.steps,
        n_traj=5000, seed=p.seed, x0=p.x0, radius=p.radius, checkpoints=[p.steps], **sched,
    )  # fmt: skip
    row = deff[(deff["problem"] == "quadratic") & (deff["structure"] == "axis") & (deff["delta"] == 0.01)]
    assert row["value"].item() == stats.quantile_ci(res.metric("f_avg")[:, -1], 0.99, confidence=0.95)[0]


def test_tail_decay_quick_run_and_its_control(tmp_path):
    folder, tables, board = _quick("tail-decay", tmp_path)
    fits = tables["fits"]
    control = fits[fits["fit"] == "control 2β_p"]
    assert len(control) == 2 and (control["verdict"] == "violates").all()  # the wrong exponent fails
    assert np.allclose(fits["theory"][fits["fit"] == "long-term"], -0.8)
    assert np.allclose(fits["theory"][fits["fit"] == "finite-time"], -0.4)
    p = tables["probabilities"]
    assert (p["ci_low"] <= p["p"]).all() and (p["p"] <= p["ci_high"]).all()
    assert np.all(np.diff(p[p["problem"] == "quadratic"]["failing"]) <= 0)  # the running minimum only improves
    assert (tables["bench"]["traj_steps_per_s"] > 0).all()
    assert "trajectory-steps per second" in (folder / "report.txt").read_text()
    assert len(board) == 6


def test_convex_rates_quick_run_and_its_control(tmp_path):
    folder, tables, board = _quick("convex-rates", tmp_path)
    s = tables["slopes"]
    s = s[s["statistic"] != "mean"]  # means are reported, never judged
    control = s[s["statement"] == "control:sc-exponent"]
    assert len(control) and (control["verdict"] == "violates").all()  # the strongly convex exponent is too fast
    assert set(s[s["statement"] == "fatkhullin-convex"]["theory"].round(6)) == {round(-1 / 3, 6)}
    assert len(board)


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["log-confidence", "--quick", "--tail", "1.4"], "--tail must be > --alpha"),
        (["log-confidence", "--quick", "--deltas", "0.1,0.01"], "--deltas needs at least 3 values"),
        (["log-confidence", "--quick", "--n-traj", "100"], "--n-traj must be >= 10/min(--deltas)"),
        (["log-confidence", "--quick", "--noise", "gaussian"], "--noise must be a symmetric heavy-tailed law"),
        (["log-confidence", "--quick", "--deff-n-traj", "50"], "--deff-n-traj must be >= 10/max(--deltas) = 100"),
        (["tail-decay", "--quick", "--alpha", "2"], "--alpha must be a finite number in (1, 2)"),
        (["tail-decay", "--quick", "--eps", "0"], "--eps must be a finite number > 0"),
        (["convex-rates", "--quick", "--tail", "1.5"], "--tail must be > --alpha"),
    ],
)
def test_bad_flags_exit_2_with_one_line(argv, needle, tmp_path, capsys):
    assert cli.main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and err.count("\n") == 0, err


def test_abs_problem_engine_matches_numpy():
    res = simulate(
        "sgd",
        problem="abs",
        noise="pareto",
        alpha=1.8,
        dim=3,
        steps=50,
        n_traj=40,
        seed=3,
        checkpoints=[10, 50],
        keep_iterates=True,
        lr=0.05,
        lr_schedule="constant",
        x0=0.7,
    )
    lam = problems.weights(1.0, 1.0, 3)
    x = res.iterates[:, -1, :]
    assert np.allclose(res.metric("f")[:, -1], problems.value("abs", x, lam))
    assert np.allclose(res.metric("grad_norm")[:, -1], np.linalg.norm(problems.gradient("abs", x, lam), axis=-1))
    assert problems.gradient("abs", np.array([0.0]), np.array([1.0]))[0] == 0.0  # the subgradient at the kink


def test_decay_exponent_recovers_a_known_exponent():
    k = np.unique(np.round(np.geomspace(1, 3000, 40)))
    p = np.exp(-0.3 * k**0.8 / np.log(k + 1))
    n = 10**6
    first = np.searchsorted(-p, -np.random.default_rng(0).random(n))  # P(still failing at k_j) = p_j
    counts = np.concatenate([[n], [(first > j).sum() for j in range(k.size)]])
    fit = stats.decay_exponent(k, counts, log_power=1.0, seed=1, confidence=1 - 1e-3, n_boot=20_000)
    assert fit.ci_low <= -0.8 <= fit.ci_high and fit.ci_high - fit.ci_low < 0.06, fit
    plain = stats.decay_exponent(k, counts, log_power=0.0, seed=1, confidence=1 - 1e-3, n_boot=20_000)
    assert plain.ci_low > -0.8 + 0.1  # without the log correction the slope is shallower: the correction matters
    with pytest.raises(ValueError, match="non-increasing"):
        stats.decay_exponent(k[:3], [10, 5, 6, 1])
    assert math.isnan(stats.decay_exponent(k[:3], [10, 10, 10, 10]).slope)  # nothing in the window: no fit


def test_the_claims_are_in_scope_of_nothing_else():
    # the δ and t claims have their own variables: no rate study's lookup in k picks them up
    for c in theory.LATER_CLAIMS[:6]:
        assert c.variable in ("log(1/delta)", "t") and c.source
    assert theory.find("gclip", "strongly_convex", "f_avg", 1.5, schedule="alpha-1").statement == "thm4"
