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
# # Tails: do the tail-index estimators recover α on the engine's own noise?
#
# Reads only the stored results of `python -m synthclip.study tails` (under `studies/results/tails/`; set
# `SYNTHCLIP_RESULTS` to read another results root). Top: each estimator's estimate (median over replicates)
# with the band between the replicates' median interval ends, against the sample size n, for each law and α;
# dashed lines are the targets (tail index; stability index min(α, 2) for Mohammadi). Bottom: the coverage of
# the intervals over the replicates at the largest n, with Wilson intervals, against the nominal level.

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "tails"
assert (root / "estimates.parquet").exists(), f"no tails results under {root}: run the study first"
estimates = pd.read_parquet(root / "estimates.parquet")
verdicts = pd.read_parquet(root / "verdicts.parquet")
confidence = json.loads((root / "meta.json").read_text())["params"]["confidence"]
verdicts[
    ["law", "alpha", "estimator", "n", "target", "estimate", "ci_low", "ci_high", "verdict", "coverage", "calibration"]
]

# %%
sns.set_theme(style="whitegrid", context="paper")  # drawn at page width (8 in): labels read in print
names = list(dict.fromkeys(estimates.estimator))
heavy = estimates[estimates.law != "gaussian"]
keys = list(dict.fromkeys(zip(heavy.law, heavy.alpha)))
palette = dict(zip(keys, sns.color_palette("flare", len(keys))))
fig, axes = plt.subplots(2, len(names), figsize=(8, 5.6), squeeze=False)
summary = (
    estimates.replace(np.inf, np.nan)
    .groupby(["law", "alpha", "estimator", "n"])[["estimate", "ci_low", "ci_high", "target"]]
    .median()
    .reset_index()
)
for j, name in enumerate(names):
    ax = axes[0, j]
    for (law, alpha), part in summary[(summary.estimator == name) & (summary.law != "gaussian")].groupby(
        ["law", "alpha"]
    ):
        part = part.sort_values("n")
        ls = "-" if law == "pareto" else "--"
        ax.plot(part.n, part.estimate, ls=ls, marker="o", ms=3, color=palette[(law, alpha)], label=f"{law} α={alpha:g}")
        ax.fill_between(part.n, part.ci_low, part.ci_high, color=palette[(law, alpha)], alpha=0.15, lw=0)
        ax.axhline(part.target.iloc[0], color=palette[(law, alpha)], ls=":", lw=0.8)
    ax.set(xscale="log", xlabel="sample size n", ylabel="estimated index", title=f"{name} (dotted: target)")
    ax.legend(fontsize=6)
    ax = axes[1, j]
    v = verdicts[verdicts.estimator == name].reset_index(drop=True)
    labels = [f"{r.law}" + ("" if r.law == "gaussian" else f" α={r.alpha:g}") for r in v.itertuples()]
    ax.errorbar(
        v.coverage,
        np.arange(len(v)),
        xerr=[v.coverage - v.coverage_low, v.coverage_high - v.coverage],
        fmt="o",
        capsize=3,
    )
    ax.axvline(confidence, color="k", ls=":", label=f"nominal {confidence:.0%}")
    ax.set(
        yticks=np.arange(len(v)),
        yticklabels=labels,
        xlim=(-0.05, 1.05),
        xlabel=f"coverage, n = {int(v.n.max()):.0e}",
        title=f"{name}: coverage (Wilson 95%)",
    )
    ax.invert_yaxis()
    ax.legend(fontsize=6)
fig.tight_layout()
fig.savefig("tails.png", dpi=120)
