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
# # Lower bound: every method against Theorem 5's randomised spike pair
#
# Reads only the stored results of `python -m synthclip.study lower-bound` (one folder per α under
# `studies/results/lower-bound/`; set `SYNTHCLIP_RESULTS` to read another results root) and draws each run's
# headline figure with the study's own `plot` (what `study plot DIR` writes). Every run draws one of Theorem
# 5's two spike instances by a fair coin; p = c/K is tied to the horizon, so each K is its own run. Left: the
# mean of f(x_K) − f* (Theorem 5's quantity) of every method against K with its interval, and the bound's
# exponent (dashed) through the first method's fit over the shaded fit window; the legend carries each
# method's verdict. Right: every method's slope in K per statistic (median, 0.9, 0.99, the (1 − c/K)-quantile
# "tail", the mean) with its interval, coloured by the verdict of the one rule, against the bound's exponent
# (black tick): a method respects the bound when its mean does not fall faster than the exponent.

# %%
import os
from pathlib import Path

import pandas as pd
from IPython.display import display

from synthclip import plotting
from synthclip.study import STUDIES

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "lower-bound"
folders = sorted(p for p in root.glob("alpha=*") if (p / "quantiles.parquet").exists())
assert folders, f"no lower-bound results under {root}: run `python -m synthclip.study lower-bound` first"
runs = {folder: plotting.stored(folder) for folder in folders}
slopes = pd.concat([tables["slopes"] for tables, _ in runs.values()], ignore_index=True)
slopes[~slopes.verdict.isin(["none", "reported only"])][
    ["alpha", "method", "statistic", "slope", "ci_low", "ci_high", "theory", "verdict"]
]

# %%
for i, (tables, meta) in enumerate(runs.values()):
    fig = STUDIES["lower-bound"].plot(tables, meta)
    display(fig)
    if i == 0:  # the first α is the paper's figure; the others are shown here
        fig.savefig("lower_bound.png", dpi=150, bbox_inches="tight")
    plotting.close(fig)
