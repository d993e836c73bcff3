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
# `studies/results/torch-rates/`; set `SYNTHCLIP_RESULTS` to read another results root) and draws the study's
# own headline figure (what `study plot DIR` writes): the training loss across seeds on the text task (SGD,
# GClip, Adam-Norm, Clip-Adam-Norm, SGD with momentum and `torch.optim.Adam`; and Section 5.1's ladder SGD-m →
# GClip → CClip → ACClip, and Adam) and on the vision task (median solid, the judged upper quantile dashed with
# its order-statistic band), and every verdict row: the text task's ratio of loss quantiles (final and worst,
# median and upper quantile) of each comparison with its paired bootstrap interval, coloured by the verdict of
# the study's pre-declared rule, against the claim's reference value 1 (black tick).

# %%
import os
from pathlib import Path

from synthclip import plotting
from synthclip.study.torch_rates import plot_torch_rates, rates_scoreboard

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "torch-rates"
assert (root / "meta.json").exists(), f"no torch-rates results under {root}: run the study first"
tables, meta = plotting.stored(root)
rates_scoreboard(tables, meta)[["statement", "setting", "quantity", "measured", "ci_low", "ci_high", "verdict"]]

# %%
fig = plot_torch_rates(tables, meta)
fig.savefig("torch_rates.png", dpi=150, bbox_inches="tight")
