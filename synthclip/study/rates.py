"""``rates``: measured high-probability rates in k against Theorem 4 (and Table 1) of Zhang et al. 2020.

Setting: f(x) = ½ Σ λ_i x_i² (μ-strongly convex), heavy-tailed noise of tail index α, every method run
on the same noise (common random numbers). For each method the study records f(x̄_k) − f* at Theorem 4's
weighted average (and f(x_k) − f* at the last iterate) at log-spaced k, takes the quantiles 0.5, 0.9, 0.99
(and the mean, reported but never fitted alone) with order-statistic intervals, and fits the slope of
log quantile against log k over the asymptotic part of the run (k ≥ √K) with a bootstrap interval that
resamples trajectories.

Verdict rule (fixed before looking at data): with [lo, hi] the bootstrap interval at ``--confidence``
widened by ``--allowance`` on each side (log factors at the boundary case tail index = α bend the
curve), the theory exponent t is *consistent* if lo ≤ t ≤ hi, *faster* if t > hi (the error decays
faster than the bound, which is no contradiction of an upper bound), *slower* if t < lo. Methods that
no theorem covers in this setting get theory "none". The Table 1 conclusion applies the same rule to
GClip's median (both clip schedules) with both exponents, k^(−2(α−1)/α) (Theorem 4) and k^(−(α−1)/α)
(Table 1 as printed): the data support the exponent that some GClip run matches while every GClip run
rejects the other.
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
from .base import (CommonParams, Study, StudyError, check_alpha, check_choice, check_device, check_fit_flags,
                   check_methods, flag, option, progress_chunk, register)

# Study labels → (registry method, fixed parameters, projected). "gclip" is Theorem 4 as printed
# (τ_k = τ0 k^(α−1)); "gclip-balanced" uses τ_k = τ0 k^(1/α), the proof's bias-variance balance.
RATE_METHODS: dict[str, tuple[str, dict, bool]] = {
    "sgd": ("sgd", {}, False),
    "gclip": ("gclip", {"clip_power": "alpha-1"}, True),
    "gclip-balanced": ("gclip", {"clip_power": "1/alpha"}, True),
    "cclip": ("cclip", {"clip_power": "alpha-1"}, True),
    "adagrad_norm": ("adagrad_norm", {}, False),
    "adam_norm": ("adam_norm", {}, False),
    "clip_adagrad_norm": ("clip_adagrad_norm", {}, False),
    "clip_adam_norm": ("clip_adam_norm", {}, False),
}
SETTING = "strongly_convex"
METRICS = ("f_avg", "f")


def rate_method(label: str, *, clip: float, lr: float) -> tuple[str, dict, bool]:
    """(registry method, its parameters, projected?) of a study label: the clip level τ0 (λ) goes to the
    clipped methods, the step γ to the AdaGrad/Adam-Norm family; SGD/GClip/CClip keep 4/(μ(k+1))."""
    method, fixed, projected = RATE_METHODS[label]
    params = dict(fixed)
    if method in ("gclip", "cclip", "clip_adagrad_norm", "clip_adam_norm"):
        params["clip"] = clip
    if "adagrad" in method or "adam" in method:
        params["lr"] = lr
    return method, params, projected


@dataclass
class RatesParams(CommonParams):
    alpha: list = option([1.5], "tail index α of the noise; a comma list sweeps several (each its own folder)")
    noise: str = option("stable", "noise law", choices=tuple(noise_registry.NOISES))
    structure: str = option("iid", "vector noise: iid per coordinate or radial", choices=("iid", "radial"))
    dim: int = option(1, "dimension d", low=1)
    n_traj: int = option(10_000, "independent trajectories per method", low=1)
    steps: int = option(10_000, "horizon K (steps)", low=1)
    methods: list = option(list(RATE_METHODS), "methods to run")
    mu: float = option(1.0, "strong convexity μ (all weights λ_i = μ)", low=0.0)
    x0: float = option(1.0, "start x0 in every coordinate")
    radius: float = option(10.0, "projection radius of proj-GClip / CClip (Theorem 4)", low=0.0)
    clip: float = option(1.0, "clip level τ0 (λ for the clipped AdaGrad/Adam-Norm)", low=0.0)
    lr: float = option(1.0, "step γ of the AdaGrad/Adam-Norm family (SGD/GClip/CClip use 4/(μ(k+1)))", low=0.0)
    quantiles: list = option([0.5, 0.9, 0.99], "quantile levels to fit (1 − δ)")
    n_boot: int = option(400, "bootstrap replicates per slope", low=1)
    confidence: float = option(0.95, "level of the slope and quantile intervals", low=0.0, high=1.0)
    allowance: float = option(0.05, "model-error allowance added to each side of the slope interval", low=0.0)
    device: str = option("cpu", "where trajectories run: cpu (numba, all cores) or cuda (one GPU thread each)",
                         choices=("cpu", "cuda"))


@register
class Rates(Study):
    name = "rates"
    summary = "high-probability rates in k on a strongly convex quadratic vs Theorem 4 / Table 1"
    Params = RatesParams
    quick = {"n_traj": 2000, "steps": 2000, "n_boot": 200}
    tables = ("quantiles", "slopes")

    def validate(self, p) -> None:
        super().validate(p)
        check_alpha(p.noise, p.alpha)
        check_choice("structure", p.structure, ("iid", "radial"))
        check_methods("methods", p.methods, RATE_METHODS)
        for name in ("mu", "clip", "lr", "radius"):
            if not getattr(p, name) > 0:
                raise StudyError(f"{flag(name)} must be > 0, got {getattr(p, name)!r}")
        check_fit_flags(p)
        if not math.isfinite(p.x0):
            raise StudyError(f"--x0 must be finite, got {p.x0!r}")
        check_device(p.device, p.dim)

    def cells(self, p) -> list[dict]:
        cells = []
        for alpha in p.alpha:
            for label in p.methods:
                method, params, projected = rate_method(label, clip=p.clip, lr=p.lr)
                cells.append({
                    "label": label, "method": method, "method_params": params, "alpha": float(alpha),
                    "noise": p.noise, "structure": p.structure, "dim": p.dim, "n_traj": p.n_traj,
                    "steps": p.steps, "seed": p.seed, "mu": p.mu, "x0": p.x0,
                    "radius": p.radius if projected else math.inf, "quantiles": list(p.quantiles),
                    "n_boot": p.n_boot, "confidence": p.confidence,
                    **({"device": p.device} if p.device != "cpu" else {}),  # GPU cells are cached apart
                })
        return cells

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        res = simulate(cell["method"], noise=cell["noise"], alpha=cell["alpha"], structure=cell["structure"],
                       dim=cell["dim"], steps=cell["steps"], n_traj=cell["n_traj"], seed=cell["seed"],
                       mu=cell["mu"], L=cell["mu"], x0=cell["x0"], radius=cell["radius"], threads=threads,
                       progress=progress, chunk_size=progress_chunk(cell["n_traj"]) if progress else None,
                       device=cell.get("device", "cpu"),
                       **cell["method_params"])
        return summarize(res, cell, METRICS)

    def analyze(self, p, tables):
        slopes = tables["slopes"].copy()
        rows = []
        for _, r in slopes.iterrows():
            claim = theory.find(RATE_METHODS[r["method"]][0], SETTING, r["metric"], r["alpha"])
            t = claim.at(r["alpha"]) if claim else None
            fit = _as_fit(r)
            rows.append({"theory": np.nan if t is None else t,
                         "theory_source": claim.source if claim else "none",
                         "verdict": stats.slope_verdict(fit, t, allowance=p.allowance)
                         if r["quantile"] != "mean" else ("no theory" if t is None else "reported only")})
        slopes = pd.concat([slopes.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
        return {"quantiles": tables["quantiles"], "slopes": slopes}

    def report(self, tables, meta) -> str:
        slopes = tables["slopes"]
        p = meta["params"]
        lines = []
        for alpha, part in slopes.groupby("alpha"):
            lines.append(f"rates: f(x̄_k) − f* on x²/2-type quadratic, noise={p['noise']} α={alpha:g}, "
                         f"d={p['dim']}, K={p['steps']}, N={p['n_traj']}; slope of log quantile vs log k for "
                         f"k ≥ √K, {p['confidence']:.0%} bootstrap CI ± allowance {p['allowance']:g}")
            lines.append(verdict_table(part[part["metric"] == "f_avg"]))
            lines.append(table1_conclusion(part, alpha, p["allowance"]))
        return "\n".join(lines)

    def plot(self, tables, meta):
        return plot_rates(tables, meta)


def summarize(res, cell: Mapping[str, Any], metrics) -> dict[str, pd.DataFrame]:
    """Quantile and slope tables of one simulation (shared by the studies that fit rates in k)."""
    k = res.checkpoints
    label = cell.get("label", res.method)
    common = {"study": cell.get("study", "rates"), "method": label, "noise": res.noise, "alpha": res.alpha,
              "dim": res.dim}
    qrows, srows = [], []
    for metric in metrics:
        values = res.metric(metric)
        for q in cell["quantiles"]:
            est, lo, hi = stats.quantile_ci(values, q, confidence=cell["confidence"])
            qrows.append(pd.DataFrame({**common, "metric": metric, "k": k, "statistic": "quantile",
                                       "quantile": q, "value": est, "ci_low": lo, "ci_high": hi}))
        with np.errstate(invalid="ignore", over="ignore"):
            mean = np.mean(np.where(np.isfinite(values), values, np.inf), axis=0)
        qrows.append(pd.DataFrame({**common, "metric": metric, "k": k, "statistic": "mean", "quantile": np.nan,
                                   "value": mean, "ci_low": np.nan, "ci_high": np.nan}))
        for q in [*cell["quantiles"], "mean"]:
            fit = stats.fit_rate(k, values, q, n_boot=cell["n_boot"], confidence=cell["confidence"],
                                 seed=derive_seed(cell["seed"], "bootstrap", label, metric, q))
            srows.append({**common, "metric": metric, "quantile": str(q), "slope": fit.slope,
                          "ci_low": fit.ci_low, "ci_high": fit.ci_high, "intercept": fit.intercept,
                          "kmin": fit.kmin, "kmax": fit.kmax, "n_points": fit.n_points, "reason": fit.reason})
    quantiles = pd.concat(qrows, ignore_index=True)
    quantiles["n_traj"] = res.n_traj
    quantiles["n_failed"] = res.n_failed
    slopes = pd.DataFrame(srows)
    slopes["n_traj"] = res.n_traj
    slopes["n_failed"] = res.n_failed
    return {"quantiles": quantiles, "slopes": slopes}


def _as_fit(row) -> stats.RateFit:
    return stats.RateFit(slope=row["slope"], ci_low=row["ci_low"], ci_high=row["ci_high"],
                         intercept=row["intercept"], q=row["quantile"], kmin=row["kmin"], kmax=row["kmax"],
                         n_points=int(row["n_points"]), n_boot=0, n_traj=int(row["n_traj"]))


def verdict_table(slopes: pd.DataFrame, columns=(("method", "<18"), ("quantile", ">8")),
                  slope_title: str = "slope [CI]", verdict_width: int = 12) -> str:
    """<columns> | measured slope [CI] | theory | verdict | failed, as fixed-width text (one row per slope)."""
    header = " ".join(f"{name:{spec}}" for name, spec in columns)
    header += f"  {slope_title:<28} {'theory':>8}  {'verdict':<{verdict_width}} failed"
    lines = [header, "-" * len(header)]
    for _, r in slopes.iterrows():
        keys = " ".join(f"{r[name]:{spec}}" for name, spec in columns)
        ci = f"{r['slope']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
        t = "none" if pd.isna(r["theory"]) else f"{r['theory']:+.3f}"
        lines.append(f"{keys}  {ci:<28} {t:>8}  {r['verdict']:<{verdict_width}} "
                     f"{int(r['n_failed'])}/{int(r['n_traj'])}")
    return "\n".join(lines)


def table1_conclusion(slopes: pd.DataFrame, alpha: float, allowance: float) -> str:
    """Which of Theorem 4's and Table 1's exponents GClip's median slopes support.

    Both are upper bounds, and Theorem 5 makes k^(−2(α−1)/α) the best possible rate, so the data support
    Theorem 4 when some GClip schedule matches its exponent (verdict "consistent") and Table 1's exponent
    is rejected by every GClip schedule; Table 1 when it is matched and Theorem 4's is not.
    """
    rows = slopes[slopes["method"].str.startswith("gclip") & (slopes["metric"] == "f_avg")
                  & (slopes["quantile"] == "0.5")]
    if rows.empty:
        return "Table 1 vs Theorem 4: GClip not run."
    thm4 = theory.exponent("thm4", "gclip", SETTING, "f_avg", alpha)
    tab1 = theory.exponent("table1", "gclip", SETTING, "f_avg", alpha)
    parts, v4s, v1s = [], [], []
    for _, r in rows.iterrows():
        fit = _as_fit(r)
        v4, v1 = (stats.slope_verdict(fit, t, allowance=allowance) for t in (thm4, tab1))
        v4s.append(v4)
        v1s.append(v1)
        parts.append(f"{r['method']} {fit.slope:+.3f} [{fit.ci_low:+.3f}, {fit.ci_high:+.3f}]: Theorem 4 {v4}, "
                     f"Table 1 {v1}")
    if "consistent" in v4s and "consistent" not in v1s:
        said = f"Theorem 4's k^({thm4:+.3f}) (Table 1's k^({tab1:+.3f}) is rejected by every GClip run)"
    elif "consistent" in v1s and "consistent" not in v4s:
        said = f"Table 1's k^({tab1:+.3f}) (Theorem 4's k^({thm4:+.3f}) is rejected)"
    else:
        said = "neither exponent alone (see the verdicts)"
    return ("Table 1 vs Theorem 4 (GClip, median of f(x̄_k)): " + "; ".join(parts)
            + f". The data support {said}.")


def plot_rates(tables, meta):
    from .. import plotting

    q = tables["quantiles"]
    slopes = tables["slopes"]
    q = q[(q["metric"] == "f_avg") & (q["statistic"] == "quantile")]
    labels = list(dict.fromkeys(q["method"]))
    fig, axes = plotting.figure(len(labels))
    for ax, label in zip(axes, labels):
        part = q[q["method"] == label]
        plotting.quantile_bands(ax, part)
        s = slopes[(slopes["method"] == label) & (slopes["metric"] == "f_avg") & (slopes["quantile"] == "0.5")]
        if not s.empty and pd.notna(s.iloc[0]["theory"]):
            r = s.iloc[0]
            anchor = math.exp(r["intercept"]) * r["kmin"] ** r["slope"]
            plotting.theory_line(ax, r["kmin"], r["kmax"], anchor, r["theory"],
                                 label=f"theory {r['theory']:+.2f}")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("k")
        ax.legend(fontsize=6)
    for ax in axes[::4]:
        ax.set_ylabel("f(x̄_k) − f*")
    p = meta.get("params", {})
    fig.suptitle(f"rates: noise={p.get('noise')} α={', '.join(f'{a:g}' for a in sorted(q['alpha'].unique()))}, "
                 f"N={p.get('n_traj')}; bands: {p.get('confidence', 0.95):.0%} order-statistic intervals",
                 fontsize=10)
    fig.tight_layout()
    return fig
