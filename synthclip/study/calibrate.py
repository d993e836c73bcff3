"""``calibrate``: every interval's stated level measured on data whose answer is known exactly.

Setting: for each interval procedure the studies use, R independent replicates of synthetic data with a known
answer (the exact laws of ``synthclip.testing``; rate and dimension paths whose quantiles are exactly
proportional to powers of k and d, correlated across k as a run's are; tail data of the shapes the torch probes
meet), the interval at each level c of ``--levels``, its misses per side (below: hi < truth; above: lo > truth).
Procedures (``--procedures``): quantile_ci, fit_rate, delta_fit, power_law_test, d_exponent, hill, moment,
mohammadi, failure_probability, and two negative controls that must be caught; also the confidence test's own
level and the confidence study's decision rule (table ``decisions``).
Verdicts (fixed before any run), per procedure × case × level × side: holds / misses / conservative as the
Clopper–Pearson interval of the miss rate contains, lies above or lies below (1 − c)/2, at a family-wise
``--band`` (Bonferroni over the judged rows); *not measured* where fewer than five misses are expected; cases
*outside scope* are shown, not judged.

Full description: docs/studies/calibrate.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import coverage
from ..coverage import CONFIDENCE_TEST, SIZE_FIELDS, measurable
from ..harness.base import CommonParams, Study, StudyError, check_choice, check_delta_min, fields_of, option, register
from ..verdict import RULE

# -- the cases of each procedure ---------------------------------------------------------------------


def _tail_cases(*rows) -> list[dict]:
    """Tail-index cases from rows (label, law (None: the procedure's own), a, n, d (None: scalars), R cap (None:
    uncapped), further fields)."""
    return [
        {"label": label, **({"law": law} if law else {}), "a": a, "n": n}
        | ({"d": d} if d else {})
        | ({"max_replicates": cap} if cap else {})
        | extra
        for label, law, a, n, d, cap, extra in rows
    ]


BIASED = {"biased": True}  # a law the estimator does not target: shown, with its bias, not judged
SIGNED = {"signed": True, **BIASED}  # symmetric Pareto: Pareto-type, but not stable
NOT_STABLE = " (biased: not stable)"  # the label of a law Mohammadi's estimator does not target
NORMS = {"view": "norm", **BIASED}  # norms of stable vectors: Hill reads α too large there (second-order bias)
PIVOT = {"costly": True, "levels": (0.95,)}  # Mohammadi's parametric pivot: a simulation per interval
LARGE = {**PIVOT}  # a sample of 10^5 to 10^6 and more: the bootstrap procedures' R, at torch-noise's level only
MIXED = {"scales": "mixed", **PIVOT}
# every coordinate of every draw as one scalar sample, coordinates of three decades of scale: a scale mixture, which
# no stable law describes (shown, with its bias toward heavy); block size by the divisor rule (N = 10^5 = 250 · 400)
POOLED_MIXED = {"view": "pooled", "k1": 250, "scales": "mixed", **BIASED}
SIGNED_PIVOT = {**SIGNED, **PIVOT}
BIASED_PIVOT = {**BIASED, **PIVOT}
REPLACED = {"method": "bootstrap-t", "replaced": True}  # the vector interval before the parametric pivot
ROTATION = {"paths": "rotation", "t": 2 / 3, "a": 1.5, "q": 0.5}  # rate paths whose window ends anti-correlate
DELTA_LAWS = (("poly", 2 / 1.5), ("polylog", 1.0))  # the confidence study's pair: exactly polynomial, polylog
SCALAR_TAILS = (
    ("pareto a=1.5 n=10000", None, 1.5, 10_000, None, None, {}),
    ("student a=1.5 n=10000", "student", 1.5, 10_000, None, None, {}),
)

# the cases of each procedure: the settings the studies and tests use
CASES = {
    "quantile_ci": [{"label": f"pareto a=1.5 q={q:g}", "a": 1.5, "q": q} for q in (0.5, 0.9, 0.99)],
    "fit_rate": [
        {"label": f"ar1 paths t=0.667 a=1.5 phi=0.95 q={q:g}", "t": 2 / 3, "a": 1.5, "phi": 0.95, "q": q}
        for q in RULE.quantiles
    ]
    + [{"label": "rotation paths t=0.667 a=1.5 q=0.5", **ROTATION}],
    "delta_fit": [
        {"label": f"{law} s={s:g} {method} {size}", "law": law, "s": s, "method": method, "size": size}
        for method, size, laws in (
            ("pivot", "study", DELTA_LAWS),
            ("pivot", "test", DELTA_LAWS),
            ("percentile", "test", DELTA_LAWS),
            ("pivot", "study", (("poly", 0.3), ("polylog", 2.0))),
            ("pivot", "confidence-test", DELTA_LAWS),
        )
        for law, s in laws
    ],
    # the power-law test's false rejections under exact power laws (its null), at the confidence test's level
    "power_law_test": [
        {"label": f"poly s={s:g} confidence-test", "law": "poly", "s": s, "size": "confidence-test"}
        for s in (2 / 1.5, 0.3)
    ],
    "d_exponent": [
        {"label": f"paths e_g=0.5 e_c=0.2 a={a:g} phi=0.9 rho=0.8 n=200", "e_g": 0.5, "e_c": 0.2, "a": a}
        | {"phi": 0.9, "rho": 0.8, "n": 200, "mean_scope": "finite variance"}
        for a in (4.0, 1.5)
    ],
    # tail indices on the shapes they are applied to (torch-noise: norms of few draws; vectors of d
    # coordinates, few draws, equal and mixed scales; pooled coordinates of mixed scales), and on laws they do
    # not target ("biased": shown, not judged, with the bias in the estimate column). Hill targets Pareto-type
    # tails: on stable laws near α = 2 (and the norms of stable vectors) its second-order bias reads α too
    # large, so those cases are shown, and torch-noise pairs Hill with Mohammadi's vector view
    "hill": _tail_cases(
        *SCALAR_TAILS,
        ("stable a=1.8 n=10000 (biased: not Pareto-type)", "stable", 1.8, 10_000, None, None, BIASED),
        ("norms of stable vectors a=1.5 n=200 d=100 (biased)", "stable", 1.5, 200, 100, 4000, NORMS),
    ),
    "moment": _tail_cases(*SCALAR_TAILS),
    # vectors: the parametric pivot (a simulation per interval: the bootstrap procedures' --replicates, capped
    # per case, at the torch-noise level 0.95 only); scalars: the block bootstrap-t
    "mohammadi": _tail_cases(
        ("stable a=1.5 n=10000", None, 1.5, 10_000, None, None, {}),
        # torch-noise's coordinate view (the coordinates of one draw: 500-3500 scalars in the default run, the
        # digits CNN's ~560) and pooled view (every coordinate of every draw: the default run's N = 5.6·10^5 (CNN)
        # to 3.5·10^6, the --quick run's ~10^5); block k1 the largest divisor of N ≤ √N at the --quick and char
        # sizes, 625 at the CNN's (the divisor rule gives 700 there)
        *(
            (f"{law} a={a:g} n={n} (coordinate view{note})", law, a, n, None, None, {})
            for n in (500, 2000)
            for law, a, note in (("stable", 1.5, ""), ("stable", 1.8, ", near 2"), ("gaussian", 2.0, ""))
        ),
        *(
            (f"stable a=1.5 n={n} k1={k1} (pooled view, {size} size)", None, 1.5, n, None, cap, {"k1": k1, **extra})
            for n, k1, cap, size, extra in (
                (100_000, 250, 400, "--quick", {}),
                (560_000, 625, 400, "CNN", LARGE),
                (3_456_000, 1800, 200, "char", LARGE),
            )
        ),
        ("stable vectors a=1.5 n=1000 d=100 mixed pooled (biased)", None, 1.5, 1000, 100, 400, POOLED_MIXED),
        ("gaussian vectors n=1000 d=100 mixed pooled (biased)", "gaussian", 2.0, 1000, 100, 400, POOLED_MIXED),
        *(
            (f"stable vectors a={a:g} n={n} d={d}{' mixed scales' if mixed else ''}{note}", None, a, n, d, cap, fields)
            for a, n, d, cap, note, fields in (
                (1.5, 1000, 10, 400, "", PIVOT),
                (1.5, 1000, 100, 400, "", PIVOT),
                (1.8, 1000, 100, 400, " (near 2)", PIVOT),
                (1.5, 1000, 1000, 200, "", MIXED),
                (1.5, 200, 10_000, 200, "", MIXED),
                (1.5, 32, 48, 400, " (torch-noise --quick)", PIVOT),
            )
            for mixed in [fields is MIXED]
        ),
        ("gaussian vectors n=1000 d=100 mixed scales", "gaussian", 2.0, 1000, 100, 400, MIXED),
        (f"symmetric pareto vectors a=1.5 n=1000 d=100{NOT_STABLE}", "pareto", 1.5, 1000, 100, 200, SIGNED_PIVOT),
        (f"student vectors a=1.5 n=1000 d=100{NOT_STABLE}", "student", 1.5, 1000, 100, 200, BIASED_PIVOT),
        ("stable vectors a=1.5 n=1000 d=100 bootstrap-t (replaced)", None, 1.5, 1000, 100, 400, REPLACED),
        (f"symmetric pareto a=1.3 n=10000{NOT_STABLE}", "pareto", 1.3, 10_000, None, 400, SIGNED),
        (f"student a=1.5 n=10000{NOT_STABLE}", "student", 1.5, 10_000, None, 400, BIASED),
    ),
    "failure_probability": [{"label": f"pareto a=1.5 p={q:g}", "p": q} for q in (0.1, 0.01)],
    "binomial_ci": [{"label": f"binomial n={n} p={p:g}", "n": n, "p": p} for n, p in ((1000, 0.1), (200, 0.01))],
    "mean_ci": [{"label": f"{law} n=5", "law": law, "n": 5} for law in ("normal", "exponential")],
    "shift_ci": [{"label": f"{law} 5+5 shift 0.7", "law": law, "n": 5, "shift": 0.7} for law in ("normal", "pareto")],
    # torch-rates' sizes: 40 seeds (its CPU default), the median and the 0.9-quantile
    "quantile_ratio_ci": [
        {"label": f"paired lognormal n=40 rho=0.8 q={q:g}", "n": 40, "rho": 0.8, "mu": math.log(2.0), "q": q}
        for q in (0.5, 0.9)
    ],
    "control:independent-k": [{"label": "rotation paths t=0.667 a=1.5 q=0.5 n=1000", **ROTATION, "n": 1000}],
    "control:normal-mean": [{"label": "pareto a=1.5 mean", "a": 1.5}],
    "classify": [
        {"label": f"{law} s={s:g}", "law": law, "s": s}
        for law, powers in (("poly", (0.3, 0.5, 1.0, 2.0)), ("polylog", (0.5, 1.0, 2.0)))
        for s in powers
    ],
}

#: the procedures, in the order of a run and its report
PROCEDURES = tuple(CASES)
#: procedures whose replicates are bootstrap intervals (--replicates); the rest are cheap (closed form or a cached
#: Monte Carlo pivot): --analytic-replicates
BOOTSTRAP = ("fit_rate", "power_law_test", "d_exponent", "quantile_ratio_ci", "control:independent-k", "classify")


@dataclass
class CalibrateParams(CommonParams):
    procedures: list = option(list(PROCEDURES), "procedures to calibrate")
    cases: list = option(
        [],
        "only the cases whose label contains one of these texts (default: every case); the "
        "cells are cached, so a run split this way assembles with a later full one",
    )
    levels: list = option(
        [0.9, 0.95, 0.999], "nominal levels c of the intervals (a level is measured only where R·(1−c)/2 ≥ 5)"
    )
    replicates: int = option(
        400,
        "replicates R of the bootstrap procedures (fit_rate, d_exponent, the controls, the percentile δ-fit, classify)",
        low=1,
    )
    analytic_replicates: int = option(
        20_000, "replicates R of the cheap procedures (order statistics, pivots, closed forms)", low=1
    )
    n_traj: int = option(10_000, "trajectories N of the rate paths and samples (the rates study's N)", low=2)
    steps: int = option(10_000, "horizon K of the rate paths (checkpoints as the rates study)", low=10)
    n_boot: int = option(RULE.n_boot, "bootstrap replicates per interval (the fit rule's)", low=1)
    band: float = option(
        0.99,
        "family-wise level of the Clopper–Pearson bands on the realised miss rates "
        "(Bonferroni over the run's judged rows)",
        low=0.0,
        high=1.0,
    )
    conf_n_traj: int = option(100_000, "N of the confidence study's δ fits and decision rule", low=10)
    conf_delta_min: float = option(1e-4, "smallest δ of the confidence study's grid", low=0.0, high=1.0)


@register
class Calibrate(Study):
    name = "calibrate"
    single_folder = True
    summary = "realised coverage of every interval procedure on known-answer data (nominal vs realised, per side)"
    Params = CalibrateParams
    quick = {
        "replicates": 60,
        "analytic_replicates": 400,
        "n_traj": 2000,
        "steps": 2000,
        "n_boot": 200,
        "conf_n_traj": 5000,
        "conf_delta_min": 2e-3,
        "levels": [0.9],
    }
    tables = ("coverage", "decisions", "resolution", "replicates")

    def validate(self, p) -> None:
        # the declared options (non-empty lists, integer bounds) are checked before this: the rules between fields
        check_choice("procedures", p.procedures, PROCEDURES)
        if p.cases and not any(_selected(p, case) for proc in p.procedures for case in CASES[proc]):
            raise StudyError(f"--cases {','.join(p.cases)} matches no case of --procedures {','.join(p.procedures)}")
        for c in p.levels:
            if not 0 < c < 1:
                raise StudyError(f"--levels must lie in (0, 1), got {c!r}")
        if not 0 < p.band < 1:
            raise StudyError(f"--band must be in (0, 1), got {p.band!r}")
        check_delta_min(p, "conf_delta_min", "conf_n_traj", 0.1, "the grid's largest δ = 0.1")

    def cells(self, p) -> list[dict]:
        common = fields_of(p, *SIZE_FIELDS)
        cells = []
        for proc in p.procedures:
            for case in CASES[proc]:
                if not _selected(p, case):
                    continue
                reps = case_replicates(p.replicates, p.analytic_replicates, proc, case)
                # a level with fewer than 5 expected misses per side is not measured, so not computed;
                # the confidence test's cases are measured at that test's own level
                levels = (
                    [CONFIDENCE_TEST["level"]]
                    if case.get("size") == "confidence-test"
                    else [c for c in p.levels if measurable(reps, c) and c in case.get("levels", (c,))]
                )
                if not levels and proc != "classify":
                    continue
                # bootstrap intervals cost one call per level (one cell each); the rest share one draw
                split = proc in ("fit_rate", "d_exponent") or case.get("method") == "percentile"
                for group in [[c] for c in levels] if split else [levels]:
                    cells.append({"procedure": proc, "case": case, "levels": group, "replicates": reps, **common})
        return cells

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        # every cell returns both tables (one of them empty) so that the cells of a run concatenate
        empty = pd.DataFrame({"procedure": pd.Series(dtype=str)})
        if cell["procedure"] == "classify":
            return {"replicates": empty, "decisions": coverage.run_classify(cell)}
        return {"replicates": coverage.replicate_rows(cell), "decisions": empty}

    def analyze(self, p, tables):
        rep, dec = tables["replicates"], tables["decisions"]
        return {
            "replicates": rep,
            "coverage": coverage.summarize_coverage(rep, band=p.band) if len(rep) else pd.DataFrame(),
            "decisions": coverage.summarize_decisions(dec, band=p.band) if len(dec) else pd.DataFrame(),
            "resolution": coverage.summarize_resolution(rep, band=p.band) if len(rep) else pd.DataFrame(),
        }

    def report(self, tables, meta) -> str:
        p = meta["params"]
        cov = tables.get("coverage")
        per_row = f" (per row {cov['band'].iloc[0]:.6f})" if cov is not None and not cov.empty and "band" in cov else ""
        lines = [
            f"calibrate: realised miss rate per side vs nominal (1 − c)/2; Clopper–Pearson bands at family level "
            f"{p['band']:.0%}{per_row}, Bonferroni over the judged rows; holds / misses (under-covers) / "
            f"conservative (over-covers); 'not measured' where R·(1−c)/2 < 5; 'outside scope': shown, not judged",
            f"sizes: N = {p['n_traj']} (rate paths, samples), K = {p['steps']}, n_boot = {p['n_boot']}; δ fits at "
            f"N = {p['conf_n_traj']}, δ from 0.1 to {p['conf_delta_min']:g}",
        ]
        skipped = not_measured(p)
        if skipped:
            lines.append(
                "not measured (fewer than 5 expected misses per side at this R, so no claim): " + "; ".join(skipped)
            )
        if cov is not None and not cov.empty:
            lines.append(coverage.coverage_table(cov))
            # the percentile δ bootstrap is measured as the "before" of the pivot that replaced it
            replaced = cov["case"].str.contains("percentile")
            lines.append(coverage.coverage_summary(cov, exclude=replaced) + _before_text(cov[replaced]))
        said = coverage.resolution_text(tables.get("resolution"))
        if said:
            lines.append(said)
        dec = tables.get("decisions")
        if dec is not None and not dec.empty:
            lines.append(
                f"verdict.classify_delta_growth on exact laws (N = {int(dec['n'].iloc[0])}, δ from 0.1 to "
                f"{dec['delta_min'].iloc[0]:g}, boundary s_max·β = {dec['boundary'].iloc[0]:.3f}); "
                f"misclassified = the wrong one of polynomial/polylog (undecided is not wrong)"
            )
            lines.append(coverage.decisions_table(dec))
        return "\n".join(lines)

    def plot(self, tables, meta):
        cov = tables.get("coverage")
        if cov is None or cov.empty:
            return None
        band = meta.get("params", {}).get("band", 0.99)
        return coverage.figure(
            cov,
            title=f"calibrate: realised vs nominal miss rate per side, Clopper–Pearson {band:.0%} bands; "
            "dotted: exact calibration",
        )


def _selected(p, case: Mapping[str, Any]) -> bool:
    return not p.cases or any(text in case["label"] for text in p.cases)


def case_replicates(replicates: int, analytic_replicates: int, procedure: str, case: Mapping[str, Any]) -> int:
    """R of a case: cheap procedures get --analytic-replicates, except δ fits at the confidence study's N
    (a partition of N = 10^5 each: at most 2000) and Mohammadi's bootstrap-t (at most 4000); bootstrap
    procedures get --replicates."""
    if case.get("size") == "confidence-test":
        return CONFIDENCE_TEST["replicates"]
    if case.get("method") == "percentile" or procedure in BOOTSTRAP:
        return replicates
    if procedure == "delta_fit" and case["size"] == "study":
        return min(analytic_replicates, 2000)
    cap = case.get("max_replicates", analytic_replicates)  # large draws (vectors): R capped per case
    if case.get("costly"):  # a simulation per interval (Mohammadi's parametric pivot): the bootstrap R
        return min(replicates, cap)
    if procedure == "mohammadi":  # a bootstrap-t over blocks: 20/(1 − c) resamples per interval
        return min(analytic_replicates, 4000, cap)
    return min(analytic_replicates, cap)


def not_measured(params: Mapping[str, Any]) -> list[str]:
    """'procedure at level (R)' for each level the run's R cannot measure (reported, never claimed)."""
    out = []
    for proc in params["procedures"]:
        if proc == "classify":
            continue
        reps = {
            case_replicates(params["replicates"], params["analytic_replicates"], proc, case) for case in CASES[proc]
        }
        out += [
            f"{proc} at {c:g} (R = {min(reps)})" for c in params["levels"] if not all(measurable(r, c) for r in reps)
        ]
        for c in params["levels"]:  # cases run at their own levels only (a simulation per interval)
            only = [case for case in CASES[proc] if c not in case.get("levels", (c,))]
            if only:
                shown = ", ".join(f"{v:g}" for v in sorted({v for case in only for v in case["levels"]}))
                out.append(f"{proc} at {c:g}: {len(only)} case(s) run at {shown} only")
    return out


def _before_text(before: pd.DataFrame) -> str:
    """The replaced percentile δ bootstrap's worst side (the "before" of the pivot)."""
    if before.empty:
        return ""
    worst = before.loc[(before["realised"] / before["nominal"]).idxmax()]
    return (
        f"; replaced percentile δ bootstrap (before the fix): worst side {worst['side']} "
        f"{coverage.rate_text(worst['realised'])} vs nominal {coverage.rate_text(worst['nominal'])} "
        f"({worst['case']}, {worst['model']}, c = {worst['level']:g}), "
        f"{int((before['verdict'] == 'misses').sum())} rows under-cover at the family band"
    )
