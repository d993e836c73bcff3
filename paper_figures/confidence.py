# ---
# jupyter:
#   jupytext:
#     formats: py:percent,ipynb
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Confidence: the (1−δ)-quantile of the error against 1/δ (Chezhegov et al.)
#
# Reads only the stored results of `python -m synthclip.study confidence` (under
# `studies/results/confidence/`; set `SYNTHCLIP_RESULTS` to read another results root). Top row: for each
# instance, the (1−δ)-quantile of f(x_K) − f* against 1/δ with its order-statistic band, unclipped methods
# against their clipped versions, beside the two theory shapes through each panel's clipped curve:
# log^{s_max}(1/δ) (the polylog boundary) and (1/δ)^{2/α} (the noise's own polynomial tail). Bottom row: each
# method's poly-model slope with its bootstrap interval against the boundary s_max·β of the verdict rule.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "confidence"
assert (root / "quantiles.parquet").exists(), f"no confidence results under {root}: run the study first"
quantiles = pd.read_parquet(root / "quantiles.parquet")
verdicts = pd.read_parquet(root / "verdicts.parquet")
verdicts[
    [
        "instance",
        "method",
        "poly_slope",
        "poly_low",
        "poly_high",
        "polylog_slope",
        "polylog_low",
        "polylog_high",
        "verdict",
        "theory",
        "agrees",
    ]
]

# %%
sns.set_theme(style="whitegrid", context="paper")  # drawn at page width (8 in): labels read in print
instances = list(dict.fromkeys(quantiles.instance))
methods = list(dict.fromkeys(quantiles.method))
colors = dict(zip(methods, sns.color_palette("tab10", len(methods))))
fig, axes = plt.subplots(2, len(instances), figsize=(8, 7.5), squeeze=False)
for j, instance in enumerate(instances):
    ax = axes[0, j]
    part = quantiles[quantiles.instance == instance]
    for method, band in part.groupby("method", sort=False):
        band = band.sort_values("delta", ascending=False)
        x = 1 / band.delta
        ax.plot(x, band.value, color=colors[method], ls="--" if "delayed" in method else "-", lw=1.3, label=method)
        ax.fill_between(x, band.ci_low, band.ci_high.replace(np.inf, np.nan), color=colors[method], alpha=0.15, lw=0)
    clipped = part[part.method.str.startswith("clip_")]
    anchor_rows = clipped if not clipped.empty else part
    dmax = part.delta.max()
    anchor = anchor_rows[anchor_rows.delta == dmax].value.median()
    x = np.geomspace(1 / dmax, 1 / part.delta.min(), 40)
    power = float(verdicts.polylog_power.iloc[0])
    alpha = float(part.alpha.iloc[0])
    ax.plot(x, anchor * (np.log(x) / np.log(1 / dmax)) ** power, "k:", lw=1.5, label=f"log^{power:g}(1/δ)")
    ax.plot(x, anchor * (x * dmax) ** (2 / alpha), "k--", lw=1.2, label=f"(1/δ)^(2/α), 2/α = {2 / alpha:.2f}")
    ax.set(
        xscale="log", yscale="log", xlabel="1/δ", ylabel="(1−δ)-quantile of f(x_K) − f*", title=f"instance {instance}"
    )
    ax.legend(fontsize=6)
    ax = axes[1, j]
    v = verdicts[verdicts.instance == instance].reset_index(drop=True)
    y = np.arange(len(v))
    for i, r in v.iterrows():
        ax.errorbar(
            r.poly_slope,
            i,
            xerr=[[r.poly_slope - r.poly_low], [r.poly_high - r.poly_slope]],
            fmt="o",
            color=colors[r.method],
            capsize=3,
        )
        ax.text(r.poly_high + 0.05, i, r.verdict, va="center", fontsize=7)
    ax.axvline(v.boundary.iloc[0], color="k", ls=":", label=f"s_max·β = {v.boundary.iloc[0]:.2f} (polylog boundary)")
    ax.set(
        yticks=y,
        yticklabels=v.method,
        xlabel="slope of log quantile vs log(1/δ) (95% bootstrap CI)",
        title="poly-model slopes and verdicts",
    )
    ax.invert_yaxis()
    ax.legend(fontsize=6, loc="lower right")
fig.tight_layout()
fig.savefig("confidence.png", dpi=120)
