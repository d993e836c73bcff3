"""Figures drawn from stored tables only (never from live simulation objects)."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd


def _mpl():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg")
        except Exception:  # an interactive backend already in use (a notebook): keep it
            pass
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    return plt, sns


def quantile_bands(ax, frame: pd.DataFrame, *, x: str = "k", quantiles: Sequence[float] | None = None,
                   palette=None, label_prefix: str = "") -> None:
    """Lines of each quantile's estimate against x, with its confidence band, on log-log axes.

    ``frame`` is a tidy quantiles table (columns x, quantile, value, ci_low, ci_high) of one series.
    """
    _, sns = _mpl()
    frame = frame[frame["quantile"].notna()]
    qs = sorted(frame["quantile"].unique()) if quantiles is None else list(quantiles)
    colors = palette or sns.color_palette("flare", len(qs))
    drawn = False
    for q, color in zip(qs, colors):
        part = frame[np.isclose(frame["quantile"], q)].sort_values(x)
        xs, ys = part[x].to_numpy(float), part["value"].to_numpy(float)
        lo = np.clip(part["ci_low"].to_numpy(float), 1e-300, None)
        hi = np.where(np.isfinite(part["ci_high"]), part["ci_high"], np.nan)
        ys = np.where(np.isfinite(ys) & (ys > 0), ys, np.nan)  # failed (+inf) points leave a gap
        ax.plot(xs, ys, color=color, lw=1.4, label=f"{label_prefix}q={q:g}")
        ax.fill_between(xs, lo, hi, color=color, alpha=0.25, lw=0)
        drawn = drawn or bool(np.isfinite(ys).any())
    if drawn:
        ax.set_xscale("log")
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no finite quantile\n(failed runs)", transform=ax.transAxes, ha="center", va="center")


def theory_line(ax, k_from: float, k_to: float, anchor: float, slope: float | None, *, label: str = "theory",
                color: str = "black") -> None:
    """A dashed power law of exponent ``slope`` through (k_from, anchor)."""
    if slope is None or not (math.isfinite(anchor) and anchor > 0):
        return
    ks = np.geomspace(k_from, k_to, 20)
    ax.plot(ks, anchor * (ks / k_from) ** slope, ls="--", lw=1.2, color=color, label=label)


def figure(n_panels: int, *, ncols: int = 4, size: float = 3.0):
    plt, _ = _mpl()
    ncols = min(ncols, n_panels)
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * 0.85 * nrows), squeeze=False)
    for ax in axes.ravel()[n_panels:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n_panels]


def close(fig) -> None:
    plt, _ = _mpl()
    plt.close(fig)
