"""``nonlinear-sgd``: Armacki, Bajović, Jakovetić, Kar 2025 — nonlinear SGD under symmetric noise of any tail index.

Setting: f(x) = Σ_i x_i²/(1 + x_i²) (the nonconvex problem), noise i.i.d. per coordinate; x_k = x_{k−1} − η_k Ψ(g_k)
with η_k = a/√(k+1) and the nonlinearity Ψ fixed in k: component-wise sign (signsgd_m, β = 0) and clipping
(cclip), joint clipping (gclip) and normalization (nsgd_m, β = 0). One run per (noise, α, method) gives the curve in
k: min_{j≤k} ‖∇f(x_j)‖ (the theorem's quantity, as the square root of its min_k ‖∇f‖²) and ‖∇f(x_k)‖ (reported).
Symmetric noise: stable-wide at every α, α ≤ 1 included (no mean); the control: pareto-onesided (asymmetric).
Verdicts: each row by synthclip.verdict.RULE against t^(−1/4); across α by the α-spread rule (``rate_tables.alpha_spread``).

Full description: docs/studies/nonlinear-sgd.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import findings, theory, verdict
from ..harness import report
from ..harness.base import FitParams, SimulationParams, Study, check_alpha, option, register
from ..harness.rate_tables import alpha_spread, judge_slopes, rate_cell, run_rate_cell, slope_scoreboard

SETTING = "nonconvex"
METRICS = ("grad_norm_min", "grad_norm")
JUDGED = ("grad_norm_min",)
SYMMETRIC, ONESIDED = "stable-wide", "pareto-onesided"
#: label → (registry method, its parameters besides the step): the nonlinearity Ψ
NONLINEAR = {
    "sign": ("signsgd_m", {"beta": 0.0}),
    "cclip": ("cclip", {"clip_schedule": "constant"}),
    "gclip": ("gclip", {"clip_schedule": "constant"}),
    "normalized": ("nsgd_m", {"beta": 0.0}),
}


@dataclass
class NonlinearParams(FitParams, SimulationParams):
    alphas: list = option(
        [0.8, 1.1, 1.3, 1.5, 1.8, 2.0],
        "tail indices α of the symmetric noise (stable-wide: α in (0, 2]; α ≤ 1 has no mean)",
        gt=0.0,
        high=2.0,
    )
    control_alphas: list = option(
        [1.1, 1.3, 1.5, 1.8, 2.0],
        "tail indices of the one-sided control (pareto-onesided, > 1; empty: no control)",
        gt=1.0,
        optional=True,
    )
    methods: list = option(
        list(NONLINEAR),
        "nonlinearities: sign, cclip (component-wise), gclip, normalized (joint)",
        choices=tuple(NONLINEAR),
    )
    dim: int = option(10, "dimension d", low=1)
    scale: float = option(1.0, "noise scale s", gt=0.0)
    x0: float = option(1.0, "start x0 in every coordinate")
    lr0: float = option(0.5, "a of the step η_k = a/√(k+1)", gt=0.0)
    clip: float = option(3.0, "clip level τ of gclip and cclip, constant in k", gt=0.0)


@register
class NonlinearSGD(Study):
    name = "nonlinear-sgd"
    summary = "min_k ‖∇f‖ vs k of sign/clip/normalized SGD, non-convex f, symmetric noise of any α (Armacki et al.)"
    Params = NonlinearParams
    defaults = {"n_traj": 1000, "confidence": 0.995, "n_boot": 4000}
    quick = {
        "n_traj": 400,
        "steps": 1000,
        "n_boot": 400,
        "alphas": [0.8, 1.5, 2.0],
        "control_alphas": [1.5, 2.0],
        "methods": ["sign", "normalized"],
        "quantiles": [0.5, 0.9],
    }
    tables = ("quantiles", "slopes", "spread")
    single_folder = True

    def validate(self, p) -> None:
        check_alpha(SYMMETRIC, p.alphas, "--alphas")
        check_alpha(ONESIDED, p.control_alphas, "--control-alphas")

    def cells(self, p) -> list[dict]:
        runs = [(SYMMETRIC, a) for a in p.alphas] + [(ONESIDED, a) for a in p.control_alphas]
        step = {"lr": p.lr0, "lr_schedule": "poly", "lr_power": 0.5}
        return [
            rate_cell(
                self.name,
                p,
                label=label,
                method=NONLINEAR[label][0],
                problem=SETTING,
                noise=noise,
                alpha=float(alpha),
                dim=p.dim,
                scale=p.scale,
                x0=p.x0,
                params={**step, **NONLINEAR[label][1], **({"clip": p.clip} if "clip" in label else {})},
            )
            for noise, alpha in runs
            for label in p.methods
        ]

    def run_cell(self, cell, *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        return run_rate_cell(cell, METRICS, threads=threads)

    def analyze(self, p, tables):
        def claim_of(r):
            """The entry on symmetric noise; a one-sided row lies outside its scope and is judged against it as
            the control that must fail."""
            if r["metric"] not in JUDGED:
                return None
            method, onesided = NONLINEAR[r["method"]][0], r["noise"] == ONESIDED
            family = "symmetric" if onesided else theory.noise_family(r["noise"], r["structure"])
            claim = theory.find(method, SETTING, r["metric"], r["alpha"], schedule=theory.ANYTIME_SQRT, noise=family)
            return theory.control(claim, "asymmetric noise, outside the entry's scope") if onesided and claim else claim

        slopes = judge_slopes(tables["slopes"], p, claim_of=claim_of)
        return {"quantiles": tables["quantiles"], "slopes": slopes, "spread": alpha_spread(slopes, JUDGED)}

    def report(self, tables, meta) -> str:
        p = meta["params"]
        fits = findings.last_decade(tables["slopes"])
        lines = [
            f"nonlinear-sgd: f = Σ x_i²/(1+x_i²), d={p['dim']}, x0={p['x0']:g}, η_k = {p['lr0']:g}/√(k+1), "
            f"τ = {p['clip']:g} (gclip, cclip), noise i.i.d. scale {p['scale']:g}, N={p['n_traj']}, "
            f"K={p['steps']}",
            verdict.RULE.describe(confidence=p["confidence"], allowance=p["allowance"], n_boot=p["n_boot"]),
        ]
        for noise, part in fits.groupby("noise", sort=False):
            lines.append(f"\n{noise} ({theory.noise_family(noise)}):")
            lines.append(
                report.table(
                    part[part["quantile"] != "mean"],
                    [
                        ("method", "method"),
                        ("α", "alpha"),
                        ("metric", "metric"),
                        ("q", "quantile"),
                        *report.verdict_columns("slope in k [CI]"),
                    ],
                    notes=report.verdict_notes,
                )
            )
        lines.append("\nα-spread (every α of a noise, per method, metric and quantile):")
        lines.append(
            report.table(
                tables["spread"],
                [
                    ("noise", "noise"),
                    ("method", "method"),
                    ("metric", "metric"),
                    ("q", "quantile"),
                    ("slopes from", lambda r: f"{r['lowest']:+.3f} (α={r['fastest_alpha']:g})"),
                    ("to", lambda r: f"{r['highest']:+.3f} (α={r['slowest_alpha']:g})"),
                    ("union width", lambda r: f"{r['union']:.3f}"),
                    ("α-spread", "spread"),
                    ("bound", "bound"),
                    ("statement", "decision"),
                ],
            )
        )
        lines.append(findings.nonlinear_conclusion(tables["spread"], SYMMETRIC, ONESIDED))
        return "\n".join(lines)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        return slope_scoreboard(
            meta,
            tables["slopes"],
            setting=lambda r: f"{r['method']}, {r['noise']} α={r['alpha']:g}, N={int(r['n_traj'])}, K={int(r['kmax'])}",
            quantity=lambda r: f"slope in k of the {r['quantile']}-quantile of {r['metric']}",
        )

    def plot(self, tables, meta):
        from .. import plotting

        q = tables["quantiles"]
        q = q[(q["metric"] == "grad_norm_min") & (q["quantile"] == 0.5)]
        panels = list(q.groupby(["noise", "method"], sort=False))
        fig, axes = plotting.figure(len(panels))
        for ax, ((noise, method), part) in zip(axes, panels):
            for alpha, curve in part.groupby("alpha"):
                ax.plot(curve["k"], curve["value"], lw=1.2, label=f"α={alpha:g}")
            k = np.array([part["k"].max() / 10, part["k"].max()])
            ax.plot(k, part["value"].min() * (k / k[-1]) ** -0.25, "k--", lw=1, label="t^(−1/4) (bound)")
            ax.set(xscale="log", yscale="log", xlabel="k", title=f"{method}, {noise}")
            ax.set_ylabel("median of min_j≤k ‖∇f(x_j)‖", fontsize=8)
            ax.legend(fontsize=6)
        title = "nonlinear-sgd (Armacki et al. 2025): the α-free exponent on symmetric noise, the one-sided control"
        return plotting.finish(fig, title, fontsize=10)
