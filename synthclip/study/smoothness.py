"""``smoothness``: Zhang et al. ICLR 2020 — clipped and normalised GD beat fixed-step GD on (L0,L1)-smooth f.

Setting: d = 1, f = x⁴/4 and cosh x − 1 (not L-smooth), low Gaussian noise; the median iteration count to reach
f ≤ ε, fitted against the start x0 (each x0 its own run).
Methods: gd-tuned (step 1/L(x0)), gd-fixed, clip (constant τ), normalized.
Verdicts: synthclip.verdict.RULE's window and words (the last decade of x0, widened by the checkpoint grid's
allowance); the claim is supported when clip and normalized grow at most linearly and gd-tuned much faster.

Full description: docs/studies/smoothness.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import findings, stats, theory, verdict
from .. import methods as method_registry
from ..engine import log_checkpoints, simulate
from ..harness import report
from ..harness.base import (
    SimulationParams,
    SlopeParams,
    Study,
    StudyError,
    check_methods,
    flag,
    option,
    plugin_cell,
    register,
    simulation_fields,
    with_registered,
)
from ..harness.horizons import trajectory_matrix
from ..harness.rate_tables import engine_fields, fit_fields, quantile_frame, sweep_fit

PROBLEMS = ("quartic", "cosh")
LABELS = ("gd-tuned", "gd-fixed", "clip", "normalized")
ADAPTIVE = ("clip", "normalized")
TINY_CLIP = 1e-8  # normalised GD: every gradient is clipped to this level


def local_smoothness(problem: str, x0: float) -> float:
    """L(x0) = sup_{|x| ≤ |x0|} f''(x): 3x0² for x⁴/4, cosh x0 for cosh x − 1."""
    return 3.0 * x0 * x0 if problem == "quartic" else math.cosh(x0)


def clip_smoothness(problem: str, tau: float) -> float:
    """sup{f''(x) : |f'(x)| ≤ τ}: 3τ^(2/3) for x⁴/4 (|x|³ ≤ τ), √(1+τ²) for cosh (|sinh x| ≤ τ)."""
    return 3.0 * tau ** (2.0 / 3.0) if problem == "quartic" else math.sqrt(1.0 + tau * tau)


def target_radius(problem: str, eps: float) -> float:
    """r_ε: the distance from x* = 0 at which f = ε."""
    return (4.0 * eps) ** 0.25 if problem == "quartic" else math.acosh(1.0 + eps)


@dataclass
class SmoothnessParams(SlopeParams, SimulationParams):
    problems: list = option(list(PROBLEMS), "problems: quartic (x⁴/4) and cosh (cosh x − 1)")
    x0_quartic: list = option([1.0, 2.0, 4.0, 8.0, 16.0, 32.0], "starts x0 for the quartic", gt=0.0)
    x0_cosh: list = option(
        [1.0, 2.0, 4.0, 6.0, 8.0],
        "starts x0 for cosh (gd-tuned needs ~e^x0 steps; cosh overflows beyond 700)",
        gt=0.0,
        high=700.0,
    )
    methods: list = option(list(LABELS), "methods (see --help)")
    eps: float = option(1e-4, "target: the first k with f(x_k) − f* ≤ eps", gt=0.0)
    noise_scale: float = option(1e-3, "scale of the Gaussian gradient noise", gt=0.0)
    clip: float = option(1.0, "clip level τ of the clip method", gt=0.0)
    lr_c: float = option(1.0, "clip method's step η = lr_c / L_τ (also gd-fixed's step)", gt=0.0)
    gd_c: float = option(1.0, "gd-tuned's step η = gd_c / L(x0) (divergence-free for gd_c < 2)", gt=0.0)
    n_checkpoints: int = option(1200, "log-spaced checkpoints (resolution of the iteration count)", low=2)
    margin: float = option(0.5, "'much faster': gd-tuned's exponent must exceed the others' by this", low=0.0)


@register
class Smoothness(Study):
    name = "smoothness"
    single_folder = True
    summary = "iterations to ε vs the start x0 on x⁴ and cosh: fixed-step GD vs clipped/normalised GD (ICLR 2020)"
    Params = SmoothnessParams
    defaults = {"steps": 100_000, "n_traj": 32}
    plugins = True  # --methods takes any registered method (at its defaults): --plugin, --method-param
    quick = {
        "x0_quartic": [1.0, 4.0, 16.0],
        "x0_cosh": [1.0, 3.0, 5.0, 6.0],
        "steps": 25_000,
        "n_traj": 8,
        "n_boot": 200,
        "n_checkpoints": 600,
    }
    tables = ("iterations", "slopes")

    def validate(self, p) -> None:
        check_methods("problems", p.problems, dict.fromkeys(PROBLEMS))
        check_methods("methods", p.methods, with_registered(dict.fromkeys(LABELS)))  # a --plugin's too
        for name, semilog in (("x0_quartic", False), ("x0_cosh", False), ("x0_cosh", True)):
            values = getattr(p, name)
            if verdict.RULE.in_window(sorted({math.exp(v) if semilog else float(v) for v in values})).sum() < 2:
                lowest = max(values) - math.log(10.0) if semilog else max(values) / 10
                raise StudyError(
                    f"{flag(name)} needs at least 2 starts in the fit window, the last decade of "
                    f"{'e^x0' if semilog else 'x0'} (x0 ≥ {lowest:g}), got {values!r}"
                )

    def cells(self, p) -> list[dict]:
        return [
            {
                "study": self.name,
                "label": label,
                **method_of(p, label, problem, x0),
                "problem": problem,
                "x0": float(x0),
                "eps": p.eps,
                "noise_scale": p.noise_scale,
                "n_checkpoints": p.n_checkpoints,
                **simulation_fields(p),
            }
            for problem in p.problems
            for label in p.methods
            for x0 in sorted(set(p.x0_quartic if problem == "quartic" else p.x0_cosh))
        ]

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        method_registry.ensure_plugin(cell)
        res = simulate(
            cell["method"],
            **engine_fields(cell),
            noise="gaussian",
            scale=cell["noise_scale"],
            dim=1,
            checkpoints=log_checkpoints(cell["steps"], cell["n_checkpoints"]),
            threads=threads,
            **cell["method_params"],
        )
        params, run = cell["method_params"], {"study": self.name, "problem": cell["problem"], "method": cell["label"]}
        hits = {**run, "x0": cell["x0"], "lr": params.get("lr", math.nan), "clip": params.get("clip", math.inf)}
        hits["trajectory"] = np.arange(res.n_traj)
        hits["iterations"] = stats.hitting_times(res.checkpoints, res.metric("f"), cell["eps"])
        return {"hits": pd.DataFrame({**hits, "failed": res.failed, "steps": cell["steps"]})}

    def analyze(self, p, tables):
        irows, srows = [], []
        grid_k = log_checkpoints(p.steps, p.n_checkpoints)
        for (problem, method), part in tables["hits"].groupby(["problem", "method"], sort=False):
            x0s, v = trajectory_matrix(part, "x0", "iterations")
            sched = part.drop_duplicates("x0").set_index("x0").sort_index()
            per_x0 = {
                "lr": sched["lr"].to_numpy(float),
                "clip": sched["clip"].to_numpy(float),
                "n_traj": v.shape[0],
                "n_failed": np.sum(~np.isfinite(v), axis=0),
                "n_diverged": part.groupby("x0")["failed"].sum().sort_index().to_numpy(int),
            }
            at = {"problem": problem, "method": method, "x0": x0s}
            irows += [quantile_frame(v, q, at, confidence=p.confidence, **per_x0) for q in (0.5, 0.9)]
            fits = [("loglog", x0s)] + ([("semilog", np.exp(x0s))] if (method, problem) == ("gd-tuned", "cosh") else [])
            for scale, xs in fits:
                claim = _theory(method, problem, scale)
                t = claim.at(2.0) if claim else None
                fit, grid, trend = sweep_fit(xs, v, t, p, checkpoints=grid_k, seed_key=(problem, method, scale))
                if method == "gd-fixed":
                    said = _never(x0s, v, part)
                elif t is None and scale == "loglog" and method in LABELS:
                    said = "e^x0: judged vs x0 (semilog)"
                else:  # a user's method has no claim: "none"
                    said = verdict.judge_fit(
                        fit, claim, 2.0, p, n_traj=fit.n_traj, q=0.5, trend=trend, widen=grid
                    ).verdict
                ends = (fit.kmin, fit.kmax) if scale == "loglog" else (math.log(fit.kmin), math.log(fit.kmax))
                srows.append(
                    {
                        **{"problem": problem, "method": method, "scale": scale},
                        **fit_fields(fit, ("slope", "ci_low", "ci_high", "intercept")),
                        **{"x_min": ends[0], "x_max": ends[1], "n_points": fit.n_points},
                        "theory": np.nan if t is None else t,
                        "statement": claim.statement if t is not None else "",
                        "theory_source": claim.source if t is not None else "",
                        **{"verdict": said, "trend": trend, "grid_allowance": grid, "reason": fit.reason},
                        **{"n_traj": v.shape[0], "n_failed": int(np.sum(~np.isfinite(v)))},
                    }
                )
        slopes = pd.DataFrame(srows)
        separation = {
            problem: findings.smoothness_separation(part, p.allowance, p.margin, ADAPTIVE)
            for problem, part in slopes.groupby("problem", sort=False)
        }
        slopes["claim"] = slopes["problem"].map(separation)
        return {"iterations": pd.concat(irows, ignore_index=True), "slopes": slopes}

    def report(self, tables, meta) -> str:
        p = meta["params"]
        slopes, its = tables["slopes"], tables["iterations"]
        lines = [
            f"smoothness: iterations until f(x_k) − f* ≤ {p['eps']:g} vs start x0, Gaussian noise "
            f"{p['noise_scale']:g}, N={p['n_traj']}, K={p['steps']}; growth exponent = slope of log median "
            f"iterations vs log x0 over the last decade of x0 (e^x0 for cosh's semilog fit), {p['confidence']:.0%} bootstrap CI ± allowance "
            f"{p['allowance']:g} + the checkpoint grid's quantization (derived per row before the run: column "
            f"grid_allowance), margin {p['margin']:g}; local slopes between consecutive starts give the trend",
            "  " + verdict.resolution_line(slopes.to_dict("records"), p["allowance"]),
        ]
        for problem, part in slopes.groupby("problem", sort=False):
            med = its[(its["problem"] == problem) & (its["quantile"] == 0.5)]
            starts = "median iterations at x0 = " + ", ".join(f"{x:g}" for x in sorted(med["x0"].unique()))
            lines += [f"{problem}:", f"  {'method':<11} {starts:<58} failed"]
            for method, m in med.groupby("method", sort=False):
                m = m.sort_values("x0")
                counts = ", ".join("never" if not np.isfinite(v) else f"{v:.0f}" for v in m["value"])
                failed = f"{int(m['n_failed'].sum())}/{int(m['n_traj'].iloc[0]) * len(m)}"
                lines.append(f"  {method:<11} {counts:<58} {failed}")
            columns = [
                ("method", "method"),
                ("fit", lambda r: "vs log x0" if r["scale"] == "loglog" else "vs x0"),
                ("exponent [CI]", report.ci_text),
                ("theory", lambda r: report.number(r["theory"], "g")),
                ("verdict", "verdict"),
            ]
            lines += [report.table(part, columns, indent="  "), f"  conclusion: {part['claim'].iloc[0]}"]
        return "\n".join(lines)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        """One row per judged growth fit, and the separation claim per problem."""
        s = tables["slopes"]
        rows = [
            report.score_row(
                meta,
                r,
                setting=f"{r['problem']}, {r['method']}",
                quantity=f"growth of median iterations to ε in {'x0' if r['scale'] == 'loglog' else 'e^x0'}",
            )
            for r in s[s["theory"].notna()].to_dict("records")
        ]
        rows += [
            report.decision_row(
                meta,
                part["claim"].iloc[0],
                statement="zhang2020 separation",
                source="Zhang et al. ICLR 2020",
                setting=problem,
                quantity="clipped/normalised GD at most linear, tuned GD faster by a margin",
            )
            for problem, part in s.groupby("problem", sort=False)
        ]
        return report.scoreboard(rows)

    def plot(self, tables, meta):
        """Median iterations (with the 0.9-quantile dashed and order-statistic bands) against x0, per problem."""
        from .. import plotting

        its, slopes = tables["iterations"], tables["slopes"]
        fig, panels = plotting.panels(its, "problem", ncols=its["problem"].nunique(), size=4.2)
        colors = plotting.colors_of(LABELS, "deep")
        for ax, problem, part in panels:
            for method, m in part.groupby("method", sort=False):
                med = m[m["quantile"] == 0.5].sort_values("x0")
                upper = m[m["quantile"] == 0.9].sort_values("x0")
                c, never = colors.get(method), f"{method}: never reaches ε"
                plotting.interval_band(ax, med, "x0", color=c, label=method)
                ax.plot(upper["x0"], upper["value"].replace(np.inf, np.nan), ls=":", color=c, lw=1)
                for i, x in enumerate(med["x0"][~np.isfinite(med["value"])]):
                    ax.axvline(x, color=c, ls="--", lw=0.8, alpha=0.6, label=never if i == 0 else None)
            s = slopes[(slopes["problem"] == problem) & (slopes["scale"] == "loglog")]
            drawn = s["method"].isin(["gd-tuned", "clip"]) & np.isfinite(s["intercept"]) & s["theory"].notna()
            for r in s[drawn].to_dict("records"):
                t, start = r["theory"], math.exp(r["intercept"]) * r["x_min"] ** r["slope"]
                label = f"x0^{t:g} ({r['method']} theory)"
                plotting.theory_line(ax, r["x_min"], r["x_max"], start, t, color=colors.get(r["method"]), label=label)
            for r in slopes[(slopes["problem"] == problem) & (slopes["scale"] == "semilog")].to_dict("records"):
                if np.isfinite(r["intercept"]):  # the semilog fit: log iterations linear in x0
                    xs = np.linspace(r["x_min"], r["x_max"], 20)
                    curve = math.exp(r["intercept"] + r["slope"] * r["x_min"]) * np.exp(r["theory"] * (xs - r["x_min"]))
                    ax.plot(xs, curve, ls="--", color="black", lw=1, label="e^x0 (gd-tuned theory)")
            plotting.log_axes(ax, "start x0", f"iterations to f − f* ≤ {meta['params']['eps']:g}")
            plotting.value_ticks(ax, sorted(part["x0"].unique()))
            ax.minorticks_off()
            ax.set_title(f"{problem}: {s['claim'].iloc[0].split(':')[0] if not s.empty else ''}", fontsize=9)
            ax.legend(fontsize=6)
        p = meta.get("params", {})
        return plotting.finish(
            fig,
            f"smoothness (Zhang et al. ICLR 2020): N={p.get('n_traj')}, noise {p.get('noise_scale')}; "
            f"dotted: 0.9-quantile; bands: {p.get('confidence', 0.95):.0%} intervals of the median",
        )


def method_of(p, label: str, problem: str, x0: float) -> dict:
    """The engine method and its parameters behind a label at a start; a user's registered method runs at its
    defaults and --method-param's."""
    if label not in LABELS:
        return plugin_cell(p, label, "method_params")
    lr_clip = p.lr_c / clip_smoothness(problem, p.clip)
    if label == "gd-tuned":
        method, params = "sgd", {"lr": p.gd_c / local_smoothness(problem, x0)}
    elif label == "gd-fixed":
        method, params = "sgd", {"lr": lr_clip}
    elif label == "clip":
        method, params = "gclip", {"lr": lr_clip, "clip": p.clip, "clip_schedule": "constant"}
    else:
        h = target_radius(problem, p.eps)
        method, params = "gclip", {"lr": h / TINY_CLIP, "clip": TINY_CLIP, "clip_schedule": "constant"}
    return {"method": method, "method_params": {**params, "lr_schedule": "constant"}}


def _never(x0s: np.ndarray, v: np.ndarray, part: pd.DataFrame) -> str:
    """gd-fixed's verdict: from which start on its runs never reach ε, and how many diverged (overflow)."""
    bad = np.isinf(v).any(axis=0)
    if not bad.any():
        return "reaches eps from every start"
    return (
        f"never reaches eps from x0 >= {x0s[bad].min():g} ({int(np.isinf(v).sum())} runs; "
        f"{int(part['failed'].sum())} diverged to inf/nan)"
    )


def _theory(method: str, problem: str, scale: str) -> theory.Claim | None:
    """The claim that judges a fit, or None (gd-fixed has no growth law; cosh is judged on its semilog fit)."""
    if method == "gd-fixed" or method not in LABELS:
        return None  # a step not tuned to the start: no growth law (gd-fixed, or a user's method at its defaults)
    if method in ADAPTIVE:
        return theory.claim("zhang2020-clip", "gclip", "l0l1_smooth", "iterations")
    if problem == "cosh" and scale == "loglog":
        return None  # e^x0 has no fixed log-log exponent; judged on the semilog fit
    return theory.claim("zhang2020-gd", "sgd", problem, "iterations")
