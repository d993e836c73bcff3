"""Coverage of interval procedures, measured on data whose answer is known exactly.

A library for calibrating an interval procedure from Python: draw many independent replicates of synthetic
data whose estimand is known (the exact laws of :mod:`synthclip.testing`), run the procedure on each, and read
the count of intervals that miss the truth on each side as a binomial count: does the interval deliver its
stated level, under-cover, or over-cover? The ``calibrate`` study (``python -m synthclip.study calibrate``,
docs/studies/calibrate.md) runs it on a fixed table of cases; :func:`measure` runs one procedure on one case at
any size::

    from synthclip import coverage
    rows = coverage.measure("quantile_ci", {"label": "pareto q=0.9", "a": 1.5, "q": 0.9}, replicates=400)
    print(coverage.coverage_table(rows))

Its parts:

* a *cell*: a mapping with ``procedure`` (a key of :data:`RUNNERS`), ``case`` (a mapping with a ``label`` and
  the fields its draw function reads), ``levels`` (the nominal levels c), ``replicates`` (R) and the sizes of
  :data:`SIZE_FIELDS`;
* a *draw function* per procedure, ``draw(cell, rng, r)``: draw one known-answer sample from ``rng``, run the
  procedure at each of the cell's levels and yield one :func:`interval_row` per interval (level, estimate, interval,
  truth, and optionally ``model``: one of several intervals of the same draw, ``scope``: :data:`OUT_OF_SCOPE`
  for a case shown and not judged, ``sides``: ``"below"`` for a one-sided test);
* :data:`RUNNERS`, the registry of draw functions by procedure name;
* :func:`replicate_rng`, the keyed stream of replicate r (independent of every other procedure, case and
  replicate, so that a run split into parts draws the same data), and :func:`replicate_rows`, the loop over the
  replicates of a cell;
* the binomial reading of the miss counts: :func:`summarize_coverage` (Clopper–Pearson bands on the realised
  miss rate per side, at a family-wise level, :func:`family_band`; :func:`side_verdict`; :func:`measurable`),
  :func:`summarize_resolution` (the verdict rule's resolution on rate paths) and, for the confidence study's
  decision rule, :func:`run_classify` and :func:`summarize_decisions`; each table as text (:func:`coverage_table`
  with :func:`coverage_summary`, :func:`resolution_text`, :func:`decisions_table`) and the coverage table as a
  figure (:func:`figure`).

To calibrate a new procedure: write its draw function (a known-answer sampler of ``synthclip.testing``, the
procedure of ``synthclip.stats`` at each level, an :func:`interval_row` per interval), add it to :data:`RUNNERS`
under the procedure's name, and call :func:`measure` with a case; a procedure the studies report also gets cases
in the ``calibrate`` study (a layout test asks for them). For instance, the median's interval on Pareto data::

    from synthclip import stats, testing

    def pareto_median(cell, rng, r):
        a = cell["case"]["a"]
        x = testing.pareto(rng, a, cell["n_traj"])
        for c in cell["levels"]:
            est, lo, hi = stats.quantile_ci(x, 0.5, confidence=c)
            yield coverage.interval_row(c, est, lo, hi, 2 ** (1 / a))  # the exact median

    coverage.RUNNERS["pareto_median"] = pareto_median
    rows = coverage.measure("pareto_median", {"label": "pareto a=1.5", "a": 1.5}, replicates=400)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import stats
from . import testing as known
from ._rng import derive_seed
from .harness.horizons import growth_in
from .harness.rate_methods import rate_checkpoints
from .verdict import DELTA_MODELS, DELTA_RULE, RULE, boundary_slope, decide_delta_growth, delta_grid

#: the confidence test's sizes (tests/test_study_confidence.py): N, δ grid, level, replicates of the pivot;
#: its intervals and power-law test run at level 1 − 2.5·10^−4, measured on exact order statistics (R = 10^5
#: data sets: 12.5 expected misses per side), the pivot draws seeded as the test's clipped AdaGrad-Norm cell
CONFIDENCE_TEST: dict[str, Any] = {
    "n": 50_000,
    "delta_min": 2e-4,
    "level": 1 - 2.5e-4,
    "n_boot": 8000,
    "replicates": 100_000,
    "pivot_seed": derive_seed(0, "confidence", "reference", "clip_adagrad_norm"),
}
#: the sizes every cell carries (with its procedure, case, levels and R): a draw function reads those it needs
SIZE_FIELDS = ("seed", "n_traj", "steps", "n_boot", "conf_n_traj", "conf_delta_min")
#: the ``scope`` of a replicate row whose case the procedure is not used on: its realised rate is shown, not judged
OUT_OF_SCOPE = "outside scope"


#: the fewest expected misses on a side for its realised rate to say anything about the level
MIN_EXPECTED_MISSES = 5


def measurable(replicates: int, level: float) -> bool:
    """At least :data:`MIN_EXPECTED_MISSES` expected misses per side at ``level``."""
    return replicates * 0.5 * (1.0 - level) >= MIN_EXPECTED_MISSES


# -- known-answer data ---------------------------------------------------------------------------------


def replicate_rng(seed: int, procedure: str, case: Mapping[str, Any], replicate: int) -> np.random.Generator:
    """The stream of one replicate, keyed by (seed, procedure, case label, replicate): independent of every
    other replicate, and the same whichever cells a run is split into (the key keeps the study's name)."""
    return np.random.Generator(np.random.Philox(derive_seed(seed, "calibrate", procedure, case["label"], replicate)))


# -- the procedures' replicates (each yields rows: case parameters, level, estimate, lo, hi, truth) -----


def interval_row(level, estimate, lo, hi, truth, **extra) -> dict:
    """One interval of a draw function: its level, estimate, ends and the known truth, with ``extra`` columns
    (``model``, ``scope``, ``sides``)."""
    values = map(float, (level, estimate, lo, hi, truth))
    return dict(zip(("level", "estimate", "ci_low", "ci_high", "truth"), values)) | extra


def _run_order_statistics(cell, rng, r):
    case = cell["case"]
    x = known.pareto(rng, case["a"], cell["n_traj"])
    truth = (1.0 - case["q"]) ** (-1.0 / case["a"])
    for c in cell["levels"]:
        est, lo, hi = stats.quantile_ci(x, case["q"], confidence=c)
        yield interval_row(c, est, lo, hi, truth)


def _rate_paths(cell, rng):
    case = cell["case"]
    k = rate_checkpoints(cell["steps"]).astype(float)
    n = case.get("n", cell["n_traj"])
    if case.get("paths", "ar1") == "rotation":
        y = known.rotation_gaussian(rng, n, k)
    else:
        y = known.ar1_gaussian(rng, (n, k.size), case["phi"])
    return k, known.pareto_of_gaussian(y, case["a"]) * k ** (-case["t"])


def _fit_rate(cell, rng, r):
    case = cell["case"]
    k, v = _rate_paths(cell, rng)
    for c in cell["levels"]:
        fit = stats.fit_rate(k, v, case["q"], n_boot=cell["n_boot"], confidence=c, seed=r)
        yield interval_row(c, fit.slope, fit.ci_low, fit.ci_high, -case["t"])


def _independent_k(cell, rng, r):
    """Negative control: a percentile bootstrap that resamples each checkpoint's runs independently."""
    case = cell["case"]
    k, v = _rate_paths(cell, rng)
    sel = RULE.in_window(k)
    k, v = k[sel], v[:, sel]
    n = v.shape[0]
    rank = stats.quantile_ranks(n, case["q"])[0]
    logk = np.log(k)
    slope = stats.fit_slope(logk, np.log(np.partition(v, rank - 1, axis=0)[rank - 1]))[0]
    boot = np.random.Generator(np.random.Philox(r))
    reps = np.empty((cell["n_boot"], k.size))
    for j in range(k.size):
        idx = boot.integers(0, n, size=(cell["n_boot"], n))
        reps[:, j] = np.partition(v[idx, j], rank - 1, axis=1)[:, rank - 1]
    slopes = stats.ols_slopes(logk, np.log(reps))
    for c in cell["levels"]:
        lo, hi, _ = stats.percentile_interval(slopes, c)
        yield interval_row(c, slope, lo, hi, -case["t"])


def _delta_grid(delta_min: float) -> np.ndarray:
    """The confidence study's δ grid: ten values from 0.1 down to ``delta_min``."""
    return delta_grid({"delta_max": 0.1, "delta_min": delta_min, "n_deltas": 10})


def _delta_size(cell) -> tuple[int, np.ndarray]:
    """(N, δ grid): the confidence study's ("study") or its test's ("test": N = 5000, δ down to 2·10^−3)."""
    if cell["case"].get("size", "study") == "test":
        return 5000, _delta_grid(2e-3)
    return cell["conf_n_traj"], _delta_grid(cell["conf_delta_min"])


def _delta_truth(deltas, law: str, s: float, model: str) -> float:
    """The estimand: the model's least-squares slope through the exact quantiles on the grid."""
    u = np.log(1.0 / deltas)
    logq = s * u if law == "poly" else s * np.log(u)
    return stats.delta_fit(deltas, np.exp(logq), model).slope


def _delta_fit(cell, rng, r):
    case = cell["case"]
    n, deltas = _delta_size(cell)
    x = known.delta_law_sample(rng, case["law"], case["s"], n)
    # the pivot's draws are data-free and cached per (n, ranks, n_boot, seed): one seed for the cell
    boot = {"n_boot": cell["n_boot"], "seed": r if case["method"] == "percentile" else 1, "method": case["method"]}
    for c in cell["levels"]:
        for model, f in stats.delta_fit_bootstrap(x, deltas, confidence=c, **boot).items():
            truth = _delta_truth(deltas, case["law"], case["s"], model)
            yield interval_row(c, f.slope, f.ci_low, f.ci_high, truth, model=model)


def _confidence_test_rows(cell) -> pd.DataFrame:
    """The confidence test's δ-slope pivot intervals (``delta_fit``) or power-law test (``power_law_test``)
    at its own N, δ grid, level and pivot seed, on R exact data sets at once (vectorised: R = 10^5 raw
    samples of N = 50 000 would be 5·10^9 draws). A false rejection of the power-law test is a miss
    "below" (the test's only side: it rejects for concavity), written as an interval (−∞, −∞) vs truth 0."""
    case, t = cell["case"], CONFIDENCE_TEST
    deltas = _delta_grid(t["delta_min"])
    ranks = [stats._common._upper_rank(1.0 - d, t["n"]) for d in deltas]  # the ranks delta_fit_bootstrap reads
    reps = cell["replicates"]
    x = known.exact_order_stats(
        replicate_rng(cell["seed"], cell["procedure"], case, 0), t["n"], ranks, case["law"], case["s"], reps
    )
    level, pivot = t["level"], {"n_boot": t["n_boot"], "confidence": t["level"], "seed": t["pivot_seed"]}
    rows: list[tuple]
    if cell["procedure"] == "delta_fit":  # (estimate, lo, hi, truth, model, sides) of each model
        rows = [
            (*stats.delta_pivot_intervals(deltas, t["n"], ranks, x, model, **pivot), truth, model, "both")
            for model in DELTA_MODELS
            for truth in [_delta_truth(deltas, case["law"], case["s"], model)]
        ]
    else:
        stat, p_value = stats.power_law_pvalues(deltas, t["n"], ranks, x, **pivot)
        rejects = p_value <= 0.5 * (1.0 - level)
        rows = [(stat, -np.inf, np.where(rejects, -np.inf, np.inf), 0.0, "false rejection", "below")]
    common = {"procedure": cell["procedure"], "case": case["label"], "replicate": np.arange(reps), "level": level}
    columns = ("estimate", "ci_low", "ci_high", "truth", "model", "sides")
    return pd.concat([pd.DataFrame({**common, **dict(zip(columns, row))}) for row in rows], ignore_index=True)


def _d_exponent(cell, rng, r):
    case = cell["case"]
    dims = [1, 3, 10, 30, 100, 300, 1000]
    n = case["n"]
    # one Gaussian driver per (run, d) for GClip, CClip's correlated with it (common random numbers)
    gz = known.ar1_gaussian(rng, (n, len(dims)), case["phi"])
    cz = case["rho"] * gz + math.sqrt(1 - case["rho"] ** 2) * known.ar1_gaussian(rng, gz.shape, case["phi"])
    frames = []
    d = np.asarray(dims, dtype=float)
    for method, e, z in (("gclip", case["e_g"], gz), ("cclip", case["e_c"], cz)):
        vals = known.pareto_of_gaussian(z, case["a"]) * d**e
        # final values laid out as the dimension study's: one row per (d, trajectory), d-major
        frame: dict[str, Any] = {"structure": "iid", "method": method, "dim": np.repeat(dims, n)}
        frame.update(trajectory=np.tile(np.arange(n), len(dims)), value=vals.T.ravel(), failed=False)
        frames.append(pd.DataFrame(frame))
    finals = pd.concat(frames, ignore_index=True)
    # mean and median of X(d) are both exactly proportional to d^e, so both exponents are known
    truth = {"gclip": case["e_g"], "cclip": case["e_c"], "ratio": case["e_g"] - case["e_c"]}
    for c in cell["levels"]:
        g = growth_in(finals, ratio=("gclip", "cclip"), n_boot=cell["n_boot"], confidence=c, seed=r)["growth"]
        # the dimension study judges means of clipped methods' errors only, which are bounded (finite
        # variance); the bootstrap of a mean is not consistent under infinite variance (Athreya 1987)
        mean_scope = OUT_OF_SCOPE if case["mean_scope"] == "finite variance" and case["a"] <= 2 else ""
        for fit in g.itertuples():
            t, name = truth[fit.series], fit.series
            yield interval_row(c, fit.exponent, fit.ci_low, fit.ci_high, t, model=f"{name}:mean", scope=mean_scope)
            yield interval_row(c, fit.median_exponent, fit.median_ci_low, fit.median_ci_high, t, model=f"{name}:median")


_TAIL_ESTIMATORS: dict[str, Callable[..., Any]] = {
    "hill": stats.hill,
    "moment": stats.moment_estimator,
    "mohammadi": stats.mohammadi,
}


def _tail(cell, rng, r):
    case = cell["case"]
    name = cell["procedure"]
    law = case.get("law", "stable" if name == "mohammadi" else "pareto")
    shape = {"signed": case.get("signed", False), "mixed_scales": case.get("scales") == "mixed"}
    view = {"norm": case.get("view") == "norm", "pooled": case.get("view") == "pooled"}
    x = known.tail_sample(rng, law, case["a"], case["n"], case.get("d"), **view, **shape)
    fn = _TAIL_ESTIMATORS[name]
    scope = OUT_OF_SCOPE if case.get("biased") or case.get("replaced") else ""
    extra = {key: case[key] for key in ("method", "k1") if key in case}
    for c in cell["levels"]:
        est = fn(x, confidence=c, **extra)
        yield interval_row(c, est.alpha, est.ci_low, est.ci_high, known.tail_index(law, case["a"]), scope=scope)


def _failure_probability(cell, rng, r):
    case = cell["case"]
    x = known.pareto(rng, 1.5, cell["n_traj"])
    eps = case["p"] ** (-1 / 1.5)  # P(X > eps) = p exactly
    for c in cell["levels"]:
        for method in ("wilson", "clopper-pearson"):
            p, lo, hi = stats.failure_probability(x, eps, confidence=c, method=method)
            yield interval_row(c, p, lo, hi, case["p"], model=method, scope=OUT_OF_SCOPE if method == "wilson" else "")


def _run_binomial(cell, rng, r):
    """Bernoulli(p) trials: the count of successes is Binomial(n, p) exactly, the truth is p."""
    case = cell["case"]
    k = int(rng.binomial(case["n"], case["p"]))
    for c in cell["levels"]:
        for method in stats.BINOMIAL_METHODS:
            ci = stats.binomial_ci(k, case["n"], confidence_level=c, method=method)
            # Wilson is level on average only and no study uses it: shown (one side under-covers), not judged
            scope = OUT_OF_SCOPE if method == "wilson" else ""
            yield interval_row(c, ci.estimate, ci.low, ci.high, case["p"], model=method, scope=scope)


def _run_mean(cell, rng, r):
    """A few replicates (one value per seed, the size of a study's seed replicates): the t interval on normal
    data (exact: judged) and on a skewed law (exponential, mean 1). No study applies it now; it is a public procedure of ``synthclip.stats``, so its level is
    measured. It assumes normal values, so the exponential case is shown, not judged: at n = 5 it misses below
    far more often than its level (about 0.16 against 0.05 per side at 90 %), the size of the error a skewed
    seed-level statistic would bring."""
    case = cell["case"]
    x = rng.standard_normal(case["n"]) if case["law"] == "normal" else rng.exponential(1.0, case["n"])
    truth = 0.0 if case["law"] == "normal" else 1.0
    scope = "" if case["law"] == "normal" else OUT_OF_SCOPE
    for c in cell["levels"]:
        ci = stats.mean_ci(x, confidence_level=c, method="t")
        yield interval_row(c, ci.estimate, ci.low, ci.high, truth, scope=scope)


def _run_shift(cell, rng, r):
    """Two samples of seed-replicate size, the second shifted by ``shift``: the truth is the shift of the first
    over the second (negative of it). The discrete Mann–Whitney law makes the interval conservative."""
    case = cell["case"]
    draw = rng.standard_normal if case["law"] == "normal" else (lambda n: known.pareto(rng, 1.5, n))
    a, b = draw(case["n"]), draw(case["n"]) + case["shift"]
    for c in cell["levels"]:
        ci = stats.shift_ci(a, b, confidence_level=c)
        yield interval_row(c, ci.estimate, ci.low, ci.high, -case["shift"])


def _run_quantile_ratio(cell, rng, r):
    """Paired seeds as torch-rates has them: log a_i = mu + Z_i, log b_i = rho Z_i + sqrt(1 − rho²) W_i, so both
    marginals are log-normal with unit log-scale and every quantile of a is exp(mu) times b's: the truth."""
    case = cell["case"]
    z, w = rng.standard_normal((2, case["n"]))
    a = np.exp(case["mu"] + z)
    b = np.exp(case["rho"] * z + math.sqrt(1.0 - case["rho"] ** 2) * w)
    seed = derive_seed(cell["seed"], "quantile_ratio_ci", r)
    for c in cell["levels"]:
        ci = stats.quantile_ratio_ci(a, b, case["q"], confidence_level=c, n_boot=cell["n_boot"], seed=seed)
        yield interval_row(c, ci.estimate, ci.low, ci.high, math.exp(case["mu"]))


def _normal_mean(cell, rng, r):
    """Negative control: mean ± z·sd/√n for Pareto(1.5) data (mean a/(a − 1) = 3, variance infinite)."""
    case = cell["case"]
    x = known.pareto(rng, case["a"], cell["n_traj"])
    for c in cell["levels"]:
        ci = stats.mean_ci(x, confidence_level=c, method="normal")
        yield interval_row(c, ci.estimate, ci.low, ci.high, case["a"] / (case["a"] - 1))


#: the draw function of each procedure, by the name its rows carry: ``draw(cell, rng, r)`` yields
#: :func:`interval_row` rows for replicate ``r`` drawn from ``rng`` (``control:`` procedures are negative
#: controls, procedures that must be caught under-covering)
RUNNERS: dict[str, Callable[[Mapping[str, Any], np.random.Generator, int], Iterator[dict]]] = {
    "quantile_ci": _run_order_statistics,
    "fit_rate": _fit_rate,
    "control:independent-k": _independent_k,
    "delta_fit": _delta_fit,
    "d_exponent": _d_exponent,
    "hill": _tail,
    "moment": _tail,
    "mohammadi": _tail,
    "failure_probability": _failure_probability,
    "binomial_ci": _run_binomial,
    "mean_ci": _run_mean,
    "shift_ci": _run_shift,
    "quantile_ratio_ci": _run_quantile_ratio,
    "control:normal-mean": _normal_mean,
}


def measure(
    procedure: str,
    case: Mapping[str, Any],
    *,
    levels=(0.9,),
    replicates: int,
    seed: int = 0,
    n_traj: int = 1000,
    steps: int = 1000,
    n_boot: int = 200,
    conf_n_traj: int = 5000,
    conf_delta_min: float = 2e-3,
    band: float = 0.99,
) -> pd.DataFrame:
    """The coverage rows of one procedure on one case (a key of :data:`RUNNERS` and a case its draw function
    reads), at any size: :func:`summarize_coverage` of the cell's :func:`replicate_rows`."""
    sizes = dict(zip(SIZE_FIELDS, (seed, n_traj, steps, n_boot, conf_n_traj, conf_delta_min)))
    cell = {"procedure": procedure, "case": dict(case), "levels": list(levels), "replicates": replicates, **sizes}
    return summarize_coverage(replicate_rows(cell), band=band)


def replicate_rows(cell: Mapping[str, Any]) -> pd.DataFrame:
    """The interval rows of every replicate of a cell (procedure, case label and replicate added to each); the
    confidence test's cases (``size`` "confidence-test") are drawn at once as exact order statistics."""
    proc = cell["procedure"]
    if cell["case"].get("size") == "confidence-test":
        return _confidence_test_rows(cell)
    rows = [
        {"procedure": proc, "case": cell["case"]["label"], "replicate": r, **row}
        for r in range(cell["replicates"])
        for row in RUNNERS[proc](cell, replicate_rng(cell["seed"], proc, cell["case"], r), r)
    ]
    return pd.DataFrame(rows)


# -- the decision rule ---------------------------------------------------------------------------------


def run_classify(cell) -> pd.DataFrame:
    """The confidence study's verdict on R samples of an exactly polynomial or polylog law."""
    case = cell["case"]
    rule: Mapping[str, Any] = DELTA_RULE  # the confidence study's default settings of the rule
    deltas = _delta_grid(cell["conf_delta_min"])
    boundary = boundary_slope(deltas, rule["power"])
    n, rows = cell["conf_n_traj"], []
    for r in range(cell["replicates"]):
        x = known.delta_law_sample(replicate_rng(cell["seed"], "classify", case, r), case["law"], case["s"], n)
        verdict = decide_delta_growth(x, deltas, **rule, boundary=boundary, seed=1)
        row = {"procedure": "classify", "case": case["label"], "law": case["law"], "s": case["s"], "replicate": r}
        rows.append(
            {**row, "verdict": verdict, "n": n, "delta_min": float(deltas.min()), "confidence": rule["confidence"]}
        )
    return pd.DataFrame(rows)


def expected_verdict(law: str, s: float, power: float, boundary: float) -> str:
    """What a correct rule may say: polylog laws up to log^power and small powers are not 'polynomial'."""
    if law == "polylog":
        return "polylog" if s <= power else "polynomial"
    return "polynomial" if s > boundary else "undecided"


# -- analysis ------------------------------------------------------------------------------------------


def side_verdict(misses: int, reps: int, nominal: float, band: float) -> tuple[str, float, float]:
    """(verdict, low, high) of one side's ``misses`` of ``reps`` against the ``nominal`` miss rate (1 − c)/2:
    the Clopper–Pearson interval at ``band`` of the realised rate lies above it ("misses": under-covers),
    below it ("conservative") or holds it ("holds"); "not measured" where fewer than five misses are expected."""
    lo, hi = stats.binomial_ci(misses, reps, confidence_level=band).confidence_interval
    if reps * nominal < MIN_EXPECTED_MISSES:
        return "not measured", lo, hi
    if lo > nominal:
        return "misses", lo, hi
    if hi < nominal:
        return "conservative", lo, hi
    return "holds", lo, hi


def family_band(band: float, rows: int) -> float:
    """The per-row level that makes ``band`` hold for all ``rows`` at once (Bonferroni): with ~180 rows a
    per-row 99 % band reads "misses" on about two honest rows by chance; this one on none with
    probability ≥ ``band``."""
    return 1.0 - (1.0 - band) / max(rows, 1)


def summarize_coverage(rep: pd.DataFrame, *, band: float) -> pd.DataFrame:
    """One row per procedure × case × model × level × side, judged at the family-wise ``band``.

    Replicate rows may carry ``sides`` ("below": a one-sided test, the other side is not a claim) and
    ``scope`` (``OUT_OF_SCOPE``: a case the procedure is not used on, reported with its realised rate and
    not judged).
    """
    rep = rep.copy()
    for column, default in (("model", ""), ("sides", "both"), ("scope", "")):
        if column not in rep:
            rep[column] = default
        rep[column] = rep[column].fillna(default)
    counts = []
    for (proc, case, model, level, sides, scope), part in rep.groupby(
        ["procedure", "case", "model", "level", "sides", "scope"], sort=False
    ):
        reps = len(part)
        below = int(np.sum(part["ci_high"] < part["truth"]))
        above = int(np.sum(part["ci_low"] > part["truth"]))
        for side, m in (("below", below), ("above", above)):
            if sides == "both" or side == sides:
                counts.append((proc, case, model, level, side, reps, m, scope))
    judged = [
        not proc.startswith("control:") and scope != OUT_OF_SCOPE and measurable(reps, level)
        for proc, _, _, level, _, reps, _, scope in counts
    ]
    row_band = family_band(band, sum(judged))
    rows = []
    for proc, case, model, level, side, reps, m, scope in counts:
        nominal = 0.5 * (1 - level)
        verdict, lo, hi = side_verdict(m, reps, nominal, row_band)
        if scope == OUT_OF_SCOPE and verdict != "not measured":
            verdict = OUT_OF_SCOPE
        row = {"procedure": proc, "case": case, "model": model, "level": level, "side": side, "replicates": reps}
        row.update(misses=m, nominal=nominal, realised=m / reps, realised_low=lo, realised_high=hi, band=row_band)
        rows.append({**row, "family_band": band, "verdict": verdict, "control": proc.startswith("control:")})
    return pd.DataFrame(rows)


def summarize_resolution(rep: pd.DataFrame, *, band: float) -> pd.DataFrame:
    """The verdict rule's resolution, measured on the rate-path replicates of ``fit_rate`` at the rule's level.

    For each case (exact slope s) and each offset δ ∈ {−r, 0, +r} (r = ``RULE.resolution``): the fraction of
    replicates whose verdict against the exponent s + δ would be the agreeing word (s + δ inside the interval
    and the interval no wider than r). δ = 0 is the *pass rate* of exactly tight data (the rest splits into
    *inconclusive*, too wide, and a false word, the interval missing s: 1 − coverage); δ = ±r is a near miss,
    whose agreeing rate must stay ≤ (1 − c) so that the *power* 1 − rate is ≥ c. Judged with Clopper–Pearson
    bands at the family level ``band`` (Bonferroni over the near-miss rows): *resolves* (upper end ≤ 1 − c),
    *does not resolve* (lower end > 1 − c), else *not resolved at this R*."""
    c, r = RULE.confidence, RULE.resolution
    part = rep[(rep["procedure"] == "fit_rate") & np.isclose(rep["level"].astype(float), c)]
    if part.empty:
        return pd.DataFrame()
    cases = list(dict.fromkeys(part["case"]))
    row_band = family_band(band, 2 * len(cases))
    rows = []
    for case in cases:
        x = part[part["case"] == case]
        lo, hi, truth = (x[col].to_numpy(float) for col in ("ci_low", "ci_high", "truth"))
        narrow = (hi - lo) <= r
        n = len(x)
        for delta in (-r, 0.0, r):
            agree = int(np.count_nonzero(narrow & (lo <= truth + delta) & (truth + delta <= hi)))
            band_lo, band_hi = stats.binomial_ci(agree, n, confidence_level=row_band).confidence_interval
            if delta == 0.0:
                word = "pass rate"
            elif band_hi <= 1 - c:
                word = "resolves"
            elif band_lo > 1 - c:
                word = "does not resolve"
            else:
                word = "not resolved at this R"
            row = {"case": case, "offset": delta, "replicates": n, "agreeing": agree, "rate": agree / n}
            row.update(rate_low=band_lo, rate_high=band_hi, power=1 - agree / n if delta else np.nan)
            row.update(narrow=float(narrow.mean()), covered=float(np.mean((lo <= truth) & (truth <= hi))))
            rows.append({**row, "verdict": word, "band": row_band})
    return pd.DataFrame(rows)


def summarize_decisions(dec: pd.DataFrame, *, band: float) -> pd.DataFrame:
    """One row per case of :func:`run_classify`'s verdicts: the counts of each word, the rate of the wrong one
    of polynomial / polylog (undecided is not wrong) with its Clopper–Pearson interval at ``band``, and the
    nominal bound (1 − c)/2 of the rule's confidence c."""
    power, rows = DELTA_RULE["power"], []
    for (case, law, s), part in dec.groupby(["case", "law", "s"], sort=False):
        deltas = _delta_grid(part["delta_min"].iloc[0])
        boundary = boundary_slope(deltas, power)
        expected = expected_verdict(law, s, power, boundary)
        counts = part["verdict"].value_counts()
        wrong = [v for v in ("polynomial", "polylog") if v != expected]
        n_wrong = int(sum(counts.get(v, 0) for v in wrong))
        lo, hi = stats.binomial_ci(n_wrong, len(part), confidence_level=band).confidence_interval
        row = {"case": case, "law": law, "s": s, "replicates": len(part), "n": int(part["n"].iloc[0])}
        row.update(delta_min=float(part["delta_min"].iloc[0]), boundary=boundary, expected=expected)
        row.update({f"n_{v}": int(counts.get(v, 0)) for v in ("polynomial", "polylog", "undecided", "no fit")})
        row.update(misclassified=n_wrong, rate=n_wrong / len(part), rate_low=lo, rate_high=hi)
        rows.append({**row, "nominal_max": 0.5 * (1 - DELTA_RULE["confidence"])})
    return pd.DataFrame(rows)


# -- the tables as text, and as a figure ---------------------------------------------------------------


def rate_text(x: float) -> str:
    """A miss rate as text: four decimals, or e-notation below 10^−3 (where four decimals would hide it)."""
    return f"{x:.4f}" if x >= 1e-3 or x == 0 else f"{x:.2e}"


def _table(header: str, rows) -> str:
    """A fixed-width table: its header, a rule as wide, and its rows."""
    return "\n".join([header, "-" * len(header), *rows])


def coverage_table(cov: pd.DataFrame) -> str:
    """The text of :func:`summarize_coverage`'s table: one line per procedure × case × model × level × side,
    misses of R against the nominal rate, the realised rate with its band, and the verdict."""
    header = (
        f"{'procedure':<22} {'case':<40} {'model':<16} {'level':>6} {'side':<6} {'R':>6} {'misses':>6} "
        f"{'nominal':>8} {'realised [band]':<24} verdict"
    )
    return _table(
        header,
        (
            f"{r.procedure:<22} {r.case:<40} {r.model:<16} {r.level:>6g} {r.side:<6} {r.replicates:>6} "
            f"{r.misses:>6} {rate_text(r.nominal):>8} {rate_text(r.realised)} [{rate_text(r.realised_low)}, "
            f"{rate_text(r.realised_high)}]{'':<2} {r.verdict}" + (" (control)" if r.control else "")
            for r in cov.itertuples()
        ),
    )


def coverage_summary(cov: pd.DataFrame, *, exclude: pd.Series | None = None) -> str:
    """One sentence on a :func:`summarize_coverage` table: how many judged rows deliver their level (and how many
    of them are conservative), which rows under-cover, and how many negative controls (procedure × level) were
    caught. ``exclude``: a mask of rows shown but neither judged nor counted (a procedure kept as the "before"
    of the one that replaced it)."""
    keep = ~exclude if exclude is not None else True
    honest = cov[~cov["control"] & keep & ~cov["verdict"].isin(["not measured", OUT_OF_SCOPE])]
    bad = honest[honest["verdict"] == "misses"]
    controls = cov[cov["control"] & (cov["verdict"] != "not measured")]
    caught = pd.Series(
        [bool((v != "holds").any()) for _, v in controls.groupby(["procedure", "level"])["verdict"]], dtype=bool
    )
    under = sorted({f"{r.procedure} {r.case} {r.model} c={r.level:g} {r.side}" for r in bad.itertuples()})
    return (
        f"summary: {len(honest) - len(bad)} of {len(honest)} measured rows deliver their level "
        f"({int((honest['verdict'] == 'conservative').sum())} conservative); under-covering: "
        + (", ".join(under) or "none")
        + f"; negative controls caught: {int(caught.sum())} of {len(caught)}"
    )


def decisions_table(dec: pd.DataFrame) -> str:
    """The text of :func:`summarize_decisions`'s table: one line per law, its expected word, the count of each
    word, and the misclassified rate with its band against the nominal bound."""
    header = (
        f"{'law':<18} {'expected':<11} {'R':>5} {'polynomial':>10} {'polylog':>8} {'undecided':>9} "
        f"{'misclassified [band]':<28} nominal ≤"
    )
    return _table(
        header,
        (
            f"{r.case:<18} {r.expected:<11} {r.replicates:>5} {r.n_polynomial:>10} {r.n_polylog:>8} "
            f"{r.n_undecided:>9} {r.rate:.4f} [{r.rate_low:.4f}, {r.rate_high:.4f}]{'':<4} "
            f"{r.nominal_max:.3f}"
            for r in dec.itertuples()
        ),
    )


def resolution_text(res: pd.DataFrame) -> str:
    """The text of :func:`summarize_resolution`'s table: a title and one line per case (pass rate at the exact
    slope, power at ± the resolution with its band and word); "" for no table."""
    if res is None or res.empty:
        return ""
    lines = [
        f"resolution of the verdict rule (fit_rate at c = {RULE.confidence:g}, r = {RULE.resolution:g}; "
        f"agreeing word = exponent inside an interval no wider than r):"
    ]
    for case, x in res.groupby("case", sort=False):
        by = {round(o, 6): row for o, row in zip(x["offset"], x.itertuples())}
        tight, minus, plus = by[0.0], by[round(-RULE.resolution, 6)], by[round(RULE.resolution, 6)]
        lines.append(
            f"  {case}: R = {tight.replicates}; exact slope: agreeing {tight.rate:.3f} (covered "
            f"{tight.covered:.3f}, interval ≤ r {tight.narrow:.3f}); near miss −r: power {minus.power:.3f} "
            f"[{1 - minus.rate_high:.3f}, {1 - minus.rate_low:.3f}] {minus.verdict}; +r: power "
            f"{plus.power:.3f} [{1 - plus.rate_high:.3f}, {1 - plus.rate_low:.3f}] {plus.verdict}"
        )
    return "\n".join(lines)


def figure(cov: pd.DataFrame, *, title: str):
    """:func:`summarize_coverage`'s table as a figure: realised against nominal miss rate (log-log), one panel
    per side, each row with its band (one colour per procedure, negative controls red crosses); dotted: exact
    calibration."""
    from . import plotting

    fig, axes = plotting.figure(2, ncols=2, size=4.0, aspect=0.95)
    names = [p for p in dict.fromkeys(cov["procedure"]) if not p.startswith("control:")]
    # one colour per procedure across both panels (the default cycle repeats after ten), controls red
    colors = plotting.colors_of(names, "tab20")
    for ax, side in zip(axes, ("below", "above")):
        part = cov[(cov["side"] == side) & (cov["verdict"] != "not measured")]
        procs = list(dict.fromkeys(part["procedure"]))
        for i, proc in enumerate(procs):
            rows = part[part["procedure"] == proc]
            jitter = 1.0 + 0.04 * (i - len(procs) / 2)
            plotting.errorbar(
                ax,
                rows["nominal"] * jitter,
                rows["realised"].clip(lower=1e-5),
                rows["realised_low"].clip(lower=1e-5),
                rows["realised_high"],
                fmt="o" if not proc.startswith("control:") else "x",
                ms=3,
                lw=0.8,
                label=proc,
                color="tab:red" if proc.startswith("control:") else colors[proc],
            )
        lim = (min(cov["nominal"].min() / 3, 1e-4), 0.5)
        ax.plot(lim, lim, "k:", lw=1)
        plotting.log_axes(ax, "nominal miss rate (1 − c)/2", "realised miss rate", f"misses {side} the truth")
        ax.set(xlim=lim, ylim=(1e-5, 0.5))
    # one legend for both panels, below them: inside, sixteen entries hid the points
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=6.5, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.02 + 0.03 * math.ceil(len(handles) / 4), 1, 1))
    return fig
