"""``dimension``: GClip against CClip as the dimension grows (Corollary 7 vs Theorem 8 of Zhang et al. 2020).

Setting: f(x) = ½‖x‖² in d = 1…1000 dimensions under i.i.d. (Assumption 2) or radial (Assumption 1) heavy-tailed
noise, τ_k = τ0·k^(1/α) per clip level ``--clips``; the mean error's growth exponent in d and the GClip/CClip
ratio's, with a joint bootstrap over trajectories.
Methods: gclip (τ0 scaled by √d) and cclip on the same noise; the ratio is reported beside the bounds' ratio.
Verdicts: synthclip.verdict's words and RULE's interval settings on a fit over all d (rule_text); a ratio of
bounds is reported, never judged; its shape reads grows / flat / shrinks.

Full description: docs/studies/dimension.md.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import findings, plotting, theory, verdict
from .._rng import derive_seed
from ..harness import base, horizons, report
from ..harness.base import (
    NoiseParams,
    SimulationParams,
    SlopeParams,
    Study,
    StudyError,
    check_alpha,
    check_distinct,
    option,
    register,
)
from ..harness.rate_tables import final_values, simulate_to_horizon
from ..testing import tail_index

STRUCTURES = ("iid", "radial")
METHODS = ("gclip", "cclip")
SETTING = {"iid": "coordinatewise", "radial": "radial"}  # the claims' setting for each noise structure
# (judging claim: the sharp one, claim as printed reported beside it or None) per structure and series
CLAIMS = {
    ("iid", "ratio"): ("thm4/thm8-sharp", "cor7/thm8"),
    ("radial", "ratio"): ("cor7/thm8-radial", None),
    ("iid", "gclip"): ("thm4-d", "cor7-d"),
    ("iid", "cclip"): ("thm8-d", None),
    ("radial", "gclip"): ("thm4-d-radial", None),
    ("radial", "cclip"): ("thm8-d-radial", None),
}
RATIO = "gclip/cclip"
MIN_CLIP_FRAC = 0.01  # a ratio of two clipping methods counts only where each clips at least this often
QUANTITY = "GClip/CClip ratio growth in d"
#: the clip schedule the study runs, τ_k = τ0·k^(1/α): the theorems' claims on each method's constant are stated
#: for their own level tied to G, grown as k^(α−1) (theory: schedule "alpha-1"), so those rows read "none"
SCHEDULE = "1/alpha"


@dataclasses.dataclass
class DimensionParams(SlopeParams, SimulationParams, NoiseParams):
    dims: list = option([1, 3, 10, 30, 100, 300, 1000], "dimensions d (at least 2 distinct: a growth exponent)", low=1)
    structures: list = option(list(STRUCTURES), "vector noise structures: iid and/or radial", choices=STRUCTURES)
    alpha: float = option(1.5, "tail index α of the noise")
    x0: float = option(1.0, "start x0 in every coordinate")
    clips: list = option(
        [1.0, 0.1, 0.03],
        "clip levels τ0 swept (GClip: τ0·√d); the measured ratio's exponent depends on τ0, so it is reported per τ0",
        gt=0.0,
    )
    metric: str = option(
        "f_avg", "error: f at Theorem 4's weighted average (f_avg) or the last iterate (f)", choices=("f_avg", "f")
    )
    flat_tolerance: float = option(0.1, "|growth exponent| below this counts as flat", low=0.0)


def rule_text(p: Mapping[str, Any]) -> str:
    """The verdict rule in words, printed above the table."""
    return (
        f"rule (fixed before the run): growth exponent = least-squares slope of log(mean error) against "
        f"log d over all d; {p['confidence']:.0%} joint bootstrap over trajectories ({p['n_boot']} replicates) "
        f"± allowance {p['allowance']:g}; the ratio is reported beside the ratio of the two bounds (it predicts no "
        f"ratio of errors: never judged); a method's growth against its bound only inside the bound's scope "
        f"(its clip schedule), else none; local exponents between consecutive d; shape from the unwidened interval with t = "
        f"{p['flat_tolerance']:g}: grows (lo > t), flat (inside [−t, t]), shrinks (hi < −t), else undecided; "
        f"a ratio needs both methods to clip ≥ {MIN_CLIP_FRAC:.0%} of steps at every d"
    )


@register
class Dimension(Study):
    name = "dimension"
    single_folder = True
    summary = "GClip vs CClip against d, i.i.d. vs radial noise (Corollary 7 vs Theorem 8)"
    Params = DimensionParams
    defaults = {"noise": "pareto", "n_traj": 200, "steps": 2000}
    quick = {"dims": [1, 10, 100], "clips": [1.0, 0.1], "n_traj": 100, "steps": 300, "n_boot": 300}
    tables = ("finals", "errors", "ratios", "growth", "local")

    def validate(self, p) -> None:
        check_distinct(p, "dims", what="dimensions to fit a growth exponent")
        check_alpha(p.noise, [p.alpha])
        if p.n_traj < 2:
            raise StudyError(f"--n-traj must be >= 2 for a median interval, got {p.n_traj!r}")

    def cells(self, p) -> list[dict]:
        # every τ0 runs on the same noise (common random numbers): the τ0 dependence is not seed noise
        return [
            {
                "structure": structure,
                "method": method,
                "dim": int(d),
                "clip": tau0 * math.sqrt(d) if method == "gclip" else tau0,
                "tau0": tau0,
                # radial noise of scale √d: each coordinate keeps the i.i.d. case's scale (noise.py: the radial
                # norm is the law's magnitude times ``scale``)
                "scale": math.sqrt(d) if structure == "radial" else 1.0,
                "alpha": float(p.alpha),
                **base.fields_of(p, "noise", "n_traj", "steps", "seed", "x0", "metric"),
            }
            for tau0, structure, d, method in itertools.product(
                dict.fromkeys(float(c) for c in p.clips), p.structures, sorted(set(p.dims)), METHODS
            )
        ]

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        params = {"clip": cell["clip"], "clip_power": SCHEDULE, "lr_schedule": "theorem4"}
        res = simulate_to_horizon(cell, params, threads=threads)
        fields = {f: cell[f] for f in ("tau0", "structure", "method", "dim", "noise", "alpha", "steps", "metric")}
        return {"finals": final_values(res, cell["metric"], fields, clip_frac=res.metric("clip_frac")[:, -1])}

    def analyze(self, p, tables):
        seed = derive_seed(p.seed, "dimension", "bootstrap")
        options = base.fields_of(p, "n_boot", "confidence", "allowance")
        return analyze_finals(tables["finals"], tolerance=p.flat_tolerance, seed=seed, **options)

    def report(self, tables, meta) -> str:
        p = meta["params"]
        g, r, e, loc = tables["growth"], tables["ratios"], tables["errors"], tables["local"]
        ta = tail_index(p["noise"], p["alpha"])  # the α the claims are read at (Gaussian: 2)
        lines = [
            f"dimension: {p['metric']} − f* at K={p['steps']} on ½‖x‖², noise={p['noise']} α={p['alpha']:g} "
            f"(claims read at α={ta:g}), N={p['n_traj']} per (method, d), η_k = 4/(k+1), τ_k = τ0 k^(1/α) with "
            f"τ0 ∈ {{{', '.join(f'{c:g}' for c in p['clips'])}}} (GClip τ0·√d); radial noise of scale √d (each "
            f"coordinate keeps scale 1)",
            rule_text(p),
            "",
        ]
        for tau0 in dict.fromkeys(e["tau0"]):
            lines += _tau0_block(tau0, e[e["tau0"] == tau0], r[r["tau0"] == tau0])

        def local(row):
            part = plotting.where(loc, tau0=row["tau0"], structure=row["structure"], series=row["series"])
            return ", ".join(report.ci_text(x, "exponent", spec="+.2f") for x in part.to_dict("records"))

        def notes(row):
            printed, reason = _by(report.unprefixed(row, "printed")), row["reason"]
            said = [f"as printed: {printed}"] if printed != verdict.NONE else []
            return "; ".join(said + ([f"reason: {reason}"] if reason else []))

        lines += [
            "",
            report.table(
                g,
                [
                    ("τ0", "tau0"),
                    *report.key_columns("structure", "series"),
                    ("exponent in d, mean [CI]", lambda r: report.ci_text(r, "exponent")),
                    ("median", lambda r: f"{r['median_exponent']:+.3f}"),
                    ("shape", "shape"),
                    ("beside / judged by", _by),
                    ("verdict", "verdict"),
                    ("local exponents between consecutive d", local),
                ],
                notes=notes,
            ),
        ]
        lines.append(findings.dimension_conclusion(g))
        return "\n".join(lines)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        """One scoreboard row per structure's ratio verdict, read from the stored growth table alone."""
        g, steps = tables["growth"], meta["params"]["steps"]

        def reason(r):
            said = [
                f"shape {r['shape']}; median's exponent {r['median_exponent']:+.3f}",
                f"as printed ({r['printed_statement']}, d^{r['printed_theory']:.3f}): {r['printed_verdict']}"
                if r["printed_statement"] != verdict.NONE
                else "",
                r["reason"],
            ]
            return "; ".join(x for x in said if x)

        return report.scoreboard(
            report.score_row(
                meta,
                r,
                setting=f"{r['structure']} {r['noise']} noise, α={r['alpha']:g}, d ∈ [{int(r['dmin'])}, "
                f"{int(r['dmax'])}], K={steps}, N={int(r['n_traj'])}, τ0={r['tau0']:g}, {r['metric']}",
                quantity=QUANTITY,
                measured=r["exponent"],
                reason=reason(r),
            )
            for r in g[g["series"] == "ratio"].to_dict("records")
        )

    def plot(self, tables, meta):
        return plot_dimension(tables, meta)


def scoped_claim(
    statement: str | None, method: str, structure: str, metric: str, alpha: float, noise: str
) -> theory.Claim | None:
    """The claim named ``statement`` if its scope covers the row (method, setting, metric, α, noise family,
    variable d), else None: a row outside every scope is judged by nothing ("none")."""
    family = theory.noise_family(noise, structure)
    covering = theory.covering(method, SETTING[structure], metric, alpha, noise=family, schedule=SCHEDULE, variable="d")
    return next((c for c in covering if c.statement == statement), None)  # no claim is named None


def analyze_finals(
    finals: pd.DataFrame,
    *,
    n_boot: int,
    confidence: float,
    tolerance: float,
    seed: int,
    allowance: float = verdict.RULE.allowance,
) -> dict:
    """Means and medians per (τ0, structure, method, d), the ratios, the growth exponents in d with verdicts, and
    the local exponents between consecutive d; every table carries ``tau0`` (NaN for finals without one)."""
    if "tau0" not in finals:
        finals = finals.assign(tau0=np.nan)
    parts = {name: [] for name in ("errors", "ratios", "growth", "local")}
    for tau0, part in finals.groupby("tau0", sort=False, dropna=False):
        out = horizons.growth_in(part, ratio=METHODS, n_boot=n_boot, confidence=confidence, seed=seed)
        out["growth"] = _judged(part, out, tolerance=tolerance, allowance=allowance, confidence=confidence)
        for name in parts:
            parts[name].append(out[name].assign(tau0=tau0))
    return {"finals": finals, **{name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}}


def _judged(
    finals: pd.DataFrame, measured: dict, *, tolerance: float, allowance: float, confidence: float
) -> pd.DataFrame:
    """The growth rows of :func:`horizons.growth_in` at one clip level with their shapes and verdicts."""
    noise, alpha, metric = str(finals["noise"].iloc[0]), float(finals["alpha"].iloc[0]), str(finals["metric"].iloc[0])
    t_alpha = tail_index(noise, alpha)
    # the fields every growth row closes with
    run = {"alpha": alpha, "theory_alpha": t_alpha, "noise": noise, "metric": metric}
    clip_frac = measured["errors"].set_index(["structure", "method", "dim"])["clip_frac"]
    rows = []
    for s in measured["growth"].to_dict("records"):
        structure, name, n = s["structure"], s["series"], s["n_traj"]
        fit = {k: value for k, value in s.items() if k not in ("dmin", "dmax", "n_traj", "n_failed")}  # keys, fits
        exponent, lo, hi = interval = (s["exponent"], s["ci_low"], s["ci_high"])
        common = dict(n_traj=n, q="mean", confidence=confidence, allowance=allowance, n_failed=s["n_failed"])
        method = RATIO if name == "ratio" else name
        # the bounds are on x̄_k (Theorem 4/8): a ratio of last iterates is outside their scope
        sharp, printed = (
            None
            if name == "ratio" and metric != "f_avg"
            else scoped_claim(c, method, structure, "ratio" if name == "ratio" else metric, t_alpha, noise)
            for c in CLAIMS[(structure, name)]
        )
        v = verdict.judge(*interval, sharp, t_alpha, **common)
        if name != "ratio" and sharp is None and metric == "f_avg":
            v = verdict.Verdict(
                verdict.NONE,
                reason="the bound on this method's constant is stated for the "
                "theorem's own clip level, τ_k = G k^(α−1); this run's τ0·k^(1/α) lies outside it",
            )
        if name == "ratio" and v.verdict != verdict.NONE and (low := _rarely_clipped(clip_frac.loc[structure])):
            v = dataclasses.replace(
                v,
                verdict=verdict.INSUFFICIENT,
                reason=f"clipped fraction below {MIN_CLIP_FRAC:.0%} ({', '.join(low[:3])}"
                f"{', ...' if len(low) > 3 else ''}): the ratio does not compare two clipping methods",
            )
        pv = verdict.judge(*interval, printed, t_alpha, **common)  # "none" without a printed claim
        shape = horizons.classify_growth(lo, hi, tolerance) if np.isfinite(exponent) else "no fit"
        rows.append(
            {
                **{**fit, "shape": shape},
                **{"expected": horizons.expected_shape(v.theory, tolerance), **v.as_dict()},
                **report.prefixed("printed", {k: getattr(pv, k) for k in ("statement", "theory", "verdict")}),
                **{"dmin": s["dmin"], "dmax": s["dmax"], **run, "setting": SETTING[structure], "method": method},
                **{"n_traj": n, "tolerance": tolerance, "allowance": allowance, "confidence": confidence},
            }
        )
    return pd.DataFrame(rows)


def _by(r: Mapping[str, Any]) -> str:
    """The claim of a growth row as "<statement> d^<exponent>" ("none" without one)."""
    return r["statement"] if r["statement"] == verdict.NONE else f"{r['statement']} d^{r['theory']:.3f}"


def _rarely_clipped(clip_frac: pd.Series) -> list[str]:
    """ "<method> <fraction> at d=<d>" of each (method, d) that clips in fewer than MIN_CLIP_FRAC of its steps."""
    dims = sorted(set(clip_frac.index.get_level_values("dim")))
    return [
        f"{m} {clip_frac[(m, d)]:.1%} at d={d}" for d in dims for m in METHODS if not clip_frac[(m, d)] >= MIN_CLIP_FRAC
    ]


def _tau0_block(tau0: float, e: pd.DataFrame, r: pd.DataFrame) -> list[str]:
    """The per-d table of one clip level: both methods' means, their ratio and the clipped fractions."""
    lines = [f"τ0 = {tau0:g}"]
    for structure in dict.fromkeys(e["structure"]):
        part = e[e["structure"] == structure].set_index(["dim", "method"])
        rat = r[r["structure"] == structure]

        def mean(m):
            return lambda row: report.ci_text(part.loc[(row["dim"], m)], "mean", "mean_ci_low", "mean_ci_high", ".3g")

        def clipped(row):
            return " / ".join(f"{part.loc[(row['dim'], m), 'clip_frac']:.3f}" for m in METHODS)

        lines += [
            f"{structure}:",
            report.table(
                rat,
                [
                    ("d", "dim"),
                    ("GClip mean [CI]", mean("gclip")),
                    ("CClip mean [CI]", mean("cclip")),
                    ("GClip/CClip means [CI]", lambda row: report.ci_text(row, "ratio", spec=".3f")),
                    ("medians", lambda row: f"{row['median_ratio']:.3f}"),
                    ("clipped GClip / CClip", clipped),
                ],
                indent="  ",
            ),
        ]
    return lines


def plot_dimension(tables, meta):
    """Errors (means) against d; the GClip/CClip ratio with its fit and both predictions; clipped fractions."""
    e, r, g = tables["errors"], tables["ratios"], tables["growth"]
    p = meta.get("params", {})
    fig, axes = plotting.figure(3, ncols=2, size=4.0, aspect=0.8)  # two a row: three squeezed into a page misread
    colors = plotting.colors_of(dict.fromkeys(e["structure"]), "deep")
    levels = list(dict.fromkeys(r["tau0"]))
    styles = dict(zip(levels, ("-", "--", "-.", ":") * len(levels)))
    first = 0.1 if 0.1 in levels else levels[0]  # errors and clipped fractions at one level: 0.1, where both clip
    e = e[e["tau0"] == first].sort_values(["structure", "method"])
    # (a) and (c): a line per (structure, method), coloured by the structure, dashed for CClip
    by_method = dict(
        by=("structure", "method"),
        color=lambda k: colors[k[0]],
        ls=lambda k: "-" if k[1] == "gclip" else "--",
        label=lambda k: f"{k[1]}, {k[0]}",
    )
    ax = axes[0]
    plotting.grouped_lines(ax, e, x="dim", y="mean", band=("mean_ci_low", "mean_ci_high"), **by_method)
    plotting.log_axes(
        ax, "d", f"mean {p.get('metric', 'f_avg')} − f*", f"(a) errors at τ0 = {first:g} (bands: joint bootstrap CIs)"
    )
    ax.legend(fontsize=6.5)
    ax = axes[1]
    fits = g[g["series"] == "ratio"].set_index(["structure", "tau0"])

    def fitted(k):
        fit = fits.loc[k]
        return f"{k[0]}, τ0 = {k[1]:g}: d^{fit['exponent']:+.2f} [{fit['ci_low']:+.2f}, {fit['ci_high']:+.2f}]"

    plotting.grouped_lines(
        ax,
        r,
        x="dim",
        y="ratio",
        by=("structure", "tau0"),
        color=lambda k: colors[k[0]],
        ls=lambda k: styles[k[1]],
        label=fitted,
        band=("ci_low", "ci_high"),
        alpha=0.15,
    )
    for structure, part in r[r["tau0"] == first].groupby("structure", sort=False):
        fit = fits.loc[(structure, first)]
        anchor = float(part.sort_values("dim")["ratio"].iloc[0])
        # the bounds' ratio, and the ratio as printed (a NaN exponent draws no line)
        for words, pre, style in (
            ("bounds' ratio", "", {"color": "black" if structure == "iid" else "gray"}),
            ("as printed", "printed_", {"ls": "-.", "lw": 1.0, "color": "firebrick"}),
        ):
            t = fit[f"{pre}theory"]
            label = f"{words} d^{t:.2f} ({fit[f'{pre}statement']})"
            plotting.theory_line(ax, fit["dmin"], fit["dmax"], anchor, t, label=label, **style)
    plotting.log_axes(ax, "d", "GClip / CClip (means)", "(b) ratio per τ0 beside the bounds' ratio (not judged)")
    top = float(np.nanmax(r["ci_high"].replace(np.inf, np.nan))) if len(r) else 1.0
    if np.isfinite(top) and top > 0:
        ax.set_ylim(top=3.0 * top)  # the printed prediction's line may run far above the data
    # the ratio panel's legend (a line per structure and τ0, and the bounds) in the grid's empty fourth cell
    fig.legend(
        *ax.get_legend_handles_labels(),
        loc="center",
        bbox_to_anchor=(0.75, 0.27),
        fontsize=7,
        title="(b): fitted exponent [CI]; bounds' ratios",
    )
    ax = axes[2]
    plotting.grouped_lines(ax, e, x="dim", y="clip_frac", **by_method)
    ax.axhline(MIN_CLIP_FRAC, color="gray", lw=0.8, ls=":", label=f"{MIN_CLIP_FRAC:.0%}: the ratio counts above")
    plotting.log_axes(
        ax,
        "d",
        "mean clipped fraction of steps (CClip: coordinates)",
        f"(c) how often each method clips (τ0 = {first:g})",
    )
    ax.legend(fontsize=6.5)
    title = (
        f"dimension: noise={p.get('noise')} α={p.get('alpha')}, K={p.get('steps')}, N={p.get('n_traj')}, "
        f"τ0 ∈ {p.get('clips')}"
    )
    return plotting.finish(fig, title, fontsize=10)
