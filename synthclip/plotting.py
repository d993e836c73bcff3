"""Figures drawn from stored tables only (never from live simulation objects).

Every figure is laid out at :data:`PAGE_WIDTH` so that its labels read at print size: a figure drawn wider and
shrunk onto a page is what made the old 33-panel strips unreadable. The scaffolding shared by the studies lives
here: the page-width grid (:func:`figure`), quantile bands, theory lines, the verdict colours
(:func:`verdict_color`), the dot-and-whisker panel of verdict rows (:func:`whiskers`, :func:`verdict_panel`) and
the scoreboard figure (:func:`scoreboard_figure`, drawn by ``study summary`` from ``summary.parquet``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Inches: a page's text width. Figures are laid out at this width (never wider), so that 8-point labels are
#: 8 points on the page.
PAGE_WIDTH = 8.0

#: Font sizes (points) at PAGE_WIDTH: readable in print, small enough for a few panels side by side.
_RC = {
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7.5,
    "legend.title_fontsize": 8,
    "figure.titlesize": 10,
}


def _mpl():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg")
        except Exception:  # an interactive backend already in use (a notebook): keep it
            pass
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper", rc=_RC)
    return plt, sns


def quantile_bands(
    ax,
    frame: pd.DataFrame,
    *,
    x: str = "k",
    quantiles: Sequence[float] | None = None,
    palette=None,
    label_prefix: str = "",
    label=None,
    lw: float = 1.4,
) -> None:
    """Lines of each quantile's estimate against x, with its confidence band, on log-log axes.

    ``frame`` is a tidy quantiles table (columns x, quantile, value, ci_low, ci_high) of one series. ``label``
    (a function of the level) replaces the default "q=<level>" legend entry; ``None`` from it draws no entry.
    """
    _, sns = _mpl()
    frame = frame[frame["quantile"].notna()]
    qs = sorted(frame["quantile"].unique()) if quantiles is None else list(quantiles)
    colors = palette or sns.color_palette("flare", len(qs))
    drawn = False
    for q, color in zip(qs, colors):
        part = frame[np.isclose(frame["quantile"], q)].sort_values(x)
        xs, ys = part[x].to_numpy(float), part["value"].to_numpy(float)
        lo = np.clip(part["ci_low"].to_numpy(float), 1e-300, None)
        hi = np.where(np.isfinite(part["ci_high"]), part["ci_high"], np.nan)
        ys = np.where(np.isfinite(ys) & (ys > 0), ys, np.nan)  # failed (+inf) points leave a gap
        name = label(q) if label is not None else f"{label_prefix}q={q:g}"
        ax.plot(xs, ys, color=color, lw=lw, label=name if name is not None else "_nolegend_")
        ax.fill_between(xs, lo, hi, color=color, alpha=0.25, lw=0)
        drawn = drawn or bool(np.isfinite(ys).any())
    if drawn:
        ax.set_xscale("log")
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no finite quantile\n(failed runs)", transform=ax.transAxes, ha="center", va="center")


def theory_line(
    ax,
    k_from: float,
    k_to: float,
    anchor: float,
    slope: float | None,
    *,
    label: str = "theory",
    color: str = "black",
    ls: str = "--",
    lw: float = 1.3,
) -> None:
    """A power law of exponent ``slope`` through (k_from, anchor), dashed unless ``ls`` says otherwise."""
    if slope is None or not (math.isfinite(anchor) and anchor > 0) or not math.isfinite(slope):
        return
    ks = np.geomspace(k_from, k_to, 20)
    ax.plot(ks, anchor * (ks / k_from) ** slope, ls=ls, lw=lw, color=color, label=label)


def figure(n_panels: int, *, ncols: int = 4, size: float = 3.0, aspect: float = 0.85):
    """A grid of ``n_panels`` panels at most :data:`PAGE_WIDTH` wide: ``size`` (inches per panel) is shrunk so
    that ``ncols`` panels fit the page, and each panel is ``aspect`` times as tall as it is wide."""
    plt, _ = _mpl()
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    width = min(PAGE_WIDTH, size * ncols)
    height = width / ncols * aspect * nrows + 0.5  # + room for a suptitle
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    for ax in axes.ravel()[n_panels:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n_panels]


def panels(frame: pd.DataFrame, by: str, **layout):
    """One panel per value of ``by``, in order of appearance: the :func:`figure` (``layout``: its ncols, size,
    aspect) and, per panel, (axes, value, the rows of ``frame`` with that value)."""
    values = list(dict.fromkeys(frame[by]))
    fig, axes = figure(len(values), **layout)
    return fig, [(ax, value, frame[frame[by] == value]) for ax, value in zip(axes, values)]


def stored(folder) -> tuple[dict[str, pd.DataFrame], dict]:
    """The tables and meta.json of one results folder, as a study's ``plot`` takes them (what the notebooks
    and ``study plot DIR`` draw from)."""
    import json
    from pathlib import Path

    folder = Path(folder)
    tables = {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}
    return tables, json.loads((folder / "meta.json").read_text())


def tally(words) -> str:
    """ "24 reproduced, 17 not reproduced": the verdict words of a figure's rows counted, in legend order."""
    words = [str(w) for w in words]
    return ", ".join(f"{words.count(w)} {w}" for w in verdict_order(words))


def close(fig) -> None:
    plt, _ = _mpl()
    plt.close(fig)


# -- verdicts ---------------------------------------------------------------------------------------------

#: Verdict words by what they say about the claim, in legend order: (colour map, darkest and lightest shade,
#: words). Each family has one hue and each word its own shade, so a figure shows the standing at a glance and
#: the word on a closer look; the shade ranges keep the orange and red families apart. Words not listed here
#: (a plugin's, a future study's) are drawn in a neutral grey and still named in the legend.
VERDICT_FAMILIES: dict[str, tuple[str, tuple[float, float], tuple[str, ...]]] = {
    "agrees": (
        "Greens",
        (0.95, 0.5),
        (
            "within (tight)",
            "respects (tight)",
            "certifies (tight)",
            "consistent",
            "matches",
            "recovers",
            "reproduced",
            "supported",
            "closes",
        ),
    ),
    "holds, not tight": ("Blues", (0.9, 0.5), ("within (not tight)", "respects (not tight)", "certifies")),
    "qualitative": ("Purples", (0.9, 0.55), ("polylog", "polynomial", "vanishes", "floor")),
    "undecided": (
        "Oranges",
        (0.65, 0.35),
        ("pre-asymptotic", "limit case", "inconclusive", "insufficient data", "no certificate"),
    ),
    "disagrees": (
        "Reds",
        (0.98, 0.6),
        (
            "violates",
            "not reproduced",
            "misses",
            "slower",
            "faster",
            "grows faster",
            "grows slower",
            "above",
            "below",
            "does not close",
        ),
    ),
    "not judged": ("Greys", (0.7, 0.4), ("reported (ratio of bounds)", "reported only", "none", "not tuned")),
}


def verdict_color(word: str):
    """The colour of a verdict word (see :data:`VERDICT_FAMILIES`)."""
    import matplotlib

    for cmap, (dark, light), words in VERDICT_FAMILIES.values():
        if word in words:
            shade = dark + (light - dark) * words.index(word) / max(1, len(words) - 1)
            return matplotlib.colormaps[cmap](shade)
    return (0.45, 0.45, 0.45, 1.0)


def verdict_order(words) -> list[str]:
    """The distinct words of ``words`` in legend order (family by family, unknown words last)."""
    known = [w for _, _, ws in VERDICT_FAMILIES.values() for w in ws]
    present = list(dict.fromkeys(words))
    return [w for w in known if w in present] + sorted(w for w in present if w not in known)


def verdict_handles(words, *, marker: str = "o"):
    """Legend handles, one per distinct verdict word."""
    from matplotlib.lines import Line2D

    return [
        Line2D([], [], color=verdict_color(w), marker=marker, ls="-", lw=1.2, ms=5, label=w)
        for w in verdict_order(words)
    ]


def whiskers(
    ax,
    rows: pd.DataFrame,
    y,
    *,
    value: str = "measured",
    low: str = "ci_low",
    high: str = "ci_high",
    theory: str | None = "theory",
    word: str = "verdict",
    marker: str = "o",
    ms: float = 4.5,
    theory_marker: str = "|",
    theory_color: str = "black",
    theory_size: float = 70,
) -> None:
    """A dot-and-whisker per row at height ``y`` (a sequence as long as ``rows``): the measured value with its
    interval, coloured by the row's verdict word, and the theory value as a black tick. Rows without a finite
    interval draw the dot alone."""
    rows = rows.reset_index(drop=True)
    ys = np.asarray(y, float)
    for i, r in rows.iterrows():
        v = float(r[value])
        if not math.isfinite(v):
            continue
        color = verdict_color(str(r[word]))
        lo, hi = float(r[low]), float(r[high])
        err = None
        if math.isfinite(lo) and math.isfinite(hi):
            err = [[max(0.0, v - lo)], [max(0.0, hi - v)]]
        ax.errorbar([v], [ys[i]], xerr=err, fmt=marker, color=color, ms=ms, lw=1.3, capsize=0, zorder=3)
    if theory is not None:
        t = rows[theory].to_numpy(float)
        ok = np.isfinite(t)
        ax.scatter(t[ok], ys[ok], marker=theory_marker, color=theory_color, s=theory_size, lw=1.6, zorder=4)


def verdict_panel(
    ax, rows: pd.DataFrame, *, label: str = "setting", xlabel: str = "measured exponent [CI]", max_label: int = 32
) -> None:
    """A study's verdict rows (scoreboard columns) as dots and whiskers, one line per row labelled by ``label``,
    the theory value as a black tick and the verdict words in the legend."""
    rows = rows[np.isfinite(rows["measured"].to_numpy(float))].reset_index(drop=True)
    if rows.empty:
        ax.text(0.5, 0.5, "no judged row", transform=ax.transAxes, ha="center", va="center")
        ax.set_yticks([])
        return
    ys = np.arange(len(rows))[::-1]
    whiskers(ax, rows, ys)
    ax.set_yticks(ys, [_short(str(s), max_label) for s in rows[label]])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    handles = verdict_handles(rows["verdict"])
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], color="black", marker="|", ls="", ms=9, mew=1.6, label="theory"))
    ax.legend(handles=handles, loc="best", frameon=True)


def ratio_claims_panel(ax, claims: pd.DataFrame, *, band: float, title: str) -> None:
    """A gap study's judged ratios (table claims: claim, ratio, ci_low, ci_high, verdict) as dots and whiskers
    coloured by verdict, one line per claim named with its verdict, over the claims' band [1/band, band] (grey)."""
    whiskers(ax, claims, range(len(claims)), value="ratio", theory=None, ms=3)
    ax.axvspan(1 / band, band, color="0.85", lw=0)
    ax.set_yticks(range(len(claims)), [f"{c.claim}\n({c.verdict})" for c in claims.itertuples()], fontsize=6)
    ax.invert_yaxis()
    ax.set(xlabel="judged ratio", title=title)


#: Markers of the statistics a slope is fitted to, shared by every slope panel.
LEVEL_MARKERS = {"0.5": "o", "0.9": "s", "0.99": "^", "tail": "v", "mean": "D"}


def slope_panel(
    ax,
    rows: pd.DataFrame,
    *,
    group: str = "method",
    level: str = "quantile",
    xlabel: str = "last-decade slope [CI]",
    reference: Sequence[tuple[float, str]] = (),
    value: str = "slope",
) -> None:
    """Measured exponents against theory, one line per ``group`` value and a dot and whisker per ``level``
    (marker, :data:`LEVEL_MARKERS`), coloured by verdict; the theory exponent of each row as a black tick and
    each ``reference`` (exponent, name) as a dotted vertical line. ``rows`` has columns group, level, slope,
    ci_low, ci_high, theory, verdict (a slopes table's last-decade rows)."""
    from matplotlib.lines import Line2D

    groups = list(dict.fromkeys(rows[group]))
    levels = list(dict.fromkeys(rows[level].astype(str)))
    # the known statistics keep their marker in every figure; other levels (a ratio's "0.5 final") take the rest
    spare = iter(
        m
        for m in ("o", "s", "^", "D", "v", "P", "X", "*")
        if m not in {LEVEL_MARKERS[lv] for lv in levels if lv in LEVEL_MARKERS}
    )
    markers = {lv: LEVEL_MARKERS.get(lv) or next(spare, "o") for lv in levels}
    spread = 0.6  # of the unit spacing between groups, shared by the levels
    for i, g in enumerate(groups):
        part = rows[rows[group] == g].reset_index(drop=True)
        n = len(part)
        for j in range(n):
            y = len(groups) - 1 - i + (spread * (0.5 - j / (n - 1)) if n > 1 else 0.0)
            whiskers(
                ax, part.iloc[[j]], [y], value=value, marker=markers[str(part.loc[j, level])], ms=3.5, theory_size=40
            )
    ax.set_yticks(range(len(groups))[::-1], groups)
    ax.set_ylim(-0.6, len(groups) - 0.4)
    ax.grid(axis="y", visible=False)
    for t, _ in reference:
        ax.axvline(t, color="0.35", ls=":", lw=1.2)
    handles = verdict_handles(rows["verdict"])
    handles += [
        Line2D(
            [],
            [],
            color="0.3",
            marker=markers[lv],
            ls="",
            ms=4,
            label=f"q={lv}" if lv in ("0.5", "0.9", "0.99") else lv,
        )
        for lv in levels
    ]
    handles.append(Line2D([], [], color="black", marker="|", ls="", ms=8, mew=1.6, label="theory"))
    handles += [
        Line2D([], [], color="0.35", ls=":", lw=1.2, label=name) for name in dict.fromkeys(n for _, n in reference)
    ]
    # below the panel: inside, "best" still lands on dots when every row has three of them
    ax.legend(handles=handles, fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
    ax.set_xlabel(xlabel)


def exponents(rows: pd.DataFrame) -> list[tuple[float, str, str, str]]:
    """(exponent, the statements that give it, line style, colour), one entry per distinct exponent of rows with
    columns statement and theory: several statements (Thm 4, Thm 8, their balanced form) share −2(α−1)/α, and
    one line with their names reads better than four on top of each other. Table 1 dotted, the bias limit
    dash-dot, every other statement dashed black."""
    styles = {"table1": (":", "0.35"), "bias-limit": ("-.", "0.35")}
    rows = rows[rows["theory"].notna()]
    out = []
    for t, part in rows.groupby(rows["theory"].astype(float).round(9), sort=False):
        statements = list(dict.fromkeys(part["statement"]))
        ls, color = styles.get(statements[0], ("--", "black"))
        out.append((float(t), " / ".join(statements), ls, color))
    return out


def theory_through_fits(ax, fits: pd.DataFrame, lines: pd.DataFrame) -> None:
    """Each distinct exponent of ``lines`` (see :func:`exponents`) drawn once, through the fit (rows of
    ``fits`` with method, intercept, slope, kmin, kmax, theory of a log-log fit) of the first method it judges
    (else the first fit) at the start of the fit window, from a decade before it so that the slope reads
    against the whole curve; the window is shaded. One anchor per exponent, not a mean of all methods: the
    line then sits on a curve the reader can compare it with."""
    fits = fits[np.isfinite(fits["intercept"].astype(float)) & np.isfinite(fits["slope"].astype(float))]
    if fits.empty:
        return
    ax.axvspan(float(fits["kmin"].min()), float(fits["kmax"].max()), color="0.9", zorder=0, lw=0)
    for t, statements, ls, color in exponents(lines):
        own = fits[np.isclose(fits["theory"].astype(float), t)] if "theory" in fits else fits.iloc[0:0]
        r = (own if not own.empty else fits).iloc[0]
        kmin, kmax = float(r["kmin"]), float(r["kmax"])
        start = math.exp(float(r["intercept"]) + float(r["slope"]) * math.log(kmin / 10))
        theory_line(
            ax,
            kmin / 10,
            kmax,
            start,
            t,
            label=f"{_short(statements, 24)} {t:+.2f} via {r['method']}",
            ls=ls,
            color=color,
        )


def grouped_lines(ax, frame: pd.DataFrame, *, x: str, y: str, by, color, label, ls=None, band=None, alpha=0.2):
    """One line of ``y`` against ``x`` (sorted, with markers) per group of the ``by`` columns, in the frame's
    order of first appearance; ``color``, ``label`` and ``ls`` (default solid) map a group's key tuple to its
    colour, legend entry and line style. ``band`` (low, high columns) shades each line's interval, an infinite
    bound leaving a gap."""
    for key, part in frame.groupby(list(by), sort=False):
        part = part.sort_values(x)
        ax.plot(part[x], part[y], ls=ls(key) if ls else "-", marker="o", ms=3, color=color(key), label=label(key))
        if band is not None:
            low, high = (part[c].where(np.isfinite(part[c])) for c in band)
            ax.fill_between(part[x], low, high, color=color(key), alpha=alpha, lw=0)


def where(frame: pd.DataFrame, **equal) -> pd.DataFrame:
    """The rows of ``frame`` whose columns equal the given values (one series of a tidy table)."""
    mask = np.ones(len(frame), dtype=bool)
    for column, value in equal.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def quantile_panel(ax, quantiles: pd.DataFrame, fits: pd.DataFrame, lines: pd.DataFrame, series, colors, *, level):
    """One quantile ``level`` of several series against k: each series' estimate with its confidence band
    (:func:`quantile_bands`), its legend entry naming its verdict at that level, and each judging exponent of
    ``lines`` (scoreboard rows, see :func:`exponents`) drawn through the fits over the shaded fit window
    (:func:`theory_through_fits`). ``series`` maps a series' name to the column values that select it (in
    ``quantiles`` and in ``fits``, a slopes table's last-decade rows); ``colors`` maps the name to its colour."""
    at = f"{level:g}"
    for name, selected in series.items():
        fit = where(fits, **selected)
        fit = fit[fit["quantile"] == at]
        word = fit["verdict"].iloc[0] if not fit.empty else ""
        quantile_bands(
            ax,
            where(quantiles, **selected),
            quantiles=[level],
            palette=[colors[name]],
            label=lambda _, name=name, word=word: f"{name}: {word}" if word else name,
        )
    window = pd.concat([where(fits, **selected) for selected in series.values()]) if series else fits.iloc[0:0]
    theory_through_fits(ax, window[window["quantile"] == at], lines)
    ax.set_xlabel("k")


def local_slope_panel(
    ax, local: pd.DataFrame, lines: pd.DataFrame, series, colors, *, xlabel: str = "k (window centre)"
) -> None:
    """The local slopes of several series (rows with kmin, kmax, slope, ci_low, ci_high: one per window) at
    their windows' geometric centres, with their confidence bands, against each judging exponent of ``lines``
    (scoreboard rows, see :func:`exponents`) as a horizontal line: a slope that drifts across windows shows
    here. ``series`` and ``colors`` as in :func:`quantile_panel`."""
    drawn = False
    for name, selected in series.items():
        part = where(local, **selected)
        part = part[np.isfinite(part["slope"])].sort_values("kmax")
        if part.empty:
            continue
        drawn = True
        mid = np.sqrt(part["kmin"].to_numpy(float) * part["kmax"].to_numpy(float))
        ax.plot(mid, part["slope"], marker="o", ms=3, lw=1.2, color=colors[name], label=name)
        ax.fill_between(mid, part["ci_low"], part["ci_high"], color=colors[name], alpha=0.15, lw=0)
    for t, statements, ls, color in exponents(lines):
        ax.axhline(t, color=color, ls=ls, lw=1.2, label=f"{statements} {t:+.2f}")
    ax.set(xscale="log" if drawn else "linear", xlabel=xlabel)
    ax.legend(fontsize=6, loc="best", framealpha=0.9)


def legend(ax, n_entries: int, *, many: int = 7, **kw) -> None:
    """The panel's legend: inside where it is short, below the panel where it has ``many`` entries or more
    (a long legend inside hides the curves)."""
    kw.setdefault("fontsize", 6.5)
    if n_entries >= many:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False, **kw)
    else:
        ax.legend(loc="best", framealpha=0.9, **kw)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip(" ,") + "…"


# -- the scoreboard ---------------------------------------------------------------------------------------


def _common_prefix(texts: Sequence[str]) -> str:
    texts = list(dict.fromkeys(texts))
    if len(texts) == 1:
        return texts[0]
    words = [t.split(" ") for t in texts]
    common = []
    for parts in zip(*words):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    while common and common[-1] in ("of", "the", "in", "at"):
        common.pop()
    return " ".join(common)


def scoreboard_figure(board: pd.DataFrame, *, title: str = "Scoreboard: measured exponent [CI] against theory"):
    """Every scoreboard row whose theory is a number: the measured value with its interval (colour: the verdict
    word) against the theory value (black tick), one panel per study (each on its own scale: exponents, tail
    indices and ratios differ), rows grouped by statement. Rows whose theory is not a number (NaN: qualitative
    claims) are left out and counted in the caption. ``board`` is ``summary.parquet`` as stored."""
    plt, _ = _mpl()
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    theory = pd.to_numeric(board["theory"], errors="coerce")
    measured = pd.to_numeric(board["measured"], errors="coerce")
    judged = board[np.isfinite(theory) & np.isfinite(measured)].copy()
    left = board[~board.index.isin(judged.index)]
    studies = list(dict.fromkeys(judged["study"]))
    if not studies:
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, f"no scoreboard row has a numeric theory ({len(board)} rows stored)", ha="center")
        return fig
    # Two columns of stacked panels, each exactly as tall as its rows (placed in inches, so that a short study
    # is not stretched to its column's height), balanced by greedy filling in the board's order.
    sizes = {s: int((judged["study"] == s).sum()) for s in studies}
    row_in, head_in, foot_in = 0.085, 0.22, 0.42  # per row; a panel's title; its x ticks and label
    label_in, gap_in = 1.3, 0.15  # the statement labels left of each column; the right margin
    top_in, legend_in = 0.85, 1.0
    columns: list[list[str]] = [[], []]
    load = [0.0, 0.0]
    for s in studies:
        c = 0 if load[0] <= load[1] else 1
        columns[c].append(s)
        n_groups = judged.loc[judged["study"] == s, "statement"].nunique()
        load[c] += head_in + max(sizes[s] + 0.8 * (n_groups - 1), 3) * row_in + foot_in
    height = top_in + max(load) + legend_in
    fig = plt.figure(figsize=(PAGE_WIDTH, height))
    col_w = (PAGE_WIDTH - 2 * label_in - 2 * gap_in) / 2
    for c, names in enumerate(columns):
        y = height - top_in
        for study in names:
            rows = judged[judged["study"] == study]
            rows = pd.concat([g for _, g in rows.groupby("statement", sort=False)]).reset_index(drop=True)
            # Rows from the top, a gap of `gap` rows between statements (a separator and room for the labels).
            gap = 0.8
            group = rows.groupby("statement", sort=False).ngroup().to_numpy()
            ys = -(np.arange(len(rows)) + gap * group)
            ys = ys - ys.min()
            span = float(ys.max()) + 1.0
            h = max(span, 3) * row_in
            y -= head_in + h
            x0 = label_in + c * (col_w + label_in + gap_in)
            ax = fig.add_axes([x0 / PAGE_WIDTH, y / height, col_w / PAGE_WIDTH, h / height])
            y -= foot_in
            whiskers(ax, rows, ys, ms=3, theory_size=30)
            ticks, labels = [], []
            for statement, g in rows.groupby("statement", sort=False):
                idx = ys[g.index.to_numpy()]
                ticks.append(idx.mean())
                labels.append(_short(statement, 22) + f" ({len(g)})")
                if idx.min() > 0:
                    ax.axhline(idx.min() - (1 + gap) / 2, color="0.75", lw=0.6)
            ax.set_yticks(ticks, labels, fontsize=6.5)
            ax.set_ylim(-0.6 - (max(span, 3) - span) / 2, span - 0.4 + (max(span, 3) - span) / 2)
            ax.grid(axis="y", visible=False)
            ax.xaxis.set_major_locator(MaxNLocator(5))
            ax.tick_params(axis="x", labelsize=7, pad=1)
            ax.tick_params(axis="y", pad=1)
            ax.set_title(f"{study}: {len(rows)} row{'s' if len(rows) != 1 else ''}", fontsize=8, pad=2, loc="left")
            ax.set_xlabel(
                _short(_common_prefix(rows["quantity"].astype(str)), 48) or "measured", fontsize=7, labelpad=1
            )
    words = judged["verdict"].astype(str)
    handles = verdict_handles(words, marker="o")
    handles.append(Line2D([], [], color="black", marker="|", ls="", ms=8, mew=1.6, label="theory"))
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=7, frameon=False, bbox_to_anchor=(0.5, 0.0))
    counts = ", ".join(f"{s} {n}" for s, n in left["study"].value_counts(sort=False).items())
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / height)
    fig.text(
        0.5,
        1 - 0.32 / height,
        va="top",
        s=f"{len(judged)} of {len(board)} verdict rows. Dot: measured, whisker: its interval, colour: the verdict;"
        f" black tick: theory.\n{len(left)} rows whose theory is not a number are left out"
        + (f" ({counts})" if counts else "")
        + ".",
        ha="center",
        fontsize=7,
    )
    return fig


def colors_of(labels, palette: str = "tab10") -> dict:
    """One colour per label, in order, from a seaborn palette."""
    _, sns = _mpl()
    labels = list(labels)
    return dict(zip(labels, sns.color_palette(palette, len(labels))))


def band(ax, x, value, low, high, *, color, alpha: float = 0.15, connect: bool = False, **line) -> None:
    """A line and its interval band; an infinite value or bound leaves a gap instead of stretching the axis.
    ``connect``: the line joins the finite values across such a gap (an estimate with failed points between)."""

    def finite(v):
        v = np.asarray(v, dtype=float)
        return np.where(np.isfinite(v), v, np.nan)

    x, value = np.asarray(x, dtype=float), finite(value)
    shown = ~np.isnan(value) if connect else slice(None)
    ax.plot(x[shown], value[shown], color=color, **line)
    ax.fill_between(x, finite(low), finite(high), color=color, alpha=alpha, lw=0)


def interval_band(ax, rows: pd.DataFrame, x: str, y: str = "value", *, color, **line) -> None:
    """:func:`band` of one series of a tidy table: ``y`` against ``x`` (sorted) with its ci_low–ci_high interval
    shaded at alpha 0.2, a marker at each point, the line joined across failed points; ``line``: its style."""
    rows = rows.sort_values(x)
    band(
        ax, rows[x], rows[y], rows["ci_low"], rows["ci_high"], color=color, alpha=0.2, connect=True, marker="o", **line
    )


def log_axes(ax, xlabel: str, ylabel: str, title: str | None = None) -> None:
    """Log-log axes with their labels and, if given, a title: a panel of a rate or a tail against its variable."""
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel)
    if title is not None:
        ax.set_title(title)


def value_ticks(ax, values) -> None:
    """x ticks at a sweep's ``values``, labelled as they are (``:g``), and no minor tick labels on either axis:
    on log axes a few swept values read better than the decades' labels."""
    from matplotlib.ticker import NullFormatter

    ax.set_xticks(values, [f"{v:g}" for v in values])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


def errorbar(ax, x, value, low, high, **style) -> None:
    """An estimate and its interval as error bars (``style`` as for ``Axes.errorbar``); a bound on the wrong
    side of the estimate (an interval rounded inside it) draws no bar rather than a negative one."""
    value = np.asarray(value, dtype=float)
    below = np.clip(value - np.asarray(low, dtype=float), 0, None)
    above = np.clip(np.asarray(high, dtype=float) - value, 0, None)
    ax.errorbar(x, value, yerr=[below, above], **style)


def interval_panel(
    ax, frame: pd.DataFrame, x: str, *, by: str, label: str = "{}", lines=(), theory_lw: float = 1.0, **style
) -> None:
    """Error bars (:func:`errorbar`, ``style``) of each ``by`` series of a tidy table (columns ``x``, value,
    ci_low, ci_high) against ``x``, labelled ``label.format(value of by)``, then power laws through the first
    series' first point (:func:`theory_line` across its range): ``lines`` holds (exponent, line style, label)."""
    for name, series in frame.groupby(by, sort=False):
        series = series.sort_values(x)
        errorbar(ax, series[x], series["value"], series["ci_low"], series["ci_high"], label=label.format(name), **style)
    first = frame[frame[by] == frame[by].iloc[0]].sort_values(x)
    xs, anchor = first[x].to_numpy(), first["value"].iloc[0]
    for exponent, ls, label in lines:
        theory_line(ax, xs[0], xs[-1], anchor, exponent, label=label, ls=ls, lw=theory_lw)


def finish(fig, title: str, *, fontsize: float = 9):
    """The figure with its title, laid out: the last step of every study's plot."""
    fig.suptitle(title, fontsize=fontsize)
    fig.tight_layout()
    return fig
