"""The nonlinear-sgd study (Armacki et al. 2025) and the entries judged on the nonconvex cells for the first time
(Liu & Zhou without α, Fatkhullin et al.'s plain SGD): the quick run, the one-sided control, the α-spread rule and
its negative controls, the entries' scopes, the flags and the layout.

The α-spread rule (``rate_tables.alpha_spread``, fixed before the run): across the α of one noise, for one method,
metric and quantile, *α-free* when the union of the rows' slope intervals is no wider than the resolution 0.1,
*moves with α* when two of the intervals are disjoint, else *inconclusive*; the statement *holds* when α-free and
the bound t^(−1/4) holds at every α (every row "within"), *fails* when it moves or a row violates.

False-failure rates. The quick run's assertions (N = 400, K = 1000, c = 0.995): sign's median rows are α-free with
a union of 0.062 (measured, seed 0) against the 0.1 the rule allows, the intervals' half-widths ≈ 0.025: a fresh seed
widens the union past 0.1 only if an end moves by ≥ 0.038 ≈ 3 standard errors (≈ 0.3 % per end, ≤ 2 % over the
six ends); the control's slopes (−1.55 at α = 1.5 against −0.24 at α = 2) are disjoint by > 40 standard errors.
The rule's own false "α-free" rate, when two true exponents differ by ≥ 0.1, is ≤ 1 − c (one of the two intervals
must miss its exponent on the inner side, ≤ (1 − c)/2 each); its false "moves" rate with m equal exponents is ≤
m(1 − c) (some interval must miss): 3 % at the default m = 6, c = 0.995. The unit cases below are exact. The
doubled-exponent controls of the nonconvex entries (N = 300, K = 100..1000, c = 0.95) read "violates" with the
median of the average ‖∇f‖ at K^−0.17 (nsgd_m-pfree) and K^−0.23 (sgd) against −0.33: their intervals (half-width
≈ 0.01) would have to miss by > 10 half-widths.
"""

import dataclasses
import math
from pathlib import Path

import pandas as pd
import pytest

from synthclip import noise, theory, verdict
from synthclip.harness import cli
from synthclip.harness import rate_tables as rt
from synthclip.harness.rate_tables import alpha_spread
from synthclip.study import STUDIES, StudyError
from synthclip.study import nonlinear_sgd as nl

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick():
    study, p = cli.parse(["nonlinear-sgd", "--quick"])
    results = [study.run_cell(c) for c in study.cells(p)]
    tables = {name: pd.concat([r[name] for r in results], ignore_index=True) for name in ("quantiles", "slopes")}
    tables = study.analyze(p, tables)
    meta = {"study": study.name, "params": dataclasses.asdict(p)}
    return study, p, tables, meta


def test_quick_run_decides_sign_and_its_control_fails(quick):
    study, p, tables, meta = quick
    s = tables["spread"].set_index(["noise", "method", "metric", "quantile"])
    sign = s.loc[(nl.SYMMETRIC, "sign", "grad_norm_min", "0.5")]
    assert sign["spread"] == rt.ALPHA_FREE and sign["bound"] == "holds" and sign["decision"] == "holds", sign.to_dict()
    # the negative control: one-sided noise must fail for every nonlinearity run, at every quantile
    control = tables["spread"][
        (tables["spread"]["noise"] == nl.ONESIDED) & (tables["spread"]["metric"] == "grad_norm_min")
    ]
    assert set(control["method"]) == set(p.methods) and (control["decision"] == "fails").all(), control
    said = study.report(tables, meta)
    assert "the one-sided control fails at every quantile, as it must" in said
    assert "99.5% bootstrap" in said


def test_rows_are_judged_inside_the_scope_only(quick):
    _, p, tables, meta = quick
    fits = tables["slopes"][(tables["slopes"]["window"] == "last decade") & (tables["slopes"]["quantile"] != "mean")]
    sym = fits[(fits["noise"] == nl.SYMMETRIC) & (fits["metric"] == "grad_norm_min")]
    assert set(sym["statement"]) == {"armacki"} and set(sym["theory"]) == {-0.25}
    assert (sym["alpha"] < 1).any()  # infinite-mean noise is inside the statement (α in (0, 2])
    one = fits[(fits["noise"] == nl.ONESIDED) & (fits["metric"] == "grad_norm_min")]
    assert set(one["statement"]) == {"control:armacki"}
    assert set(fits[fits["metric"] == "grad_norm"]["verdict"]) == {verdict.NONE}  # the last iterate: no theorem
    board = STUDIES["nonlinear-sgd"].scoreboard(tables, meta)
    assert list(board.columns) == list(verdict.SCOREBOARD_COLUMNS) and len(board) == len(sym) + len(one)


def test_the_entry_covers_symmetric_noise_on_its_schedule_only():
    for method in ("signsgd_m", "cclip", "gclip", "nsgd_m"):
        assert (
            theory.find(
                method, "nonconvex", "grad_norm_min", 0.8, noise="symmetric", schedule=theory.ANYTIME_SQRT
            ).statement
            == "armacki"
        )
        assert (
            theory.find(method, "nonconvex", "grad_norm_min", 1.5, noise="asymmetric", schedule=theory.ANYTIME_SQRT)
            is None
        )
    assert (
        theory.find(
            "gclip", "nonconvex", "grad_norm_min", 1.5, noise="symmetric", schedule=theory.THM2_SCHEDULE
        ).statement
        == "thm2"
    )
    # Liu & Zhou: each schedule its own entry; a row without a schedule is judged by neither
    for sched, statement, exponent in (
        (theory.MOMENTUM_P_KNOWN, "liu-zhou", -0.5 / 2.5),
        (theory.MOMENTUM_P_FREE, "liu-zhou-pfree", -0.5 / 3.0),
    ):
        c = theory.find("nsgd_m", "nonconvex", "grad_norm_avg", 1.5, schedule=sched)
        assert c.statement == statement and c.at(1.5) == pytest.approx(exponent)
    assert theory.find("nsgd_m", "nonconvex", "grad_norm_avg", 1.5) is None
    fat = theory.find("sgd", "nonconvex", "grad_norm_avg", 1.5, schedule=theory.SGD_HORIZON)
    assert fat.statement == "fatkhullin-nc" and fat.at(2.0) == pytest.approx(-0.25)  # ε^(−4) at p = 2


def _slopes(*rows, metric="grad_norm_min", noise=nl.SYMMETRIC, verdict_word="within (not tight)"):
    return pd.DataFrame(
        [
            {
                "window": "last decade",
                "quantile": "0.5",
                "noise": noise,
                "method": "sign",
                "metric": metric,
                "alpha": a,
                "slope": (lo + hi) / 2,
                "ci_low": lo,
                "ci_high": hi,
                "verdict": verdict_word,
            }
            for a, lo, hi in rows
        ]
    )


@pytest.mark.parametrize(
    "rows,spread,decision",
    [
        ([(1.1, -0.30, -0.27), (2.0, -0.29, -0.25)], rt.ALPHA_FREE, "holds"),  # union 0.05
        ([(1.1, -0.40, -0.35), (2.0, -0.30, -0.25)], rt.MOVES, "fails"),  # disjoint: moves (negative control)
        ([(1.1, -0.36, -0.28), (2.0, -0.30, -0.24)], rt.UNDECIDED, "inconclusive"),  # overlap, union 0.12
    ],
)
def test_the_spread_rule(rows, spread, decision):
    out = alpha_spread(_slopes(*rows), nl.JUDGED).iloc[0]
    assert (out["spread"], out["decision"]) == (spread, decision)


def test_a_violated_bound_fails_even_when_the_slopes_agree():
    # negative control: a floor (slopes ~0 at every α, as one-sided noise at a small scale gives) is α-free but
    # violates t^(−1/4) at every α: the statement fails
    out = alpha_spread(_slopes((1.5, -0.03, 0.0), (2.0, -0.02, 0.01), verdict_word="violates"), nl.JUDGED).iloc[0]
    assert out["spread"] == rt.ALPHA_FREE and out["decision"] == "fails"


def test_the_doubled_exponent_controls_of_the_nonconvex_entries():
    study = STUDIES["nonconvex"]
    p = study.make_params(
        {
            "horizons": [100, 316, 1000],
            "n_traj": 300,
            "methods": ["nsgd_m-pfree", "sgd"],
            "n_boot": 400,
            "quantiles": [0.5],
            "seed": 3,
        }
    )
    values = pd.concat([study.run_cell(c)["values"] for c in study.cells(p)], ignore_index=True)
    s = study.analyze(p, {"values": values})["slopes"]
    for label, statement in (("nsgd_m-pfree", "liu-zhou-pfree"), ("sgd", "fatkhullin-nc")):
        own = s[(s["method"] == label) & (s["metric"] == "grad_norm_avg") & (s["statistic"] == "0.5")].iloc[0]
        assert own["statement"] == statement, own.to_dict()  # judged by its own entry (its verdict: the docs page)
        ctl = s[(s["method"] == f"{label} (control ×2)") & (s["statistic"] == "0.5")]
        assert list(ctl["metric"]) == ["grad_norm_avg"] and ctl.iloc[0]["verdict"] == "violates", ctl.to_dict("records")
        assert ctl.iloc[0]["theory"] == pytest.approx(2 * own["theory"])


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--alphas", "2.5"], "--alphas must be a finite number in (0, 2]"),
        (["--alphas", "0"], "--alphas must be"),
        (["--control-alphas", "1.0"], "--control-alphas must be"),
        (["--methods", "adam"], "unknown value 'adam'"),
        (["--lr0", "-1"], "--lr0 must be"),
    ],
)
def test_bad_flags_are_refused_in_one_line(argv, needle):
    with pytest.raises(StudyError) as err:
        cli.parse(["nonlinear-sgd", *argv])
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_the_wide_stable_law_is_stable_where_both_apply():
    a = noise.sample("stable-wide", 1.5, 500, seed=4)
    assert (a == noise.sample("stable", 1.5, 500, seed=4)).all()
    x = noise.sample("stable-wide", 0.5, 20_000, seed=4)
    assert math.isfinite(x.max()) and abs((x > 0).mean() - 0.5) < 0.02  # symmetric about 0; 0.02 ≈ 5.7 sd
    with pytest.raises(ValueError, match=r"'alpha' must be in \(0, 2\]"):
        noise.sample("stable-wide", 2.5, 10)


def test_layout_the_study_is_a_short_specification_with_its_page():
    assert len((ROOT / "synthclip/study/nonlinear_sgd.py").read_text().splitlines()) < 200
    assert (ROOT / "docs/studies/nonlinear-sgd.md").is_file()
    assert "studies/nonlinear-sgd.md" in (ROOT / "mkdocs.yml").read_text()
