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
# # Calibrate: does every interval deliver its stated level?
#
# Reads only the stored results of `python -m synthclip.study calibrate` (under `studies/results/calibrate/`;
# set `SYNTHCLIP_RESULTS` to read another results root). Each procedure's intervals were computed on R
# replicates of data whose answer is known exactly; a side's realised miss rate should equal (1 − c)/2.
# Top left: realised against nominal miss rate per side, with Clopper–Pearson bands (negative controls in red,
# they must miss). Bottom: the δ-slope intervals of the confidence study before (percentile bootstrap) and
# after (order-statistic pivot) the fix. Top right: the confidence study's polynomial/polylog rule on exact laws:
# how often it says each verdict.

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "calibrate"
assert (root / "coverage.parquet").exists(), f"no calibrate results under {root}: run the study first"
coverage = pd.read_parquet(root / "coverage.parquet")
decisions = pd.read_parquet(root / "decisions.parquet")
params = json.loads((root / "meta.json").read_text())["params"]
coverage[["procedure", "case", "model", "level", "side", "replicates", "misses", "nominal", "realised", "verdict"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
# page width: three panels in a row misread; the δ-slope panel, with its many intervals, takes the bottom row
fig = plt.figure(figsize=(8, 7.5))
grid = fig.add_gridspec(2, 2)
axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, :]), fig.add_subplot(grid[0, 1])]
ax = axes[0]
measured = coverage[coverage.verdict != "not measured"]
procs = list(dict.fromkeys(measured.procedure))
colors = [c for i, c in enumerate(sns.color_palette("tab10", 10)) if i != 3]  # red (3) marks the controls
palette = dict(zip(procs, colors * 2))
for i, proc in enumerate(procs):
    part = measured[measured.procedure == proc]
    for side, marker in (("below", "v"), ("above", "^")):
        rows = part[part.side == side]
        y = rows.realised.clip(lower=1e-5)
        ax.errorbar(
            rows.nominal * (1 + 0.05 * (i - len(procs) / 2)),
            y,
            yerr=[y - rows.realised_low.clip(lower=1e-5), rows.realised_high - y],
            fmt=marker,
            ms=4,
            lw=0.7,
            color="tab:red" if proc.startswith("control:") else palette[proc],
            label=proc if side == "below" else None,
        )
lim = (min(coverage.nominal.min() / 3, 1e-4), 0.5)
ax.plot(lim, lim, "k:", lw=1)
ax.set(
    xscale="log",
    yscale="log",
    xlim=lim,
    ylim=(1e-5, 0.5),
    xlabel="nominal miss rate per side (1 − c)/2",
    ylabel="realised miss rate (▽ below, △ above)",
    title=f"every procedure ({params['band']:.0%} Clopper–Pearson bands)",
)
ax.legend(fontsize=6)

ax = axes[1]
delta = measured[measured.procedure == "delta_fit"].copy()
delta["method"] = np.where(delta.case.str.contains("percentile"), "percentile bootstrap", "pivot")
delta["size"] = np.where(delta.case.str.endswith("test"), "test size", "study size")
delta = delta[delta.level == delta.level.min()]
labels = []
for j, ((case, model), rows) in enumerate(delta.groupby(["case", "model"], sort=False)):
    r = rows.set_index("side")
    color = "tab:orange" if "percentile" in case else "tab:blue"
    for side, dx in (("below", -0.15), ("above", 0.15)):
        ax.errorbar(
            j + dx,
            r.loc[side, "realised"],
            yerr=[
                [r.loc[side, "realised"] - r.loc[side, "realised_low"]],
                [r.loc[side, "realised_high"] - r.loc[side, "realised"]],
            ],
            fmt="v" if side == "below" else "^",
            color=color,
            ms=5,
        )
    labels.append(
        f"{case.replace(' pivot', '').replace(' percentile', '')}\n{model} ({'perc.' if 'percentile' in case else 'pivot'})"
    )
if len(delta):
    ax.axhline(delta.nominal.iloc[0], color="k", ls=":", label=f"nominal {delta.nominal.iloc[0]:.3g}")
ax.set_xticks(range(len(labels)), labels, rotation=70, fontsize=6)
ax.set(ylabel="realised miss rate per side", title="δ-slope intervals: percentile (orange) vs pivot (blue)")
ax.legend(fontsize=6)

ax = axes[2]
if len(decisions):
    shares = decisions.set_index("case")[["n_polynomial", "n_polylog", "n_undecided"]].div(
        decisions.replicates.values, axis=0
    )
    shares.columns = ["polynomial", "polylog", "undecided"]
    shares.plot.barh(stacked=True, ax=ax, color=["tab:red", "tab:green", "0.7"], width=0.7)
    for y, r in enumerate(decisions.itertuples()):
        ax.text(1.01, y, f"expect {r.expected}", va="center", fontsize=6)
    ax.set(
        xlim=(0, 1.25),
        xlabel="share of replicates",
        title=f"confidence rule on exact laws (N = {int(decisions.n.iloc[0])}, δ ≥ {decisions.delta_min.iloc[0]:g})",
    )
    ax.invert_yaxis()
    ax.legend(fontsize=6, loc="lower right")
fig.tight_layout()
fig.savefig("calibrate.png", dpi=120)
