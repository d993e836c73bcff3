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
# # Real networks III: does the Adam–SGD gap follow the noise as the batch grows?
#
# Reads only the stored results of `python -m synthclip.study torch-batch` (under `studies/results/torch-batch/`;
# set `SYNTHCLIP_RESULTS` to read another results root). Left: the gap R(B) = median final training loss of each
# method over Adam's, with its paired bootstrap interval, against the batch size up to the full batch, on the
# word-level transformer and the digits CNN (grey: the band [1/1.05, 1.05] of the claims). Middle: the noise at
# initialisation per batch size (Hill's tail index of ‖ξ‖ and seed 000's mild-outlier ratio). Right: the judged
# ratios of the five claims with their verdicts under the study's pre-declared rule.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from synthclip import plotting
from synthclip.theory import GAP_BAND

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "torch-batch"
assert (root / "claims.parquet").exists(), (
    f"no torch-batch results under {root}: run `python -m synthclip.study torch-batch` first"
)
gaps = pd.read_parquet(root / "gaps.parquet")
noise = pd.read_parquet(root / "noise.parquet")
claims = pd.read_parquet(root / "claims.parquet")
runs = pd.read_parquet(root / "runs.parquet")
claims[["claim", "quantity", "ratio", "ci_low", "ci_high", "verdict", "reason"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
tasks = list(dict.fromkeys(gaps.task))
methods = sorted(set(gaps.method))
colors = plotting.colors_of(methods)
fig, axes = plt.subplots(1, len(tasks) + 2, figsize=(4.2 * (len(tasks) + 2), 3.8))
for ax, task in zip(axes, tasks):
    for m in methods:
        g = gaps[(gaps.task == task) & (gaps.method == m) & (gaps.measure == "gap")].sort_values("batch_size")
        plotting.errorbar(
            ax, g.batch_size, g.ratio, g.ci_low, g.ci_high, color=colors[m], marker="o", ms=3, capsize=2, label=m
        )
    ax.axhspan(1 / GAP_BAND, GAP_BAND, color="0.85", lw=0)
    ax.set(xscale="log", xlabel="batch size B (last: full batch)", ylabel="median final loss / Adam's")
    ax.set_xscale("log", base=2)
    ax.set_title(task, fontsize=8)
    ax.legend(fontsize=6)
ax = axes[len(tasks)]
for task in tasks:
    n = noise[noise.task == task].sort_values("batch_size")
    style = {"marker": "o", "ms": 3, "capsize": 2, "label": f"{task}: Hill α"}
    plotting.errorbar(ax, n.batch_size, n.hill_alpha, n.hill_low, n.hill_high, **style)
    ax.plot(n.batch_size, n.mild_ratio, ls=":", marker="x", label=f"{task}: mild-outlier ratio")
ax.axhline(2.0, color="0.5", lw=0.8, ls="--")
ax.set_xscale("log", base=2)
ax.set(xlabel="batch size B", title="noise at initialisation")
ax.legend(fontsize=6)
plotting.ratio_claims_panel(axes[-1], claims, band=GAP_BAND, title="the five claims (word task)")
fig.suptitle(
    f"torch-batch: {int(runs.n_seeds.iloc[0])} seeds per run, {int(runs.epochs.iloc[0])} epochs at every "
    f"batch size, step sizes tuned per batch size on other seeds",
    fontsize=9,
)
fig.tight_layout()
fig.savefig("torch_batch.png", dpi=120)
