"""The tails study: the estimators recover α on the engine's own noise; a wrong α is rejected; bad flags.

Rule under test (the study's docstring): *recovers* if the estimator's interval contains its target. Sizes:
n = 10^6 draws per law, so Hill and the moment estimator use k = 1000 order statistics and Mohammadi
K1 = K2 = 1000 blocks. Intervals at level 1 − 2·10^−4: the five positive checks below fail with probability
≤ 5 × 2·10^−4 = 10^−3 (Hill's interval is exact for Pareto spacings, the others asymptotic; measured coverage
over 20 replicates at this n is 0.9–1.0 at 95%). Negative control: a wrong index α ± 0.5 must lie outside
the interval: Hill's half-width at this level is 3.72·α/√k ≈ 0.18 at α = 1.5, Mohammadi's ≈ 0.04 (from the
Student-t over 1000 blocks), so a wrong α is ≥ 2.7 half-widths away.
"""

import math

import pytest

from synthclip.harness import cli
from synthclip.study import STUDIES, tails

LEVEL = 1 - 2e-4


def run(law, alpha, n=1_000_000):
    cell = {
        "law": law,
        "alpha": alpha,
        "n": n,
        "replicates": 1,
        "estimators": list(tails.ESTIMATORS),
        "confidence": LEVEL,
        "seed": 3,
    }
    return {r.estimator: r for r in STUDIES["tails"].run_cell(cell)["estimates"].itertuples()}


@pytest.fixture(scope="module")
def pareto():
    return run("pareto", 1.5)


@pytest.fixture(scope="module")
def stable():
    return run("stable", 1.5)


@pytest.mark.parametrize("name", ["hill", "moment"])
def test_recovers_pareto_tail_index(pareto, name):
    assert pareto[name].covers, pareto[name]


@pytest.mark.parametrize("name", ["hill", "moment", "mohammadi"])
def test_recovers_stable_index(stable, name):
    assert stable[name].covers, stable[name]


@pytest.mark.parametrize("wrong", [1.0, 2.0])
def test_wrong_alpha_is_rejected(pareto, stable, wrong):
    h = pareto["hill"]
    assert not tails.covers(h.ci_low, h.ci_high, wrong), h
    m = stable["mohammadi"]
    assert not tails.covers(m.ci_low, m.ci_high, wrong), m


def test_gaussian_targets():
    assert tails.target("hill", "gaussian", 2.0) == math.inf
    assert tails.target("mohammadi", "gaussian", 2.0) == 2.0
    assert tails.target("mohammadi", "pareto", 2.5) == 2.0
    assert tails.covers(1.0, math.inf, math.inf) and not tails.covers(1.0, 50.0, math.inf)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--alphas", "1.5,2.5"], "--alphas must be in (1, 2]"),
        (["--sizes", "10"], "--sizes must be an integer >= 100"),
        (["--estimators", "hill,pickands"], "--estimators: unknown value 'pickands'"),
        (["--laws", "cauchy"], "--laws: unknown value 'cauchy'"),
        (["--replicates", "0"], "--replicates must be a positive integer"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, needle, capsys):
    assert cli.main(["tails", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
