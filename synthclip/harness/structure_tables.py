"""A reported table of δ-tuned quantiles across noise structures at a fixed trace: a study whose bound carries a
factor in an effective dimension that the text available does not define reports its runs in d dimensions under
the ``iid``, ``graded`` and ``axis`` structures (``synthclip.noise``: coordinate scales w at Σw² = d, effective
rank (Σw²)²/Σw⁴ from d down to 1), one seed for every structure (common random numbers). Reported, never judged:
the rows add no scoreboard row and no verdict word.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import noise
from . import report
from .base import StudyError, option
from .rate_tables import delta_columns, delta_quantiles, ratio_to

STRUCTURES = ("iid", "graded", "axis")


@dataclass
class StructureParams:
    """The structure table's options (a group): which structures, in what dimension, how many runs per δ."""

    structures: list = option(
        list(STRUCTURES),
        "noise structures of the d_eff table (reported, not judged; '' for none)",
        choices=STRUCTURES,
        optional=True,
    )
    deff_dim: int = option(16, "dimension d of the d_eff table's runs", low=2)
    deff_n_traj: int = option(100_000, "trajectories per run of the d_eff table (its δ: those with δ·N ≥ 10)", low=10)


def resolved_deltas(p) -> list[float]:
    """The δ of the study's grid (``p.deltas``) that the table's runs resolve: δ·N ≥ 10, as a judged run."""
    return [d for d in sorted(p.deltas, reverse=True) if d * p.deff_n_traj >= 10]


def check(p) -> None:
    """One line if structures are asked for and no δ of the grid is resolved by ``--deff-n-traj``."""
    if p.structures and not resolved_deltas(p):
        n = math.ceil(10 / max(p.deltas))
        raise StudyError(f"--deff-n-traj must be >= 10/max(--deltas) = {n}, got {p.deff_n_traj}")


def runs(p) -> list[tuple[float, dict]]:
    """(δ, the cell fields that make a run of the table) for every structure and resolved δ."""
    fields = {"dim": p.deff_dim, "n_traj": p.deff_n_traj}
    return [(d, {"structure": s, **fields}) for s in p.structures for d in resolved_deltas(p)]


def table(values: pd.DataFrame, p, *, by: str = "problem") -> pd.DataFrame:
    """Each (``by``, structure)'s (1 − δ)-quantiles of the runs in ``values`` (columns ``by``, structure, delta,
    value; one run per δ), with their order-statistic intervals, the effective rank and the ratio to ``iid``
    at the same δ; failures (non-finite values) lie above every quantile and are counted."""
    rows, deltas = [], resolved_deltas(p)
    for (key, structure), part in values.groupby([by, "structure"], sort=False):
        v = delta_columns(part, deltas)
        rank = noise.effective_rank(structure, p.deff_dim)
        common = {by: key, "structure": structure, "effective_rank": rank, "n_traj": v.shape[0]}
        common["n_failed"] = int(np.sum(~np.isfinite(v)))
        rows += delta_quantiles(v, deltas, common, confidence=p.confidence)
    return ratio_to(pd.DataFrame(rows), "structure", "iid", on=[by, "delta"]) if rows else pd.DataFrame()


def lines(deff: pd.DataFrame, p, method: str, *, by: str = "problem") -> list[str]:
    """The report's lines of the table (none when it is empty)."""
    if deff.empty:
        return []
    return [
        f"d_eff proxy (reported, not judged): the same {method} in d = {p['deff_dim']}, one seed for every "
        "structure; coordinate scales w at Σw² = d, effective rank (Σw²)²/Σw⁴ (not the paper's d_eff, whose "
        "definition the text available does not give; the structures also differ in E‖ξ‖^p, the bound's σ^p)",
        report.table(
            deff,
            [
                (by, by),
                ("structure", "structure"),
                ("eff. rank", lambda r: f"{r['effective_rank']:.2f}"),
                ("δ", lambda r: f"{r['delta']:g}"),
                ("(1−δ)-quantile [CI]", lambda r: report.ci_text(r, "value", spec=".4g")),
                ("/ iid", lambda r: report.number(r["ratio_to_iid"], ".3f")),
                ("failed", report.failed),
            ],
        ),
    ]


def panel(ax, part: pd.DataFrame, factor: float, dim: int, title: str) -> None:
    """One panel: each δ's quantile against the effective rank, with d_eff^factor (the bound's factor, drawn
    for reference, not judged) through the smallest δ's point at the lowest rank."""
    from .. import plotting

    lines = [(factor, ":", f"d_eff^{factor:.2f} (the bound's factor; not judged)")]
    part = part.sort_values("delta")
    plotting.interval_panel(ax, part, "effective_rank", by="delta", label="δ={:g}", lines=lines, marker="s", ms=3)
    plotting.log_axes(
        ax, "effective rank (Σw²)²/Σw⁴", "(1−δ)-quantile (δ-tuned run)", f"{title}: d_eff proxy, d = {dim}"
    )
    ax.legend(fontsize=7)
