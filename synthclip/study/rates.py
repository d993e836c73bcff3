"""``rates``: measured high-probability rates in k against Theorem 4 (and Table 1) of Zhang et al. 2020.

Setting: f(x) = ½ Σ λ_i x_i², every method on the same noise of tail index a = α + each of ``--tail-offsets``
(a = α the boundary of Assumption 1), f(x̄_k) − f* at ten checkpoints per decade up to K = 10^5.
Labels: gclip (Theorem 4's printed τ_k = τ0·k^(α−1)), gclip-balanced (τ_k ∝ k^(1/α)), gclip-const, gclip-near
(the near-miss control), cclip, sgd, sgd-proj, smom_clip, the AdaGrad/Adam-Norm family, --plugin methods.
Verdicts: synthclip.verdict.RULE, the same for every study.
``rates-onesided``: one-sided Pareto noise of tail 1.3 > α = 1.2, K = 2·10^4, tests the printed clip schedule.

Full description: docs/studies/rates.md and docs/studies/rates-onesided.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import findings, plotting, testing, theory, verdict
from .. import methods as method_registry
from ..harness import report
from ..harness.base import (
    DeviceParams,
    FitParams,
    NoiseParams,
    SimulationParams,
    Study,
    TheoremAlphaParams,
    check_alpha,
    check_claims,
    check_device,
    check_fit_horizon,
    check_memory,
    check_methods,
    fields_of,
    noise_tails,
    option,
    progress_chunk,
    register,
    with_registered,
)
from ..harness.horizons import verdict_table
from ..harness.rate_methods import (
    CONTROL,
    NEAR_MISS,
    RATE_METHODS,
    RateMethodParams,
    method_fields,
    near_miss_applies,
    near_miss_verdict,
    rate_checkpoints,
    rate_entry,
    schedule_of,
)
from ..harness.rate_tables import judge_slopes, rate_cell, run_rate_cell, slope_scoreboard

SETTING = "strongly_convex"
METRICS = ("f_avg", "f")


@dataclass
class RatesParams(FitParams, SimulationParams, NoiseParams, DeviceParams, TheoremAlphaParams, RateMethodParams):
    noise_alpha: float = option(0.0, "tail index a of the noise (0: each of --tail-offsets above --alpha)", low=0.0)
    tail_offsets: list = option(
        [0.0, 0.2],
        "noise tail indices a = α + offset run for each --alpha (with "
        "--noise-alpha 0): offset 0 is the boundary of Assumption 1 (a named "
        "limit case), offsets > 0 lie inside it, where the theorem judges; an "
        "a outside the noise law's range is skipped",
        low=0.0,
        high=1.0,
    )
    structure: str = option("iid", "vector noise: iid per coordinate or radial", choices=("iid", "radial"))
    dim: int = option(1, "dimension d", low=1)
    methods: list = option(
        list(RATE_METHODS),
        f"methods to run ({NEAR_MISS}: the rule's near-miss control, run "
        f"where its exponent is known: symmetric noise, a < 2, clip power ≤ 1/a)",
    )
    mu: float = option(1.0, "strong convexity μ (all weights λ_i = μ)", gt=0.0)
    claims: str = option(
        "",
        "a Python file stating your own synthclip.theory.Claim entries (CLAIMS = (...)): every "
        "row inside a claim's scope is judged against it too, by the same rule (claims.parquet)",
    )


@register
class Rates(Study):
    name = "rates"
    plugins = True  # --methods takes any registered method: --plugin, --method-param
    summary = "high-probability rates in k on a strongly convex quadratic vs Theorem 4 / Table 1"
    Params = RatesParams
    defaults = {"n_traj": 10_000, "steps": 100_000}
    quick = {"n_traj": 2000, "steps": 2000, "n_boot": 400}
    tables = ("quantiles", "slopes")

    def validate(self, p) -> None:
        super().validate(p)
        check_alpha(
            p.noise, [p.noise_alpha] if p.noise_alpha else p.alpha, "--noise-alpha" if p.noise_alpha else "--alpha"
        )
        check_methods("methods", p.methods, with_registered(RATE_METHODS))
        check_fit_horizon("steps", p.steps, verdict.RULE.min_k)
        # a cell holds 7 metrics × n_traj × checkpoints float64 (and a copy while tabulating); cells run in parallel
        at_once = min(len(p.methods) * len(p.alpha), p.jobs or os.cpu_count() or 1)
        check_memory(
            f"--n-traj {p.n_traj}",
            2 * 7 * 8 * p.n_traj * len(rate_checkpoints(p.steps)) * at_once,
            "lower --n-traj (or --jobs)",
        )
        check_device(p.device, p.dim)
        check_claims(p.claims)

    def cells(self, p) -> list[dict]:
        cells = []
        for alpha, noise_alpha in noise_tails(p):
            for label in p.methods:
                if label == NEAR_MISS and not near_miss_applies(p.noise, p.structure, alpha, noise_alpha):
                    continue  # its exponent is unknown there; the report says the control was not run
                cells.append(
                    rate_cell(
                        Rates.name,  # rates-onesided's tables name the rates study too
                        p,
                        label=label,
                        **method_fields(label, p, alpha=float(alpha), noise_alpha=noise_alpha, judged=True),
                        alpha=float(alpha),
                        noise_alpha=noise_alpha,
                        **fields_of(p, "noise", "structure", "dim", "mu", "x0"),
                        **({"explicit_tail": True} if p.noise_alpha else {}),
                        **({"device": p.device} if p.device != "cpu" else {}),  # GPU cells are cached apart
                    )
                )
        return cells

    def group(self, cell) -> str:
        """alpha=α for the boundary a = α (and for an explicit --noise-alpha), alpha=α,tail=a inside it."""
        alpha, a = cell["alpha"], cell["noise_alpha"]
        return f"alpha={alpha:g}" if a == alpha or cell.get("explicit_tail") else f"alpha={alpha:g},tail={a:g}"

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        method_registry.ensure_plugin(cell)
        return run_rate_cell(
            cell,
            METRICS,
            threads=threads,
            checkpoints=rate_checkpoints(cell["steps"]),
            params=cell["method_params"],
            alpha=cell["noise_alpha"],  # the cell's alpha is the theorem's
            mu=cell["mu"],
            L=cell["mu"],
            progress=progress,
            chunk_size=progress_chunk(cell["n_traj"]) if progress else None,
            device=cell.get("device", "cpu"),
        )

    def analyze(self, p, tables):
        def claim_of(r):
            return theory.find(
                rate_entry(r["method"])[0],
                SETTING,
                r["metric"],
                r["alpha"],
                schedule=schedule_of(r["method"]),
                noise=theory.noise_family(r["noise"], r["structure"]),
            )

        def control(r, trend):
            if r["method"] == NEAR_MISS and r["quantile"] != "mean" and r["metric"] == "f_avg":
                return near_miss_verdict(r, p.confidence, trend)
            return None

        out = {
            "quantiles": tables["quantiles"],
            "slopes": judge_slopes(tables["slopes"], p, claim_of=claim_of, special=control),
        }
        if p.claims:  # the researcher's statements, judged beside the package's (never in its scoreboard)
            out["claims"] = testing.judge_claims(
                out["slopes"],
                testing.load_claims(p.claims),
                setting=SETTING,
                method_of=lambda label: rate_entry(label)[0],
                schedule_of=schedule_of,
                confidence=p.confidence,
                allowance=p.allowance,
            )
        return out

    def report(self, tables, meta) -> str:
        p = meta["params"]
        fits = findings.last_decade(tables["slopes"])
        lines = []
        for alpha, part in fits.groupby("alpha"):
            na = float(part["noise_alpha"].iloc[0])
            lines.append(
                f"{meta['study']}: f − f* on ½μ‖x‖², noise={p['noise']} ({p['structure']}, "
                f"{theory.noise_family(p['noise'], p['structure'])}) of tail index {na:g}, theorem α={alpha:g}, "
                f"d={p['dim']}, K={p['steps']}, N={p['n_traj']}"
            )
            judged = part[(part["metric"] == "f_avg") & (part["quantile"] != "mean")]
            lines.append(report.rule_line(p, judged))
            lines.append(findings.near_miss(part, NEAR_MISS))
            for metric, title in (
                ("f_avg", "f(x̄_k) − f* (Theorem 4's weighted average)"),
                ("f", "f(x_k) − f* (last iterate)"),
            ):
                rows = part[part["metric"] == metric]
                if not rows.empty:
                    lines.append(title + ":")
                    lines.append(verdict_table(rows))
            lines.append(findings.table1(part, SETTING, alpha, p["confidence"]))
            lines.append(findings.barrier(part, alpha, p["confidence"]))
            lines.append(findings.schedule(part, SETTING, alpha, p["confidence"]))
            lines.append(findings.adaptive(part))
        if "claims" in tables:
            lines.append(f"your claims ({p['claims']}), judged by the same rule on the rows inside their scope:")
            lines.append(
                verdict_table(tables["claims"], columns=("method", "metric", "quantile"))
                if len(tables["claims"])
                else "  no row lies inside the scope of any of them"
            )
        return "\n".join(lines)

    def plot(self, tables, meta):
        return plot_rates(tables, meta)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        return rates_scoreboard(tables, meta)


@register
class RatesOneSided(Rates):
    name = "rates-onesided"
    summary = "the rates study on asymmetric noise (one-sided Pareto, tail 1.3 > α = 1.2): Theorem 4's clip schedule"
    defaults = {
        "alpha": [1.2],
        "noise_alpha": 1.3,
        "noise": "pareto-onesided",
        "steps": 20_000,
        "methods": ["sgd", "gclip", "gclip-balanced", "gclip-const", "cclip", "clip_adagrad_norm", "clip_adam_norm"],
    }
    quick = {"n_traj": 2000, "steps": 4000, "n_boot": 400}


def rates_scoreboard(tables, meta) -> pd.DataFrame:
    """One scoreboard row per judged last-decade quantile row of f(x̄_k), plus Table 1's rows for GClip (and, on
    asymmetric noise, the printed schedule's rows against its bias limit)."""
    s, p = tables["slopes"], meta["params"]

    def beside(first, r):
        if r["method"] not in ("gclip", "gclip-balanced"):
            return []
        tab1 = theory.claim("table1", "gclip", SETTING, "f_avg")
        rows = [report.beside_row(first, r, tab1, p["confidence"], r["alpha"])]
        if r["method"] == "gclip" and theory.noise_family(r["noise"], r["structure"]) == "asymmetric":
            limit = theory.claim("bias-limit", "gclip", SETTING, "f_avg")
            rows.append(report.beside_row(first, r, limit, p["confidence"], r["alpha"], r["noise_alpha"]))
        return rows

    return slope_scoreboard(
        meta,
        s[(s["metric"] == "f_avg") & (s["quantile"] != "mean") & (s["statement"] != CONTROL)],
        setting=lambda r: (
            f"{p['noise']} {p['structure']} tail {float(r['noise_alpha']):g}, α={r['alpha']:g}, "
            f"d={p['dim']}, K={p['steps']}, N={int(r['n_traj'])}, {r['method']}"
        ),
        quantity=lambda r: f"slope in k of the {r['quantile']}-quantile of f(x̄_k) − f*",
        reason=lambda r: r["reason"] or f"trend {r['trend']}",
        beside=beside,
    )


def plot_rates(tables, meta):
    """The headline figure, four panels at page width: (a) the median and (b) the tail quantile of f(x̄_k) − f* of
    the judged methods with their confidence bands and the judging exponents drawn through the fits over the fit
    window; (c) every method's last-decade slope with its interval per quantile, coloured by verdict, against its
    theory exponent (black tick) and Table 1's (dotted); (d) the median's local slopes per half-decade."""
    q = plotting.where(tables["quantiles"], metric="f_avg", statistic="quantile")
    fits = findings.last_decade(tables["slopes"])
    fits = fits[(fits["metric"] == "f_avg") & (fits["quantile"] != "mean")]
    pairs = list(dict.fromkeys(zip(q["alpha"], q["noise_alpha"])))
    # every (method, α, tail) series with a quantile row, named by its method (and its α and tail where several)
    series = {
        (m if len(pairs) == 1 else f"{m} (α={a:g}, tail {na:g})"): {"method": m, "alpha": a, "noise_alpha": na}
        for a, na in pairs
        for m in dict.fromkeys(q["method"])
        if not plotting.where(q, method=m, alpha=a, noise_alpha=na).empty
    }
    judged = fits[~fits["verdict"].isin([verdict.NONE, "reported only"]) & (fits["statement"] != CONTROL)]
    shown = {n: s for n, s in series.items() if not plotting.where(judged, **s).empty} or dict(list(series.items())[:6])
    colors = plotting.colors_of(shown)
    board = rates_scoreboard(tables, meta)
    fig, axes = plotting.figure(4, ncols=2, size=4.0, aspect=0.78)
    levels = sorted(q["quantile"].dropna().unique())
    for ax, tag, level in zip(axes[:2], "ab", (0.5, float(levels[-1]) if levels else 0.99)):
        lines = board[board["quantity"].str.contains(f"of the {level:g}-quantile", regex=False)]
        plotting.quantile_panel(ax, q, fits, lines, shown, colors, level=level)
        ax.set_ylabel(f"{level:g}-quantile of f(x̄_k) − f*")
        ax.set_title(f"({tag}) {'median' if level == 0.5 else f'{level:g}-quantile (tail)'}; shaded: fit window")
        plotting.legend(ax, len(ax.get_legend_handles_labels()[1]), many=9)
    table1 = [
        (t, "Table 1")
        for t in dict.fromkeys(theory.exponent("table1", "gclip", SETTING, "f_avg", a) for a, _ in pairs)
        if t is not None
    ]
    rows = pd.concat([plotting.where(fits, **s).assign(label=n) for n, s in series.items()], ignore_index=True)
    plotting.slope_panel(
        axes[2], rows, group="label", level="quantile", xlabel="last-decade slope in k [CI]", reference=table1
    )
    axes[2].set_title("(c) measured exponents against theory")
    local = plotting.where(tables["slopes"], metric="f_avg", quantile="0.5")
    local = local[local["window"] == "half-decade"] if "window" in local else local.iloc[0:0]
    median = board[board["quantity"].str.contains("of the 0.5-quantile", regex=False)]
    plotting.local_slope_panel(axes[3], local, median, shown, colors, xlabel="k (half-decade centre)")
    axes[3].set(ylabel="local slope of the median", title="(d) local slopes of the median")
    p = meta.get("params", {})
    fig.suptitle(
        f"{meta.get('study', 'rates')}: {p.get('noise')} noise, tail "
        f"{', '.join(f'{na:g}' for _, na in pairs)}, theorem α={', '.join(f'{a:g}' for a, _ in pairs)}, "
        f"N={p.get('n_traj')}; bands and whiskers: {p.get('confidence', 0.95):.0%} intervals"
    )
    fig.tight_layout()
    return fig
