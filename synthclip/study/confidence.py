"""``confidence``: how the (1 − δ)-quantile of the error grows as δ → 0 (Chezhegov et al.).

Setting: f(x) = x²/2 under heavy-tailed noise at a fixed horizon K; each method's (1 − δ)-quantile of f(x_K) − f*
over log-spaced δ, fitted as a power law and as a polylog in 1/δ, with a test of concavity beyond any power law.
Methods: AdaGrad-Norm and Adam-Norm with and without delay, their clipped versions, SGD and GClip as controls,
on the ``reference`` instance and on ``tied-b0`` (this package's construction, where plain AdaGrad-Norm fails).
Verdicts: polynomial / polylog / undecided by this study's own δ rule, fixed before the data and calibrated
by ``calibrate`` (not synthclip.verdict.RULE, which fits slopes in k).

Full description: docs/studies/confidence.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import findings, stats, theory
from .. import methods as method_registry
from .._rng import derive_seed
from ..engine import simulate
from . import report
from .base import (
    IntervalParams,
    NoiseParams,
    SimulationParams,
    Study,
    StudyError,
    check_alpha,
    check_methods,
    declares,
    method_overrides,
    option,
    register,
    with_overrides,
    with_registered,
)

# Study labels → (registry method, fixed parameters). Controls use the registry's Theorem 4 step 4/(k+1).
CONFIDENCE_METHODS: dict[str, tuple[str, dict]] = {
    "adagrad_norm": ("adagrad_norm", {}),
    "adagrad_norm-delayed": ("adagrad_norm", {"delayed": True}),
    "adam_norm": ("adam_norm", {}),
    "adam_norm-delayed": ("adam_norm", {"delayed": True}),
    "clip_adagrad_norm": ("clip_adagrad_norm", {}),
    "clip_adagrad_norm-delayed": ("clip_adagrad_norm", {"delayed": True}),
    "clip_adam_norm": ("clip_adam_norm", {}),
    "clip_adam_norm-delayed": ("clip_adam_norm", {"delayed": True}),
    "sgd": ("sgd", {}),
    "gclip": ("gclip", {}),
}
TIED_METHODS = ("adagrad_norm", "adagrad_norm-delayed", "clip_adagrad_norm", "clip_adagrad_norm-delayed")
INSTANCES = ("reference", "tied-b0")
MODELS = ("poly", "polylog")
SETTING = "convex"
UNCLIPPED = ("chezhegov-unclipped", "adagrad_norm/adam_norm", SETTING, "f")
CLIPPED = ("chezhegov-clipped", "clip_adagrad_norm/clip_adam_norm", SETTING, "f")


@dataclass
class ConfidenceParams(IntervalParams, SimulationParams, NoiseParams):
    instances: list = option(
        list(INSTANCES),
        "instances to run: reference (γ = b0 = 1) and tied-b0 (b0 and γ tied to δ_min and K)",
        choices=INSTANCES,
    )
    methods: list = option(list(CONFIDENCE_METHODS), "methods of the reference instance")
    alpha: float = option(1.5, "tail index α of the noise")
    x0: float = option(1.0, "start x0")
    lr: float = option(1.0, "γ of the AdaGrad/Adam-Norm family on the reference instance", gt=0.0)
    b0: float = option(1.0, "b0 on the reference instance", gt=0.0)
    clip: float = option(1.0, "clip level λ (GClip: τ0)", gt=0.0)
    tied_steps: float = option(10.0, "tied-b0 instance: γ = c·b0/K with this c", gt=0.0)
    delta_max: float = option(0.1, "largest δ", gt=0.0, lt=1.0)
    delta_min: float = option(1e-4, "smallest δ (≥ 10/N, < --delta-max)", gt=0.0, lt=1.0)
    n_deltas: int = option(10, "number of log-spaced δ values (a line and its curvature)", low=3)
    polylog_power: float = option(2.0, "s_max: growth up to log^s_max(1/δ) counts as polylogarithmic", gt=0.0)


def delta_grid(p) -> np.ndarray:
    return np.geomspace(p["delta_max"], p["delta_min"], int(p["n_deltas"]))


def boundary_slope(deltas, power: float) -> float:
    """s_max·β: the poly-model slope of the law log(1/δ)^s_max on this δ grid (exact, OLS is linear)."""
    u = np.log(1.0 / np.asarray(deltas, dtype=float))
    slope, _ = stats.fit_slope(u, np.log(u))
    return float(power) * slope


def tied_b0(p) -> tuple[float, float]:
    """(b0, γ) of the tied-b0 instance: b0 = (K/δ_min)^(1/α) (noise scale 1), γ = c·b0/K."""
    b0 = (p["steps"] / p["delta_min"]) ** (1.0 / p["alpha"])
    return b0, p["tied_steps"] * b0 / p["steps"]


def classify(
    poly: Mapping[str, float], polylog: Mapping[str, float], boundary: float, power: float, power_law_rejected: bool
) -> str:
    """The docstring's rule: polynomial / polylog / undecided / no fit."""
    if not (np.isfinite(poly["slope"]) and np.isfinite(polylog["slope"])):
        return "no fit"
    if poly["ci_low"] > boundary:
        return "polynomial"
    if polylog["ci_high"] <= power and power_law_rejected:
        return "polylog"
    return "undecided"


def decide(values, deltas, *, n_boot: int, confidence: float, power: float, boundary: float, seed: int) -> str:
    """The verdict on one method's final errors (the fits and test of ``summarize``, then ``classify``)."""
    fits = stats.delta_fit_bootstrap(values, deltas, MODELS, n_boot=n_boot, confidence=confidence, seed=seed)
    test = stats.power_law_test(values, deltas, n_boot=n_boot, confidence=confidence, seed=seed)
    by = {m: {"slope": f.slope, "ci_low": f.ci_low, "ci_high": f.ci_high} for m, f in fits.items()}
    return classify(by["poly"], by["polylog"], boundary, power, test.rejects)


def _claim_for(method: str):
    if method in ("adagrad_norm", "adam_norm"):
        return theory.claim(*UNCLIPPED)
    if method in ("clip_adagrad_norm", "clip_adam_norm"):
        return theory.claim(*CLIPPED)
    return None


@register
class Confidence(Study):
    name = "confidence"
    summary = "(1−δ)-quantile vs δ: AdaGrad/Adam-Norm (± delay) vs clipped versions (Chezhegov et al.)"
    Params = ConfidenceParams
    defaults = {"noise": "pareto", "n_traj": 100_000, "steps": 1000, "n_boot": 1000, "confidence": 0.95}
    plugins = True  # --methods takes any registered method (at its defaults): --plugin, --method-param
    quick = {"n_traj": 5000, "steps": 300, "delta_min": 2e-3, "n_boot": 300}
    tables = ("quantiles", "fits", "verdicts")

    def validate(self, p) -> None:
        check_alpha(p.noise, [p.alpha])
        if p.noise in ("gaussian", "spike"):
            raise StudyError(f"--noise must be a heavy-tailed law (pareto, stable, pareto-onesided), got {p.noise!r}")
        if "reference" in p.instances:
            check_methods("methods", p.methods, with_registered(CONFIDENCE_METHODS))  # a --plugin's too
        if not p.delta_min < p.delta_max:
            raise StudyError(f"--delta-min must be in (0, --delta-max = {p.delta_max:g}), got {p.delta_min!r}")
        if p.delta_min * p.n_traj < 10:
            raise StudyError(
                f"--delta-min must be >= 10/--n-traj = {10 / p.n_traj:g} so the smallest δ has a real "
                f"interval, got {p.delta_min!r}"
            )

    def group(self, cell) -> str:
        return ""

    def cells(self, p) -> list[dict]:
        common = {
            "noise": p.noise,
            "alpha": float(p.alpha),
            "n_traj": p.n_traj,
            "steps": p.steps,
            "seed": p.seed,
            "x0": p.x0,
            "delta_max": p.delta_max,
            "delta_min": p.delta_min,
            "n_deltas": p.n_deltas,
            "n_boot": p.n_boot,
            "confidence": p.confidence,
            "tied_steps": p.tied_steps,
            "rule": "pivot+power-law-test",
        }  # the cached fits carry the columns this rule reads
        cells = []
        for instance in p.instances:
            labels = p.methods if instance == "reference" else TIED_METHODS
            for label in labels:
                method, fixed = CONFIDENCE_METHODS.get(label, (label, {}))
                params = dict(fixed)
                if declares(method, "clip_schedule"):  # it clips on the shared schedule: λ (GClip: τ0)
                    params["clip"] = p.clip
                if declares(method, "b0"):  # the AdaGrad/Adam-Norm family: γ and b0 of the instance
                    if instance == "reference":
                        params.update(lr=p.lr, b0=p.b0)
                    else:
                        b0, lr = tied_b0(common)
                        params.update(lr=lr, b0=b0)
                params = with_overrides(method_overrides(p), label, method, params, judged=label in CONFIDENCE_METHODS)
                cells.append(
                    {
                        "instance": instance,
                        "label": label,
                        "method": method,
                        "method_params": params,
                        **common,
                        **method_registry.plugin_of(method),
                    }
                )
        return cells

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        K = cell["steps"]
        method_registry.ensure_plugin(cell)
        res = simulate(
            cell["method"],
            noise=cell["noise"],
            alpha=cell["alpha"],
            steps=K,
            n_traj=cell["n_traj"],
            seed=cell["seed"],
            x0=cell["x0"],
            checkpoints=[K],
            threads=threads,
            **cell["method_params"],
        )
        values = res.metric("f")[:, -1]
        return summarize(values, cell, n_failed=res.n_failed)

    def analyze(self, p, tables):
        fits = tables["fits"]
        deltas = delta_grid({"delta_max": p.delta_max, "delta_min": p.delta_min, "n_deltas": p.n_deltas})
        boundary = boundary_slope(deltas, p.polylog_power)
        rows = []
        for (instance, label), part in fits.groupby(["instance", "method"], sort=False):
            by = {r["model"]: r for _, r in part.iterrows()}
            verdict = classify(
                by["poly"], by["polylog"], boundary, p.polylog_power, bool(by["poly"]["power_law_rejects"])
            )
            claim = _claim_for(CONFIDENCE_METHODS[label][0]) if label in CONFIDENCE_METHODS else None
            expected = "none" if claim is None else claim.model
            if claim is None:
                agrees = "control" if label in CONFIDENCE_METHODS else "none"  # a user's method: no statement
            elif verdict == expected:
                agrees = "yes"
            elif verdict in ("undecided", "no fit"):
                agrees = "open"
            else:
                # lower bound (unclipped): existential, one polylog instance does not contradict it
                agrees = "not on this instance" if expected == "polynomial" else "contradicts"
            rows.append(
                {
                    "instance": instance,
                    "method": label,
                    "poly_slope": by["poly"]["slope"],
                    "poly_low": by["poly"]["ci_low"],
                    "poly_high": by["poly"]["ci_high"],
                    "polylog_slope": by["polylog"]["slope"],
                    "polylog_low": by["polylog"]["ci_low"],
                    "polylog_high": by["polylog"]["ci_high"],
                    "boundary": boundary,
                    "polylog_power": p.polylog_power,
                    "power_law_p": by["poly"]["power_law_p"],
                    "verdict": verdict,
                    "theory": expected,
                    "agrees": agrees,
                    "theory_source": claim.source if claim else "none",
                    "n_traj": int(by["poly"]["n_traj"]),
                    "n_failed": int(by["poly"]["n_failed"]),
                }
            )
        return {**tables, "verdicts": pd.DataFrame(rows)}

    def report(self, tables, meta) -> str:
        v = tables["verdicts"]
        p = meta["params"]
        if v.empty:
            return "confidence: no results"
        b0, lr = tied_b0(p)
        lines = [
            f"confidence: (1−δ)-quantile of f(x_K) − f* on x²/2, noise={p['noise']} α={p['alpha']:g}, K={p['steps']}, "
            f"N={p['n_traj']}, δ from {p['delta_max']:g} to {p['delta_min']:g} ({p['n_deltas']} values); "
            f"{p['confidence']:.0%} order-statistic pivot CIs",
            f"rule: polynomial if poly-slope CI > s_max·β = {v['boundary'].iloc[0]:.3f} (s_max = "
            f"{p['polylog_power']:g}); else polylog if polylog-slope CI ≤ {p['polylog_power']:g} and every power "
            f"law is rejected (curvature test, one-sided {(1 - p['confidence']) / 2:.3g}); else undecided",
            f"instances: reference γ={p['lr']:g}, b0={p['b0']:g}, λ={p['clip']:g}; tied-b0 b0=(K/δ_min)^(1/α)="
            f"{b0:.4g}, γ={p['tied_steps']:g}·b0/K={lr:.4g}",
        ]
        lines.append(
            report.table(
                v,
                [
                    ("instance", "instance"),
                    ("method", "method"),
                    ("poly slope [CI]", lambda r: report.ci_text(r, "poly_slope", "poly_low", "poly_high", "+.2f")),
                    (
                        "polylog slope [CI]",
                        lambda r: report.ci_text(r, "polylog_slope", "polylog_low", "polylog_high", "+.2f"),
                    ),
                    ("verdict", "verdict"),
                    ("theory", "theory"),
                    ("agrees", "agrees"),
                    ("failed", report.failed),
                ],
            )
        )
        lines.append(findings.adagrad_conclusion(v))
        lines.append(
            "note: the lower-bound construction of Chezhegov et al. was not found in the stored corpus "
            "(abstracts only); tied-b0 is this package's instance (docs/studies/confidence.md)."
        )
        return "\n".join(lines)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        """One row per (instance, method) that a Chezhegov et al. statement covers: polynomial or polylog in 1/δ."""
        return report.scoreboard(
            report.score_row(
                meta,
                r,
                statement="chezhegov-" + ("clipped" if r["method"].startswith("clip") else "unclipped"),
                setting=f"{r['instance']}, {r['method']}, N={int(r['n_traj'])}",
                quantity="growth of the (1−δ)-quantile in 1/δ (poly slope)",
                measured=r["poly_slope"],
                ci_low=r["poly_low"],
                ci_high=r["poly_high"],
                theory=np.nan,
                reason=f"theory {r['theory']}: agrees {r['agrees']}",
            )
            for r in tables["verdicts"].to_dict("records")
            if r["theory"] not in ("none", "", None)
        )

    def plot(self, tables, meta):
        return plot_confidence(tables, meta)


def summarize(values: np.ndarray, cell: Mapping[str, Any], n_failed: int) -> dict[str, pd.DataFrame]:
    """Quantile and fit tables of one method's final errors."""
    deltas = delta_grid(cell)
    common = {
        "instance": cell["instance"],
        "method": cell["label"],
        "noise": cell["noise"],
        "alpha": cell["alpha"],
        "steps": cell["steps"],
        "n_traj": len(values),
        "n_failed": n_failed,
    }
    qrows = []
    for d in deltas:
        est, lo, hi = stats.quantile_ci(values, 1.0 - d, confidence=cell["confidence"])
        qrows.append({**common, "delta": d, "value": float(est), "ci_low": float(lo), "ci_high": float(hi)})
    seed = derive_seed(cell["seed"], "confidence", cell["instance"], cell["label"])
    fits = stats.delta_fit_bootstrap(
        values, deltas, MODELS, n_boot=cell["n_boot"], confidence=cell["confidence"], seed=seed
    )
    test = stats.power_law_test(values, deltas, n_boot=cell["n_boot"], confidence=cell["confidence"], seed=seed)
    frows = [
        {
            **common,
            "model": m,
            "slope": f.slope,
            "ci_low": f.ci_low,
            "ci_high": f.ci_high,
            "intercept": f.intercept,
            "r2": f.r2,
            "reason": f.reason,
            "power_law_p": test.p_value,
            "power_law_rejects": test.rejects,
        }
        for m, f in fits.items()
    ]
    return {"quantiles": pd.DataFrame(qrows), "fits": pd.DataFrame(frows)}


def plot_confidence(tables, meta):
    """Per instance: q(δ)/q(δ_max) against 1/δ per method, with the polylog boundary and δ^(−2/α)."""
    from .. import plotting

    q = tables["quantiles"]
    p = meta.get("params", {})
    instances = list(dict.fromkeys(q["instance"]))
    fig, axes = plotting.figure(len(instances), ncols=2, size=4.5)
    import seaborn as sns

    labels = list(dict.fromkeys(q["method"]))
    colors = dict(zip(labels, sns.color_palette("tab10", len(labels))))
    for ax, instance in zip(axes, instances):
        part = q[q["instance"] == instance]
        dmax = part["delta"].max()
        for label, band in part.groupby("method", sort=False):
            band = band.sort_values("delta", ascending=False)
            ref = band["value"].iloc[0]
            if not (np.isfinite(ref) and ref > 0):
                continue
            x = 1.0 / band["delta"].to_numpy()
            style = "--" if "delayed" in label else "-"
            ax.plot(x, band["value"] / ref, ls=style, color=colors[label], lw=1.3, label=label)
            ax.fill_between(
                x,
                band["ci_low"] / ref,
                np.where(np.isfinite(band["ci_high"]), band["ci_high"] / ref, np.nan),
                color=colors[label],
                alpha=0.15,
                lw=0,
            )
        x = np.geomspace(1.0 / dmax, 1.0 / part["delta"].min(), 40)
        power = p.get("polylog_power", 2.0)
        ax.plot(
            x,
            (np.log(x) / np.log(1.0 / dmax)) ** power,
            "k",
            ls=":",
            lw=1.5,
            label=f"log^{power:g}(1/δ) (polylog boundary)",
        )
        alpha = float(part["alpha"].iloc[0])
        plotting.theory_line(ax, x[0], x[-1], 1.0, 2.0 / alpha, label=f"(1/δ)^(2/α) = (1/δ)^{2 / alpha:.2f}")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="1/δ",
            ylabel="(1−δ)-quantile of f(x_K) − f*, / value at δ_max",
            title=f"instance {instance}",
        )
        ax.legend(fontsize=6)
    fig.suptitle(
        f"confidence: noise={p.get('noise')} α={p.get('alpha')}, K={p.get('steps')}, N={p.get('n_traj')}; "
        f"bands: {p.get('confidence', 0.95):.0%} order-statistic intervals",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
