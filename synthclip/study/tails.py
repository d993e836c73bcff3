"""``tails``: the engine's own noise laws through the tail-index estimators (calibration).

Setting: samples of known index from the engine's sampler (symmetric Pareto, symmetric α-stable, Gaussian) at
sizes ``--sizes``, ``--replicates`` each, before the torch bridge estimates tail indices on networks.
Estimators: hill, moment, mohammadi (synthclip.stats, each with its own interval at ``--confidence``).
Verdicts: recovers / misses (the first replicate's interval against the target) and calibrated / under-covers /
over-covers (coverage over the replicates), this study's own rule fixed before the data.

Full description: docs/studies/tails.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import findings, stats
from .. import noise as noise_registry
from ..harness import report
from ..harness.base import CommonParams, Study, check_alpha, check_memory, fields_of, flag, option, register

LAWS = ("pareto", "stable", "gaussian")
ESTIMATORS = ("hill", "moment", "mohammadi")


def target(estimator: str, law: str, alpha: float) -> float:
    """The index an estimator should recover: tail index for Hill/moment, stability index for Mohammadi."""
    if estimator == "mohammadi":
        return 2.0 if law == "gaussian" else min(float(alpha), 2.0)
    return math.inf if law == "gaussian" else float(alpha)


def covers(lo: float, hi: float, value: float) -> bool:
    """Whether [lo, hi] contains value (+inf is contained only by an interval open to +inf)."""
    if math.isinf(value):
        return math.isinf(hi) and hi > 0
    return lo <= value <= hi


@dataclass
class TailsParams(CommonParams):
    laws: list = option(list(LAWS), "noise laws (the Gaussian control is run once, its α is ignored)", choices=LAWS)
    alphas: list = option([1.2, 1.5, 1.8], "tail indices α of pareto and stable")
    pareto_extra: list = option(
        [2.5], "extra α for pareto only (finite variance: Mohammadi targets 2); may be empty", optional=True
    )
    sizes: list = option([10_000, 100_000, 1_000_000], "sample sizes n (k = √n order statistics, √n blocks)", low=100)
    replicates: int = option(20, "independent samples per (law, α, n) for the coverage", low=1)
    estimators: list = option(list(ESTIMATORS), "tail-index estimators", choices=ESTIMATORS)
    confidence: float = option(0.95, "level of the estimators' intervals", gt=0.0, lt=1.0)


@register
class Tails(Study):
    name = "tails"
    summary = "tail-index estimators (Hill, moment, Mohammadi) on the engine's noise laws: calibration"
    Params = TailsParams
    quick = {"alphas": [1.5], "pareto_extra": [], "sizes": [10_000, 100_000], "replicates": 5}
    tables = ("estimates", "verdicts")
    single_folder = True

    def validate(self, p) -> None:
        if "stable" in p.laws:
            check_alpha("stable", p.alphas, "--alphas")
        if "pareto" in p.laws:
            check_alpha("pareto", p.alphas, "--alphas")
            check_alpha("pareto", p.pareto_extra, flag("pareto_extra"))
        # one sample in float64 and the sorted and absolute copies the estimators make of it
        check_memory(f"--sizes {max(p.sizes)}", 4 * 8 * max(p.sizes), "lower --sizes")

    def cells(self, p) -> list[dict]:
        cells = []
        for law in p.laws:
            if law == "gaussian":
                alphas = [2.0]
            elif law == "pareto":
                alphas = sorted({*map(float, p.alphas), *map(float, p.pareto_extra)})
            else:
                alphas = sorted(set(map(float, p.alphas)))
            for alpha in alphas:
                for n in sorted(set(p.sizes)):
                    cell = {"law": law, "alpha": alpha, "n": int(n), "estimators": list(p.estimators)}
                    cells.append({**cell, **fields_of(p, "replicates", "confidence", "seed")})
        return cells

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        rows = []
        for r in range(cell["replicates"]):
            # one independent stream per (seed, law, α, n, replicate); hashed, so order of cells is irrelevant
            seed = f"{cell['seed']}/tails/{cell['law']}/{cell['alpha']!r}/{cell['n']}/{r}"
            x = noise_registry.sample(cell["law"], cell["alpha"], cell["n"], seed=seed)
            for name in cell["estimators"]:
                est = estimate(name, x, cell["confidence"])
                t = target(name, cell["law"], cell["alpha"])
                row = {**{k: cell[k] for k in ("law", "alpha", "n")}, "replicate": r, "estimator": name}
                row.update(estimate=est.alpha, ci_low=est.ci_low, ci_high=est.ci_high, k=est.k, target=t)
                rows.append({**row, "covers": covers(est.ci_low, est.ci_high, t)})
        return {"estimates": pd.DataFrame(rows)}

    def analyze(self, p, tables):
        e = tables["estimates"]
        rows = []
        for (law, alpha, name), part in e.groupby(["law", "alpha", "estimator"], sort=False):
            n = part["n"].max()
            at = part[part["n"] == n].sort_values("replicate")
            first = at.iloc[0]
            cov, lo, hi = stats.failure_probability(np.where(at["covers"].to_numpy(), 1.0, 0.0), 0.5, confidence=0.95)
            if lo <= p.confidence <= hi:
                calibration = "calibrated"
            else:
                calibration = "under-covers" if hi < p.confidence else "over-covers"
            row = {"law": law, "alpha": alpha, "estimator": name, "n": int(n)}
            row.update({k: first[k] for k in ("target", "estimate", "ci_low", "ci_high")})
            row.update(verdict="recovers" if first["covers"] else "misses", replicates=len(at))
            row.update(coverage=float(cov), coverage_low=float(lo), coverage_high=float(hi), calibration=calibration)
            rows.append({**row, "median_estimate": float(np.median(at["estimate"]))})
        return {"estimates": e, "verdicts": pd.DataFrame(rows)}

    def report(self, tables, meta) -> str:
        p = meta["params"]
        v = tables["verdicts"]
        lines = [
            f"tails: tail-index estimators on noise.sample draws; {p['confidence']:.0%} intervals; verdict at the "
            f"largest n (first replicate), coverage over {p['replicates']} replicates (95% Wilson CI)"
        ]
        lines.append(
            report.table(
                v,
                [
                    ("law", "law"),
                    ("α", lambda r: "-" if r["law"] == "gaussian" else f"{r['alpha']:g}"),
                    ("estimator", "estimator"),
                    ("n", "n"),
                    ("target", "target"),
                    ("estimate [CI]", lambda r: report.ci_text(r, "estimate", spec=".3f")),
                    ("verdict", "verdict"),
                    ("coverage [CI]", lambda r: report.ci_text(r, "coverage", "coverage_low", "coverage_high", ".2f")),
                    ("calibration", "calibration"),
                ],
            )
        )
        lines.append(findings.tails_conclusion(v))
        return "\n".join(lines)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        """One row per (law, α, estimator): does the interval recover the known tail index, and its coverage."""
        return report.scoreboard(
            report.score_row(
                meta,
                r,
                statement=f"{r['estimator']} estimator",
                source="tail-index estimators (synthclip.stats)",
                setting=f"{r['law']} α={r['alpha']:g}, n={int(r['n'])}",
                quantity="tail index",
                measured=r["estimate"],
                theory=r["target"],
                reason=f"coverage {r['coverage']:.2f} [{r['coverage_low']:.2f}, {r['coverage_high']:.2f}] "
                f"over {int(r['replicates'])} replicates: {r['calibration']}",
            )
            for r in tables["verdicts"].to_dict("records")
        )

    def plot(self, tables, meta):
        return plot_tails(tables, meta)


def estimate(name: str, x: np.ndarray, confidence: float) -> stats.TailIndex:
    if name == "hill":
        return stats.hill(x, confidence=confidence)
    if name == "moment":
        return stats.moment_estimator(x, confidence=confidence)
    return stats.mohammadi(x, confidence=confidence)


def plot_tails(tables, meta):
    """Rows: laws; columns: estimators; the first replicate's estimate and interval against n, targets dashed."""
    from .. import plotting

    e = tables["estimates"]
    e = e[e["replicate"] == 0]
    p = meta.get("params", {})
    laws = list(dict.fromkeys(e["law"]))
    names = list(dict.fromkeys(e["estimator"]))
    fig, axes = plotting.figure(len(laws) * len(names), ncols=len(names), size=3.4)
    colors = plotting.colors_of(sorted(e["alpha"].unique()), "flare")
    for i, law in enumerate(laws):
        for j, name in enumerate(names):
            ax = axes[i * len(names) + j]
            part = e[(e["law"] == law) & (e["estimator"] == name)]
            top = 1.0
            for alpha, series in part.groupby("alpha"):
                series = series.sort_values("n")
                est = series["estimate"].replace(np.inf, np.nan)
                label = None if law == "gaussian" else f"α={alpha:g}"
                style = {"color": colors[alpha], "alpha": 0.2, "marker": "o", "ms": 3, "label": label}
                plotting.band(ax, series["n"], est, series["ci_low"], series["ci_high"], **style)
                t = series["target"].iloc[0]
                if math.isfinite(t):
                    ax.axhline(t, color=colors[alpha], ls="--", lw=0.8)
                finite = np.concatenate([est.dropna().to_numpy(), [t] if math.isfinite(t) else []])
                top = max(top, float(np.nanmax(finite)) if finite.size else top)
                if est.isna().any():
                    ax.text(
                        0.5, 0.5, "estimate ∞ (no heavy tail seen)", transform=ax.transAxes, ha="center", fontsize=7
                    )
            xlim = (e["n"].min() / 1.5, e["n"].max() * 1.5)
            title = f"{name} on {law}"
            ax.set(xscale="log", xlabel="n", ylabel="estimated index", title=title, ylim=(0, top * 1.2), xlim=xlim)
            if law != "gaussian":
                ax.legend(fontsize=6)
    return plotting.finish(
        fig,
        f"tails: estimate and {p.get('confidence', 0.95):.0%} interval (first replicate) vs n; "
        "dashed: target (tail index; Mohammadi: stability index)",
    )
