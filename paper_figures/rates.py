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
# # Rates: high-probability quantiles of f(x̄_k) − f* against Theorem 4
#
# Reads only the stored results of `python -m synthclip.study rates` and `rates-onesided` (one folder per
# run under `studies/results/rates*/`; set `SYNTHCLIP_RESULTS` to read another results root) and draws each
# run's headline figure with the study's own `plot` (the figure `study plot DIR` writes): (a) the median and
# (b) the 0.99-quantile of the judged methods with their confidence bands and the judging exponents
# (Theorem 4 / 8 and the other upper bounds dashed, Table 1 dotted, the printed schedule's bias limit on
# asymmetric noise dash-dot) through the fits over the shaded fit window (the last decade); (c) every
# method's last-decade slope per quantile with its interval, coloured by the verdict of the one rule
# (`synthclip.verdict`), against its theory exponent (black tick) and Table 1 (dotted); (d) the median's local
# slopes per half-decade. `rates.png` is the headline run (noise tail above α); `rates_limit.png` the
# boundary (tail = α) and `rates_onesided.png` the asymmetric noise.

# %%
import os
from pathlib import Path

import pandas as pd
from IPython.display import display

from synthclip import plotting
from synthclip.study.rates import plot_rates

base = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results"))
runs = {}
for study in ("rates", "rates-onesided"):
    for folder in sorted((base / study).glob("alpha=*")):
        if (folder / "quantiles.parquet").exists():
            runs[folder] = plotting.stored(folder)
assert runs, f"no rates results under {base}: run `python -m synthclip.study rates` first"


def tails(tables):
    q = tables["quantiles"]
    return set(zip(q["alpha"], q["noise_alpha"]))


def kind(folder, tables):
    if folder.parent.name == "rates-onesided":
        return "onesided"
    return "limit" if all(a == na for a, na in tails(tables)) else "headline"


fits = pd.concat([t["slopes"].assign(run=f"{f.parent.name}/{f.name}") for f, (t, _) in runs.items()])
fits = fits[(fits.window == "last decade") & (fits.metric == "f_avg") & (fits["quantile"] != "mean")]
fits[["run", "method", "quantile", "slope", "ci_low", "ci_high", "theory", "statement", "verdict", "trend"]]

# %%
names = {"headline": "rates.png", "limit": "rates_limit.png", "onesided": "rates_onesided.png"}
written = set()
for folder, (tables, meta) in runs.items():
    name = names[kind(folder, tables)]
    fig = plot_rates(tables, meta)
    display(fig)
    if name not in written:  # one figure per kind: the first run of it
        fig.savefig(name, dpi=150, bbox_inches="tight")
        written.add(name)
    plotting.close(fig)
if "rates.png" not in written:  # no run with a tail above α: the first run stands in as the headline
    tables, meta = next(iter(runs.values()))
    fig = plot_rates(tables, meta)
    fig.savefig("rates.png", dpi=150, bbox_inches="tight")
    plotting.close(fig)
