"""``dimension``: GClip against CClip as the dimension grows (Corollary 7 vs Theorem 8 of Zhang et al. 2020).

Setting: f(x) = ½‖x‖² in d dimensions (μ = L = 1), x0 = 1 in every coordinate, tail-index-α noise either
i.i.d. per coordinate (Assumption 2) or radial (uniform direction × a heavy, d-free norm: Assumption 1),
η_k = 4/(k+1) (Theorem 4/8), τ_k = τ0·k^(1/α) with GClip's τ0 scaled by √d (so both methods clip the same
noise at the same level in d = 1, where CClip is GClip). GClip and CClip run on the same noise (common
random numbers). For each d the study records every trajectory's f(x̄_K) − f* at Theorem 4's weighted
average (``--metric``), reports each method's median with its order-statistic interval and the
GClip/CClip ratio of medians, and fits the growth exponent of each series in d (slope of log median
against log d over all d). Intervals of the ratio and the exponents resample trajectories *jointly*
(one index draw shared by both methods and every d, since they share the noise).

Bounds beside the fits (synthclip.theory): the ratio of Cor. 7's constant d‖B‖_α² to Thm 8's ‖B‖_2²
grows like d^(2/α) under i.i.d. coordinates ("cor7/thm8") and is flat under radial noise
("cor7/thm8-radial"); each error's own bound exponent is listed too ("cor7-d", "thm8-d", radial: d^0).
These are upper bounds: a measured exponent below them is no contradiction.

Verdict rule on the ratio's growth exponent e (fixed before looking at data), with [lo, hi] its
bootstrap interval at ``--confidence`` and t = ``--flat-tolerance`` (default 0.1: a ratio that changes by
less than a factor 2 over three decades of d counts as flat):
**grows** if lo > t; **flat** if −t ≤ lo and hi ≤ t; **shrinks** if hi < −t; otherwise **undecided**.
Theory expects "grows" under i.i.d. noise and "flat" under radial noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import noise as noise_registry
from .. import stats, theory
from .._rng import derive_seed
from ..engine import simulate
from .base import CommonParams, Study, StudyError, check_alpha, check_choice, check_fit_flags, flag, option, register

STRUCTURES = ("iid", "radial")
METHODS = ("gclip", "cclip")
RATIO_CLAIMS = {"iid": ("cor7/thm8", "gclip/cclip", "coordinatewise", "ratio"),
                "radial": ("cor7/thm8-radial", "gclip/cclip", "radial", "ratio")}
ERROR_CLAIMS = {("iid", "gclip"): ("cor7-d", "gclip", "coordinatewise", "f_avg"),
                ("iid", "cclip"): ("thm8-d", "cclip", "coordinatewise", "f_avg"),
                ("radial", "gclip"): ("thm4-d-radial", "gclip", "radial", "f_avg"),
                ("radial", "cclip"): ("thm8-d-radial", "cclip", "radial", "f_avg")}
EXPECTED = {"iid": "grows", "radial": "flat"}


@dataclass
class DimensionParams(CommonParams):
    dims: list = option([1, 3, 10, 30, 100, 300, 1000], "dimensions d")
    structures: list = option(list(STRUCTURES), "vector noise structures: iid and/or radial")
    noise: str = option("pareto", "noise law", choices=tuple(noise_registry.NOISES))
    alpha: float = option(1.5, "tail index α of the noise")
    n_traj: int = option(200, "independent trajectories per (method, d)", low=1)
    steps: int = option(2000, "horizon K", low=1)
    x0: float = option(1.0, "start x0 in every coordinate")
    clip: float = option(1.0, "clip level τ0 (GClip: τ0·√d)", low=0.0)
    metric: str = option("f_avg", "error: f at Theorem 4's weighted average (f_avg) or the last iterate (f)",
                         choices=("f_avg", "f"))
    n_boot: int = option(1000, "bootstrap replicates (joint over methods and d)", low=1)
    confidence: float = option(0.95, "level of the intervals", low=0.0, high=1.0)
    flat_tolerance: float = option(0.1, "|growth exponent| below this counts as flat", low=0.0)


@register
class Dimension(Study):
    name = "dimension"
    summary = "GClip vs CClip against d, i.i.d. vs radial noise (Corollary 7 vs Theorem 8)"
    Params = DimensionParams
    quick = {"dims": [1, 10, 100], "n_traj": 100, "steps": 300, "n_boot": 300}
    tables = ("finals", "errors", "ratios", "growth")

    def validate(self, p) -> None:
        super().validate(p)
        for d in p.dims:
            if not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 100_000:
                raise StudyError(f"--dims must be positive integers <= 100000, got {d!r}")
        if not p.dims or len(set(p.dims)) < 2:
            raise StudyError(f"--dims needs at least 2 distinct dimensions to fit a growth exponent, got {p.dims!r}")
        check_alpha(p.noise, [p.alpha])
        if not p.structures:
            raise StudyError(f"--structures needs at least one of {', '.join(STRUCTURES)}")
        check_choice("structures", p.structures, STRUCTURES)
        check_choice("metric", p.metric, ("f_avg", "f"))
        if not (p.clip > 0 and math.isfinite(p.clip)):
            raise StudyError(f"--clip must be a finite number > 0, got {p.clip!r}")
        if not math.isfinite(p.x0):
            raise StudyError(f"--x0 must be finite, got {p.x0!r}")
        check_fit_flags(p)
        if not (p.flat_tolerance >= 0 and math.isfinite(p.flat_tolerance)):
            raise StudyError(f"{flag('flat_tolerance')} must be a finite number >= 0, got {p.flat_tolerance!r}")
        if p.n_traj < 2:
            raise StudyError(f"--n-traj must be >= 2 for a median interval, got {p.n_traj!r}")

    def group(self, cell) -> str:
        return ""

    def cells(self, p) -> list[dict]:
        cells = []
        for structure in p.structures:
            for d in sorted(set(p.dims)):
                for method in METHODS:
                    clip = p.clip * math.sqrt(d) if method == "gclip" else p.clip
                    cells.append({"structure": structure, "method": method, "dim": int(d), "clip": clip,
                                  "noise": p.noise, "alpha": float(p.alpha), "n_traj": p.n_traj, "steps": p.steps,
                                  "seed": p.seed, "x0": p.x0, "metric": p.metric})
        return cells

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        K = cell["steps"]
        res = simulate(cell["method"], noise=cell["noise"], alpha=cell["alpha"], structure=cell["structure"],
                       dim=cell["dim"], steps=K, n_traj=cell["n_traj"], seed=cell["seed"], x0=cell["x0"],
                       checkpoints=[K], clip=cell["clip"], clip_power="1/alpha", lr_schedule="theorem4",
                       threads=threads)
        return {"finals": pd.DataFrame({
            "structure": cell["structure"], "method": cell["method"], "dim": cell["dim"], "noise": cell["noise"],
            "alpha": cell["alpha"], "steps": K, "metric": cell["metric"], "trajectory": np.arange(res.n_traj),
            "value": res.metric(cell["metric"])[:, -1], "failed": res.failed})}

    def analyze(self, p, tables):
        return analyze_finals(tables["finals"], n_boot=p.n_boot, confidence=p.confidence,
                              tolerance=p.flat_tolerance, seed=derive_seed(p.seed, "dimension", "bootstrap"))

    def report(self, tables, meta) -> str:
        p = meta["params"]
        g, r, e = tables["growth"], tables["ratios"], tables["errors"]
        lines = [f"dimension: median of {p['metric']} − f* at K={p['steps']} on ½‖x‖², noise={p['noise']} "
                 f"α={p['alpha']:g}, N={p['n_traj']} per (method, d), η_k = 4/(k+1), τ_k = τ0 k^(1/α) (GClip τ0·√d); "
                 f"{p['confidence']:.0%} joint bootstrap CIs; flat if |exponent| ≤ {p['flat_tolerance']:g}"]
        for structure in dict.fromkeys(e["structure"]):
            part = e[e["structure"] == structure]
            rat = r[r["structure"] == structure].set_index("dim")
            lines.append(f"  {structure}: {'d':>6} {'GClip median [CI]':<30} {'CClip median [CI]':<30} GClip/CClip [CI]")
            for d, rows in part.groupby("dim"):
                cols = {row["method"]: row for _, row in rows.iterrows()}
                text = [f"{cols[m]['median']:.3g} [{cols[m]['ci_low']:.3g}, {cols[m]['ci_high']:.3g}]" for m in METHODS]
                rr = rat.loc[d]
                lines.append(f"  {'':<{len(structure) + 1}} {d:>6} {text[0]:<30} {text[1]:<30} "
                             f"{rr['ratio']:.3f} [{rr['ci_low']:.3f}, {rr['ci_high']:.3f}]")
        header = (f"{'structure':<9} {'series':<12} {'growth exponent in d [CI]':<30} {'bound':>7}  "
                  f"{'verdict':<10} {'expected':<9} bound from")
        lines += [header, "-" * len(header)]
        for _, row in g.iterrows():
            bound = "none" if pd.isna(row["bound"]) else f"{row['bound']:+.3f}"
            lines.append(f"{row['structure']:<9} {row['series']:<12} "
                         f"{row['exponent']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]{'':<6} {bound:>7}  "
                         f"{row['verdict']:<10} {row['expected']:<9} theory.py {row['bound_claim']!r}")
        ratio = g[g["series"] == "ratio"]
        ok = all(row["verdict"] == row["expected"] for _, row in ratio.iterrows())
        lines.append("conclusion: the GClip/CClip ratio " + "; ".join(
            f"{row['verdict']} under {row['structure']} noise (exponent {row['exponent']:+.3f}, bound "
            f"{row['bound']:+.3f})" for _, row in ratio.iterrows())
            + (" — as Corollary 7 vs Theorem 8 predict." if ok else " — not what the theorems predict (see table)."))
        return "\n".join(lines)

    def plot(self, tables, meta):
        return plot_dimension(tables, meta)


def _median_rank(n: int) -> int:
    return stats.quantile_ranks(n, 0.5)[0]


def classify_growth(lo: float, hi: float, tolerance: float) -> str:
    """The docstring's rule on a growth exponent's interval."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no fit"
    if lo > tolerance:
        return "grows"
    if hi < -tolerance:
        return "shrinks"
    if lo >= -tolerance and hi <= tolerance:
        return "flat"
    return "undecided"


def analyze_finals(finals: pd.DataFrame, *, n_boot: int, confidence: float, tolerance: float, seed: int) -> dict:
    """Medians, ratios and growth exponents with a joint bootstrap over trajectories."""
    keys = list(finals.groupby(["structure", "method", "dim"], sort=True).groups)
    n = int(finals["trajectory"].max()) + 1
    table = np.full((len(keys), n), np.inf)
    for i, (key, part) in enumerate(finals.groupby(["structure", "method", "dim"], sort=True)):
        v = np.where(part["failed"].to_numpy() | ~np.isfinite(part["value"].to_numpy()), np.inf,
                     part["value"].to_numpy())
        table[i, part["trajectory"].to_numpy()] = v
    r = _median_rank(n)
    index = {k: i for i, k in enumerate(keys)}
    alpha = float(finals["alpha"].iloc[0])
    # point medians and their order-statistic intervals
    erows = []
    for (structure, method, d), i in index.items():
        est, lo, hi = stats.quantile_ci(table[i], 0.5, confidence=confidence)
        erows.append({"structure": structure, "method": method, "dim": d, "median": float(est),
                      "ci_low": float(lo), "ci_high": float(hi), "n_traj": n,
                      "n_failed": int(np.sum(~np.isfinite(table[i])))})
    errors = pd.DataFrame(erows)
    point = np.partition(table, r - 1, axis=1)[:, r - 1]
    rng = np.random.Generator(np.random.Philox(seed))
    boot = np.empty((n_boot, len(keys)))
    for b in range(n_boot):
        idx = rng.integers(0, n, size=n)
        boot[b] = np.partition(table[:, idx], r - 1, axis=1)[:, r - 1]
    half = 0.5 * (1.0 - confidence)

    def interval(samples):
        good = samples[np.isfinite(samples)]
        bad = samples.size - good.size
        low = np.concatenate([np.full(bad, -np.inf), np.sort(good)])
        high = np.concatenate([np.sort(good), np.full(bad, np.inf)])
        return (float(np.quantile(low, half, method="lower")), float(np.quantile(high, 1 - half, method="higher")))

    rrows, grows = [], []
    for structure in dict.fromkeys(k[0] for k in keys):
        dims = sorted({k[2] for k in keys if k[0] == structure})
        gi = [index[(structure, "gclip", d)] for d in dims]
        ci = [index[(structure, "cclip", d)] for d in dims]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio_point = point[gi] / point[ci]
            ratio_boot = boot[:, gi] / boot[:, ci]
        for j, d in enumerate(dims):
            lo, hi = interval(ratio_boot[:, j])
            rrows.append({"structure": structure, "dim": d, "ratio": float(ratio_point[j]), "ci_low": lo,
                          "ci_high": hi})
        logd = np.log(np.asarray(dims, dtype=float))
        series = {"gclip": (point[gi], boot[:, gi]), "cclip": (point[ci], boot[:, ci]),
                  "ratio": (ratio_point, ratio_boot)}
        for name, (pt, bt) in series.items():
            with np.errstate(divide="ignore", invalid="ignore"):
                ok = np.all(np.isfinite(pt) & (pt > 0))
                exponent, intercept = stats.fit_slope(logd, np.log(pt)) if ok else (np.nan, np.nan)
                logb = np.where(np.isfinite(bt) & (bt > 0), np.log(bt), np.nan)
                xc = logd - logd.mean()
                slopes = (logb - logb.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
            lo, hi = interval(slopes)
            if name == "ratio":
                claim = theory.claim(*RATIO_CLAIMS[structure])
                verdict = classify_growth(lo, hi, tolerance) if np.isfinite(exponent) else "no fit"
                expected = EXPECTED[structure]
            else:
                claim = theory.claim(*ERROR_CLAIMS[(structure, name)])
                verdict, expected = "reported", "-"
            bound = claim.at(alpha)
            grows.append({"structure": structure, "series": name, "exponent": exponent, "ci_low": lo, "ci_high": hi,
                          "intercept": intercept, "bound": np.nan if bound is None else bound,
                          "bound_claim": claim.statement, "bound_source": claim.source, "verdict": verdict, "expected": expected,
                          "dmin": min(dims), "dmax": max(dims), "alpha": alpha, "tolerance": tolerance})
    return {"finals": finals, "errors": errors, "ratios": pd.DataFrame(rrows), "growth": pd.DataFrame(grows)}


def plot_dimension(tables, meta):
    """Left: each method's median error against d; right: the GClip/CClip ratio with its fit and d^(2/α)."""
    from .. import plotting

    e, r, g = tables["errors"], tables["ratios"], tables["growth"]
    p = meta.get("params", {})
    fig, axes = plotting.figure(2, ncols=2, size=4.5)
    import seaborn as sns

    colors = dict(zip(dict.fromkeys(e["structure"]), sns.color_palette("deep", 2)))
    ax = axes[0]
    for (structure, method), part in e.groupby(["structure", "method"]):
        part = part.sort_values("dim")
        ls = "-" if method == "gclip" else "--"
        ax.plot(part["dim"], part["median"], ls=ls, marker="o", ms=3, color=colors[structure],
                label=f"{method}, {structure}")
        ax.fill_between(part["dim"], part["ci_low"], part["ci_high"].where(np.isfinite(part["ci_high"])),
                        color=colors[structure], alpha=0.2, lw=0)
    ax.set(xscale="log", yscale="log", xlabel="d", ylabel=f"median {p.get('metric', 'f_avg')} − f*",
           title="errors (bands: order-statistic CIs)")
    ax.legend(fontsize=6)
    ax = axes[1]
    for structure, part in r.groupby("structure"):
        part = part.sort_values("dim")
        ax.plot(part["dim"], part["ratio"], marker="o", ms=3, color=colors[structure], label=f"{structure}")
        ax.fill_between(part["dim"], part["ci_low"], part["ci_high"], color=colors[structure], alpha=0.2, lw=0)
        fit = g[(g["structure"] == structure) & (g["series"] == "ratio")]
        if not fit.empty:
            row = fit.iloc[0]
            d0, d1 = row["dmin"], row["dmax"]
            if np.isfinite(row["exponent"]):
                ax.plot([d0, d1], [math.exp(row["intercept"]) * d0 ** row["exponent"],
                                   math.exp(row["intercept"]) * d1 ** row["exponent"]], color=colors[structure],
                        lw=0.8, ls=":", label=f"fit {row['exponent']:+.2f} [{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]")
            plotting.theory_line(ax, d0, d1, float(part["ratio"].iloc[0]), row["bound"],
                                 label=f"bound d^{row['bound']:.2f} ({structure})",
                                 color="black" if structure == "iid" else "gray")
    ax.set(xscale="log", yscale="log", xlabel="d", ylabel="GClip / CClip (medians)",
           title="ratio (bands: joint bootstrap CIs)")
    ax.legend(fontsize=6)
    fig.suptitle(f"dimension: noise={p.get('noise')} α={p.get('alpha')}, K={p.get('steps')}, N={p.get('n_traj')}",
                 fontsize=9)
    fig.tight_layout()
    return fig
