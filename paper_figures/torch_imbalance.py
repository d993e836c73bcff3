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
# # Real networks III: is the Adam–SGD gap a gap on rare classes, and does clipping close it?
#
# Reads only the stored results of `python -m synthclip.study torch-imbalance` (under
# `studies/results/torch-imbalance/`; set `SYNTHCLIP_RESULTS` to read another results root). Per task (the
# word-level transformer, whose next-word classes are Zipfian, and the balanced digits): the median final training
# loss of each class-frequency group (0: the rarest decile of classes) for SGD-m, GClip-m, CClip-m, Signum and
# Adam, and the rarest group's loss over training. Right: the judged ratios of Kunstner et al. 2024's claims and
# of the open question on clipping, with their verdicts under the study's pre-declared rule.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from synthclip import plotting
from synthclip.theory import GAP_BAND

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "torch-imbalance"
assert (root / "claims.parquet").exists(), (
    f"no torch-imbalance results under {root}: run `python -m synthclip.study torch-imbalance` first"
)
classes = pd.read_parquet(root / "classes.parquet")
claims = pd.read_parquet(root / "claims.parquet")
claims[["claim", "task", "quantity", "ratio", "ci_low", "ci_high", "verdict", "reason"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
tasks = list(dict.fromkeys(classes.task))
methods = list(dict.fromkeys(classes.method))
colors = plotting.colors_of(methods)
fig, axes = plt.subplots(1, 2 * len(tasks) + 1, figsize=(4 * (2 * len(tasks) + 1), 3.8))
for i, task in enumerate(tasks):
    part = classes[(classes.task == task) & (classes.group >= 0)]
    last = part[part.step == part.step.max()]
    for m in methods:
        med = last[last.method == m].groupby("group").loss.median()
        axes[2 * i].plot(med.index, med.values, marker="o", ms=3, color=colors[m], label=m)
        rare = part[(part.method == m) & (part.group == 0)].groupby("step").loss.median()
        axes[2 * i + 1].plot(rare.index, rare.values, marker="o", ms=3, color=colors[m], label=m)
    axes[2 * i].set(xlabel="class-frequency group (0: rarest)", ylabel="median final loss", title=task)
    axes[2 * i + 1].set(xscale="log", xlabel="step k", ylabel="rarest group's median loss", title=task)
    for ax in axes[2 * i : 2 * i + 2]:
        ax.legend(fontsize=6)
plotting.ratio_claims_panel(axes[-1], claims, band=GAP_BAND, title="Kunstner 2024 and the clipping question")
fig.suptitle("torch-imbalance: medians over seeds, per class-frequency group", fontsize=9)
fig.tight_layout()
fig.savefig("torch_imbalance.png", dpi=120)
