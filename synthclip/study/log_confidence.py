"""``log-confidence``: the exponent of ln(1/δ) in the (1 − δ)-quantile of clipped SGD (Liu, ICLR 2026).

Setting: f = |x| (nonsmooth convex, problem ``abs``) and f = x²/2 (strongly convex), x0 = 1, noise of tail
index a > p. For every δ of the grid GClip runs with its clip level tuned to δ, L = ln(1/δ):
convex τ = tau0·σ·(K/L)^(1/p) with a constant step lr0·R/(σ K^(1/p)) and the uniform average x̄_K; strongly
convex τ_k = tau0·σ·(k/L)^(1/p) with η_k = 4/(μ(k+1)) and Theorem 4's weighted average (schedules derived
here: the paper's constants are not in the text available). The (1 − δ)-quantile of the δ-tuned run is fitted
against log ln(1/δ) (one row bootstrap over the runs of all δ, which share their noise) and judged against
Liu's exponent 1 − 1/p (2 − 2/p) and the earlier bound's 1 (2). Control: SGD with the same steps and no clip,
whose quantile grows polynomially in 1/δ: both bounds must fail. Reported, not judged: the quantiles of the
δ-tuned runs in d = ``deff_dim`` under noise structures that spread the coordinates' scales at a fixed trace
(``synthclip.noise.effective_rank``, a proxy of the paper's d_eff, whose definition the text does not give).

Full description: docs/studies/log-confidence.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import findings, stats, theory, verdict
from .._rng import derive_seed
from ..harness import report, structure_tables
from ..harness.base import (
    MomentTailParams,
    SimulationParams,
    SlopeParams,
    Study,
    StudyError,
    check_moment_tail,
    check_start_inside,
    fields_of,
    moment_tail_fields,
    option,
    register,
    simulation_fields,
)
from ..harness.rate_tables import delta_columns, delta_quantiles, fit_fields, simulate_to_horizon

PROBLEMS = {"abs": ("convex", "f_unif"), "quadratic": ("strongly_convex", "f_avg")}  # setting, output metric
METHODS = ("gclip", "sgd")  # sgd: the control (no clip)


@dataclass
class LogConfidenceParams(SlopeParams, SimulationParams, MomentTailParams, structure_tables.StructureParams):
    alpha: float = option(
        1.5, "p of the theorem (E|g − ∇f|^p ≤ σ^p); sets the exponents and the clip schedule", gt=1.0, high=2.0
    )
    problems: list = option(
        list(PROBLEMS), "problems: abs (convex, nonsmooth) and quadratic (strongly convex)", choices=tuple(PROBLEMS)
    )
    methods: list = option(
        list(METHODS), "gclip (δ-tuned clip) and the control sgd (same steps, no clip)", choices=METHODS
    )
    deltas: list = option(
        [1e-1, 1e-2, 1e-3, 1e-4, 1e-5], "failure probabilities δ (each its own δ-tuned run; δ·N ≥ 10)", gt=0.0, lt=1.0
    )
    x0: float = option(1.0, "start x0 (distance R = |x0| from x*)")
    radius: float = option(
        float("inf"),
        "projection radius around x* (inf: none; the theorems need no bounded "
        "domain, and a ball would cap the control's polynomial tail)",
        gt=0.0,
        infinite=True,
    )
    tau0: float = option(1.0, "constant of the clip level τ = tau0·σ·(K/L)^(1/p)", gt=0.0)
    lr0: float = option(1.0, "constant of the convex step η = lr0·R/(σ K^(1/p))", gt=0.0)


SCHED = ("tau0", "lr0", "x0")  # the options the schedule reads


def schedule(problem: str, method: str, p: float, K: int, L: float, *, tau0: float, lr0: float, x0: float) -> dict:
    """The registry parameters of a (problem, method) tuned to L = ln(1/δ) (σ = 1: the noise scale)."""
    if problem == "abs":
        params = {"lr": lr0 * abs(x0) / K ** (1.0 / p), "lr_schedule": "constant"}
        clip = {"clip": tau0 * (K / L) ** (1.0 / p), "clip_schedule": "constant"}
    else:
        params = {"lr_schedule": "theorem4"}
        clip = {"clip": tau0 * L ** (-1.0 / p), "clip_schedule": "poly", "clip_power": 1.0 / p}
    return {**params, **clip} if method == "gclip" else params


@register
class LogConfidence(Study):
    name = "log-confidence"
    summary = "(1−δ)-quantile vs ln(1/δ) of δ-tuned clipped SGD: exponent 1−1/p or 1 (Liu, ICLR 2026)"
    Params = LogConfidenceParams
    defaults = {"noise": "pareto", "n_traj": 1_000_000, "steps": 300, "n_boot": 400}  # 400 = 20/(1 − 0.95)
    quick = {"n_traj": 10_000, "steps": 100, "deltas": [1e-1, 1e-2, 1e-3], "n_boot": 200}
    quick |= {"deff_dim": 4, "deff_n_traj": 5_000}
    tables = ("quantiles", "verdicts", "deff")

    def validate(self, p) -> None:
        check_moment_tail(p)
        if len(p.deltas) < 3:
            raise StudyError(f"--deltas needs at least 3 values (a line and its interval), got {p.deltas!r}")
        if min(p.deltas) * p.n_traj < 10:
            raise StudyError(f"--n-traj must be >= 10/min(--deltas) = {math.ceil(10 / min(p.deltas))}, got {p.n_traj}")
        check_start_inside(p)
        structure_tables.check(p)

    def cells(self, p) -> list[dict]:
        common = {**moment_tail_fields(p), **simulation_fields(p), **fields_of(p, "x0", "radius", "confidence")}
        # the control's steps do not depend on δ: one run (δ = 0 in its cell) serves every δ
        runs = [(m, d, {}) for m in p.methods for d in (sorted(p.deltas, reverse=True) if m == "gclip" else [0.0])]
        runs += [("gclip", d, fields) for d, fields in structure_tables.runs(p)]  # the d_eff table's runs
        cells = []
        for problem in p.problems:
            for method, delta, fields in runs:
                L = math.log(1 / (delta or 0.5))
                sched = schedule(problem, method, p.alpha, p.steps, L, **fields_of(p, *SCHED))
                cells.append({**common, "problem": problem, "method": method, "delta": float(delta), "params": sched})
                cells[-1].update(fields)
        return cells

    def run_cell(self, cell, *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        # one seed for every δ and method: the runs share their noise (common random numbers), so the rows of
        # all δ-columns are one i.i.d. sample of vectors and one row bootstrap carries the slope's interval
        res = simulate_to_horizon(cell, cell["params"], threads=threads, alpha=cell["tail"])
        values = res.metric(PROBLEMS[cell["problem"]][1])[:, -1]
        keys = {key: cell[key] for key in ("problem", "method", "delta")}
        return {"values": pd.DataFrame({**keys, "structure": cell.get("structure", ""), "value": values})}

    def analyze(self, p, tables):
        qrows, vrows = [], []
        deltas = np.array(sorted(p.deltas, reverse=True))
        logs = np.log(1.0 / deltas)
        values = tables["values"]
        for (problem, method), part in values[values["structure"] == ""].groupby(["problem", "method"], sort=False):
            v = delta_columns(part, deltas if method == "gclip" else [0.0] * len(deltas))
            common = {"problem": problem, "method": method}
            qrows += delta_quantiles(v, deltas, common, confidence=p.confidence, log_inv_delta=logs)
            seed = derive_seed(p.seed, self.name, problem, method)
            window = {"kmin": logs.min(), "kmax": logs.max()}  # every δ of the grid
            fit = stats.fit_rate(logs, v, 1.0 - deltas, seed=seed, **window, **fields_of(p, "n_boot", "confidence"))
            n, n_failed = v.shape[0], int(np.sum(~np.isfinite(v)))
            row = {**common, **fit_fields(fit), "n_traj": n, "n_failed": n_failed}
            for which in ("new", "old"):
                claim = theory.claim(f"liu2026-{which}", "gclip", *PROBLEMS[problem])
                # the control: the same exponent asked of SGD without clipping, which no theorem covers
                judged = claim if method == "gclip" else theory.control(claim, "no clip", method="sgd")
                vd = verdict.judge_fit(fit, judged, p.alpha, p, n_traj=n, q=1 - deltas.min(), n_failed=n_failed)
                row.update(report.prefixed(which, vd.as_dict()))
            row["decision"] = findings.liu_decision(row)
            vrows.append(row)
        deff = structure_tables.table(values[values["structure"] != ""], p)
        return {"quantiles": pd.DataFrame(qrows), "verdicts": pd.DataFrame(vrows), "deff": deff}

    def report(self, tables, meta) -> str:
        p, v = meta["params"], tables["verdicts"]
        lines = [
            f"log-confidence: δ-tuned GClip, p = {p['alpha']:g}, noise {p['noise']} of tail index "
            f"{p['tail']:g}, K = {p['steps']}, N = {p['n_traj']} per δ, δ = "
            f"{', '.join(f'{d:g}' for d in sorted(p['deltas'], reverse=True))}; slope of log q_(1−δ) "
            f"against log ln(1/δ), {p['confidence']:.0%} row bootstrap ({p['n_boot']} replicates); "
            f"an agreeing word needs a width ≤ {verdict.RULE.resolution:g}",
            report.table(
                v,
                [
                    ("problem", "problem"),
                    ("method", "method"),
                    ("exponent of ln(1/δ) [CI]", report.ci_text),
                    *report.paired_columns("new", "old"),
                    ("decision", "decision"),
                    ("failed", report.failed),
                ],
            ),
            findings.liu_conclusion(v),
        ]
        lines += structure_tables.lines(tables["deff"], p, "δ-tuned GClip")  # reported, not judged
        return "\n".join(lines)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        p = meta["params"]
        return report.scoreboard(
            report.score_row(
                meta,
                report.unprefixed(r, which),  # the row as judged by Liu's (new) or the earlier (old) bound
                setting=f"{r['problem']}, {r['method']}, p={p['alpha']:g}, tail {p['tail']:g}, "
                f"K={p['steps']}, N={int(r['n_traj'])}",
                quantity="exponent of ln(1/δ) in the (1−δ)-quantile (δ-tuned)",
            )
            for r in tables["verdicts"].to_dict("records")
            for which in ("new", "old")
        )

    def plot(self, tables, meta):
        from .. import plotting

        q, p, deff = tables["quantiles"], meta["params"], tables["deff"]
        problems = list(dict.fromkeys(q["problem"]))
        fig, axes = plotting.figure(len(problems) * (1 if deff.empty else 2), ncols=2, size=4.5)
        for ax, problem in zip(axes, problems):
            part = q[q["problem"] == problem]
            lines = []  # both bounds' exponents, through the first method's point at the largest δ
            for which, ls in (("new", "--"), ("old", ":")):
                e = theory.claim(f"liu2026-{which}", "gclip", *PROBLEMS[problem]).at(p["alpha"])
                lines.append((e, ls, f"ln(1/δ)^{e:.2f} ({which})"))
            plotting.interval_panel(ax, part, "log_inv_delta", by="method", lines=lines, marker="o", ms=3, lw=1.2)
            title = f"{problem} ({PROBLEMS[problem][0]})"
            plotting.log_axes(ax, "ln(1/δ)", "(1−δ)-quantile of f − f* (δ-tuned run)", title)
            ax.legend(fontsize=7)
        for ax, problem in zip(axes[len(problems) :], problems if not deff.empty else []):
            factor = theory.liu2026_deff_exponent(PROBLEMS[problem][0], p["alpha"])
            structure_tables.panel(ax, deff[deff["problem"] == problem], factor, p["deff_dim"], problem)
        return plotting.finish(
            fig,
            f"log-confidence: p={p['alpha']:g}, tail {p['tail']:g}, K={p['steps']}, N={p['n_traj']}; "
            f"bars: {p['confidence']:.0%} order-statistic intervals",
        )
