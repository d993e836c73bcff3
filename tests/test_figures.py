"""The shared figure scaffolding (synthclip.plotting) on small stored-like tables."""

import math

import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from synthclip import plotting
from synthclip.verdict import SCOREBOARD_COLUMNS


def _board():
    rows = []
    for i, (study, statement, theory, word) in enumerate(
        [
            ("rates", "thm4", -2 / 3, "within (not tight)"),
            ("rates", "table1", -1 / 3, "within (not tight)"),
            ("nonconvex", "thm2", -0.4, "violates"),
            ("tails", "hill estimator", 1.5, "recovers"),
            ("bias", "koloskova", math.nan, "vanishes"),
            ("confidence", "chezhegov", math.nan, "polylog"),
        ]
    ):
        rows.append(
            {
                "study": study,
                "statement": statement,
                "source": "",
                "setting": f"s{i}",
                "quantity": "slope in k",
                "measured": -0.8 + 0.01 * i,
                "ci_low": -0.85,
                "ci_high": -0.75,
                "theory": theory,
                "verdict": word,
                "reason": "",
                "figure": "",
            }
        )
    return pd.DataFrame(rows, columns=list(SCOREBOARD_COLUMNS))


def _texts(fig):
    return " ".join(t.get_text() for t in fig.texts)


def test_scoreboard_figure_draws_numeric_rows_and_counts_the_rest():
    fig = plotting.scoreboard_figure(_board())
    try:
        titles = [ax.get_title(loc="left") for ax in fig.axes]
        assert sorted(titles) == ["nonconvex: 1 row", "rates: 2 rows", "tails: 1 row"]
        caption = _texts(fig)
        assert "4 of 6 verdict rows" in caption and "2 rows whose theory is not a number" in caption
        assert "bias 1" in caption and "confidence 1" in caption
        width, _ = fig.get_size_inches()
        assert width <= plotting.PAGE_WIDTH
    finally:
        plotting.close(fig)


def test_summary_png_is_drawn_from_the_parquet(tmp_path):
    from synthclip.harness.summary import draw_summary

    _board().to_parquet(tmp_path / "summary.parquet")
    path = draw_summary(tmp_path)
    assert path == tmp_path / "summary.png" and path.stat().st_size > 0
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically: no temporary left behind


def test_verdict_colours_separate_the_standings():
    agree, violate, open_ = (plotting.verdict_color(w) for w in ("within (tight)", "violates", "pre-asymptotic"))
    assert len({agree, violate, open_}) == 3
    assert plotting.verdict_color("a word no study uses") == (0.45, 0.45, 0.45, 1.0)
    assert plotting.verdict_order(["violates", "within (tight)", "zzz"]) == ["within (tight)", "violates", "zzz"]


def test_figure_fits_the_page():
    fig, axes = plotting.figure(11, ncols=4, size=3.0)
    try:
        assert len(axes) == 11 and fig.get_size_inches()[0] <= plotting.PAGE_WIDTH
    finally:
        plotting.close(fig)


def test_every_study_figure_fits_the_page(quick_results):
    """Each study's own figure, drawn from its stored tables as `study plot DIR` does, is at most a page wide."""
    from synthclip.study import STUDIES

    drawn = set()
    for meta_path in sorted(quick_results.rglob("meta.json")):
        if any(part.startswith(".") for part in meta_path.relative_to(quick_results).parts):
            continue
        tables, meta = plotting.stored(meta_path.parent)
        fig = STUDIES[meta["study"]].plot(tables, meta)
        if fig is None:
            continue
        try:
            assert fig.get_size_inches()[0] <= plotting.PAGE_WIDTH + 1e-9, meta_path
            drawn.add(meta["study"])
        finally:
            plotting.close(fig)
    assert {"rates", "nonconvex", "lower-bound"} <= drawn
