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
# # Bias: the gradient-norm floor of clipped SGD with a constant clip level (Koloskova et al.)
#
# Reads only the stored results of `python -m synthclip.study bias` (under `studies/results/bias/`; set
# `SYNTHCLIP_RESULTS` to read another results root). Left: the median over runs of ‖∇f‖ averaged over the
# last half of the run against the step size η, with bootstrap bands; one-sided noise levels off at the exact
# floor |x_c| (dotted), symmetric noise falls like η^(1/2). Right: the floor at the smallest η against the clip
# level c, with the exact |x_c| and the large-c slope −(α−1) of the clipping bias.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthclip.theory import clip_floor

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "bias"
assert (root / "medians.parquet").exists(), f"no bias results under {root}: run the study first"
medians = pd.read_parquet(root / "medians.parquet")
slopes = pd.read_parquet(root / "slopes.parquet")
sizes = pd.read_parquet(root / "sizes.parquet")
slopes[["noise", "clip", "slope", "ci_low", "ci_high", "floor", "predicted", "verdict", "expected"]]

# %%
sns.set_theme(style="whitegrid", context="paper")  # drawn at page width (8 in): labels read in print
clips = sorted(medians["clip"].unique())
colors = dict(zip(clips, sns.color_palette("viridis", len(clips))))
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
ax = axes[0]
for (noise, c), part in medians.groupby(["noise", "clip"]):
    part = part.sort_values("lr")
    onesided = noise == "pareto-onesided"
    ax.plot(
        part.lr,
        part["median"],
        marker="o",
        ms=3,
        ls="-" if onesided else "--",
        color=colors[c],
        label=f"c = {c:g}" if onesided else None,
    )
    ax.fill_between(part.lr, part.ci_low, part.ci_high, color=colors[c], alpha=0.2, lw=0)
    if onesided:
        ax.axhline(part.predicted.iloc[0], color=colors[c], ls=":", lw=0.8)
sym = medians[medians.noise == "pareto"]
if not sym.empty:
    eta = np.geomspace(sym.lr.min(), sym.lr.max(), 10)
    top = sym[sym.lr == sym.lr.max()]["median"].max()
    ax.plot(eta, top * (eta / eta[-1]) ** 0.5, "k--", lw=1, label="η^(1/2): no floor")
ax.set(
    xscale="log",
    yscale="log",
    xlabel="step size η",
    ylabel="median ‖∇f‖ over the last half",
    title="solid: one-sided noise, dashed: symmetric; dotted: |x_c|",
)
ax.legend(fontsize=7)
ax = axes[1]
one = medians[medians.noise == "pareto-onesided"]
if not one.empty:
    part = one[one.lr == one.lr.min()].sort_values("clip")
    ax.errorbar(
        part["clip"],
        part["median"],
        yerr=[part["median"] - part.ci_low, part.ci_high - part["median"]],
        fmt="o",
        label=f"measured floor, η = {part.lr.iloc[0]:g}",
    )
    alpha = float(pd.read_parquet(root / "floors.parquet", columns=["alpha"]).alpha.iloc[0])
    c = np.geomspace(part["clip"].min(), part["clip"].max(), 60)
    ax.plot(c, [clip_floor("pareto-onesided", alpha, x) for x in c], "k-", lw=1, label="exact floor |x_c|")
    if not sizes.empty:
        s = sizes.iloc[0]
        ax.plot(
            c[-20:],
            clip_floor("pareto-onesided", alpha, c[-20]) * (c[-20:] / c[-20]) ** s.bound,
            ls="--",
            color="gray",
            label=f"c^(−(α−1)) (fit {s.slope:+.3f} [{s.ci_low:+.3f}, {s.ci_high:+.3f}])",
        )
ax.set(xscale="log", yscale="log", xlabel="clip level c", ylabel="gradient-norm floor", title="floor size vs c")
if not one.empty:
    ax.set_xticks(part["clip"], [f"{c:g}" for c in part["clip"]])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.yaxis.set_minor_formatter(plt.NullFormatter())
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig("bias.png", dpi=120)
