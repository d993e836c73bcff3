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
# # Real networks: does clipping matter where the noise is heavy, and Figure 3a's ladder
#
# Reads only the stored results of `python -m synthclip.study torch-rates` (under
# `studies/results/torch-rates/`; set `SYNTHCLIP_RESULTS` to read another results root). Top row: the
# training loss across seeds on the text and the vision task for SGD, GClip, Adam-Norm, Clip-Adam-Norm,
# SGD with momentum and `torch.optim.Adam` (median solid, the judged upper quantile dashed with its
# order-statistic band), and the ratios of loss quantiles behind seed 000's clipping claim and Figure 1(a)'s
# Adam-vs-SGD gap (ratio > 1: the second method is lower). Bottom row: Section 5.1's ladder on the text task
# (SGD-m → GClip → CClip → ACClip, and Adam), the full-batch gradient norm ‖∇f(x_k)‖ across seeds, and each
# rung's ratio with its paired bootstrap interval; the verdicts are the study's pre-declared rule.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthclip.study.torch_rates import COMPARISON, LADDER, METHODS, judged_upper

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "torch-rates"
assert (root / "claims.parquet").exists(), \
    f"no torch-rates results under {root}: run `python -m synthclip.study torch-rates` first"
quantiles = pd.read_parquet(root / "quantiles.parquet")
claims = pd.read_parquet(root / "claims.parquet")
runs = pd.read_parquet(root / "runs.parquet")
n_seeds = int(runs.n_seeds.iloc[0])
upper = judged_upper(n_seeds, 0.95)
runs[["task", "method", "text", "lr", "lr_at_grid_edge", "n_seeds", "n_failed"]]

# %%
claims[["claim", "a", "b", "quantile", "measure", "text_ratio", "text_low", "text_high", "vision_ratio",
        "vision_low", "vision_high", "verdict"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
q = quantiles[quantiles.statistic == "quantile"]
colors = dict(zip(METHODS, sns.color_palette("tab10", len(METHODS))))
text_task = runs[runs.kind == "text"].task.iloc[0] if (runs.kind == "text").any() else None
vision_task = runs[runs.kind == "vision"].task.iloc[0] if (runs.kind == "vision").any() else None


def curves(ax, task, methods, metric="loss", levels=(0.5, upper)):
    """Quantile curves of ``metric`` across seeds: median solid, upper quantile dashed with its band."""
    part = q[(q.task == task) & (q.metric == metric)]
    for m in [m for m in methods if m in set(part.method)]:
        for level, ls in zip(levels, ("-", "--")):
            s = part[(part.method == m) & np.isclose(part["quantile"], level)].sort_values("k")
            y = s.value.where(np.isfinite(s.value))
            ax.plot(s.k, y, ls=ls, color=colors[m], lw=1.3, label=m if level == 0.5 else None)
            if level == upper:
                ax.fill_between(s.k, s.ci_low.clip(lower=1e-12), s.ci_high.replace(np.inf, np.nan),
                                color=colors[m], alpha=0.15, lw=0)
    ax.set(xscale="log", yscale="log", xlabel="step k")
    ax.legend(fontsize=6)


def forest(ax, rows, title):
    """Each ratio with its interval against 1, coloured by verdict."""
    shade = {"reproduced": "tab:green", "not reproduced": "tab:red", "inconclusive": "tab:gray",
             "insufficient data": "tab:olive"}
    labels = []
    for i, r in enumerate(rows):
        ax.errorbar(r["ratio"], i, xerr=[[r["ratio"] - r["low"]], [r["high"] - r["ratio"]]], fmt="o", ms=3,
                    color=shade.get(r["verdict"], "black"), capsize=2)
        labels.append(r["label"])
    ax.axvline(1.0, color="black", lw=0.8)
    for words, color in shade.items():
        ax.plot([], [], "o", color=color, label=words)
    ax.legend(fontsize=6, loc="lower right")
    ax.set_yticks(range(len(rows)), labels, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("ratio of loss quantiles (> 1: right-hand method lower)")
    ax.set_title(title, fontsize=8)


fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
if text_task:
    curves(axes[0, 0], text_task, COMPARISON)
    axes[0, 0].set_title(f"{text_task}: training loss across {n_seeds} seeds", fontsize=8)
if vision_task:
    curves(axes[0, 1], vision_task, COMPARISON)
    axes[0, 1].set_title(f"{vision_task}: training loss across {n_seeds} seeds", fontsize=8)
final = claims[claims.measure == "final"]
rows = []
for _, c in final[final.claim.isin(["seed000-clipping", "fig1a-adam-vs-sgd"])].iterrows():
    for kind in ("text", "vision"):
        if c[f"{kind}_task"] and np.isfinite(c[f"{kind}_ratio"]):
            rows.append({"ratio": c[f"{kind}_ratio"], "low": c[f"{kind}_low"], "high": c[f"{kind}_high"],
                         "verdict": c.verdict,
                         "label": f"{c.a}→{c.b} {kind} q={c['quantile']:g}"})
forest(axes[0, 2], rows, "seed 000 (clipping) and Figure 1(a) (Adam vs SGD-m), final loss;\n"
                         "colour: the claim's verdict (text above 1 and vision not)")
if text_task:
    curves(axes[1, 0], text_task, LADDER)
    axes[1, 0].set_title(f"Section 5.1 ladder on {text_task}", fontsize=8)
for task, ls in ((text_task, "-"), (vision_task, ":")):
    if task is None:
        continue
    part = q[(q.task == task) & (q.metric == "grad_norm") & np.isclose(q["quantile"], 0.5)]
    for m in COMPARISON:
        s = part[part.method == m].sort_values("k")
        axes[1, 1].plot(s.k, s.value.where(np.isfinite(s.value)), ls=ls, color=colors[m], lw=1.2,
                        label=f"{m} ({'text' if task == text_task else 'vision'})")
axes[1, 1].set(xscale="log", yscale="log", xlabel="step k", ylabel="median ‖∇f(x_k)‖")
axes[1, 1].set_title("full-batch gradient norm (median across seeds)", fontsize=8)
axes[1, 1].legend(fontsize=5, ncol=2)
rungs = final[final.claim.str.startswith("fig3a")]
forest(axes[1, 2], [{"ratio": c.text_ratio, "low": c.text_low, "high": c.text_high, "verdict": c.verdict,
                     "label": f"{c.a}→{c.b} q={c['quantile']:g}"} for _, c in rungs.iterrows()
                    if np.isfinite(c.text_ratio)],
       "Figure 3a's rungs on the text task, final loss; colour: verdict")
for ax in axes[0, :2]:
    ax.set_ylabel("training loss f(x_k)")
fig.suptitle(f"torch-rates: median (solid) and {upper:g}-quantile (dashed, 95% band) across seeds", fontsize=9)
fig.tight_layout()
fig.savefig("torch_rates.png", dpi=120)
