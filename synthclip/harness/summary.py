"""``summary``: the scoreboard. Every stored study's verdict rows in one table, and the seed's errata.

``python -m synthclip.study summary [DIR]`` walks DIR (default ``studies/results``) for results folders
(a ``meta.json`` beside the tables), asks each study for its verdict rows (``Study.scoreboard``: statement,
source, setting, quantity, measured exponent with its interval, theory, verdict, figure) from the stored
tables alone, and writes ``summary.parquet`` and ``summary.md`` into DIR. ``all`` writes it at the end.

Below the table, ``summary.md`` lists every erratum of :data:`synthclip.theory.ERRATA` with its status
under a rule fixed here, read off the scoreboard rows named as its evidence: *confirmed by the data*, *not
confirmed* (the rows exist and do not show it), or *no evidence stored* (the study has not been run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import io
from ..findings import errata
from ..verdict import SCOREBOARD_COLUMNS
from .base import StudyError, registered


def gather(root: Path) -> pd.DataFrame:
    """Scoreboard rows of every results folder under ``root`` (hidden folders such as the cell cache skipped)."""
    frames = []
    for meta_path in sorted(Path(root).rglob("meta.json")):
        folder = meta_path.parent
        if any(part.startswith(".") for part in folder.relative_to(root).parts):
            continue
        meta = io.read_json(meta_path)
        study = registered().get(meta.get("study"))
        if study is None:
            continue
        tables = {p.stem: io.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}
        rows = study.scoreboard(tables, meta)
        if rows is None or rows.empty:
            continue
        rows = rows.copy()
        rows["figure"] = [str((folder / f).relative_to(root)) if f else "" for f in rows["figure"].fillna("")]
        frames.append(rows)
    if not frames:
        return pd.DataFrame(columns=list(SCOREBOARD_COLUMNS))
    board = pd.concat(frames, ignore_index=True)
    return board[list(SCOREBOARD_COLUMNS)]


# -- writing ------------------------------------------------------------------------------------------


def _cell(v) -> str:
    if isinstance(v, float):
        return "" if np.isnan(v) else f"{v:+.3f}"
    return str(v).replace("|", "/").replace("\n", " ")


def markdown(board: pd.DataFrame) -> str:
    """The scoreboard and the errata as Markdown."""
    lines = [
        "| study | statement | setting | quantity | measured [CI] | theory | verdict | figure |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in board.iterrows():
        ci = f"{_cell(r['measured'])} [{_cell(r['ci_low'])}, {_cell(r['ci_high'])}]"
        verdict = r["verdict"] + (
            f" ({r['reason']})" if r["reason"] and r["verdict"] in ("insufficient data", "pre-asymptotic") else ""
        )
        lines.append(
            f"| {r['study']} | {r['statement']} | {_cell(r['setting'])} | {_cell(r['quantity'])} | {ci} | "
            f"{_cell(r['theory'])} | {_cell(verdict)} | {r['figure']} |"
        )
    lines += ["", "## Errata: where the seed as printed and the data disagree", ""]
    for e in errata(board):
        lines.append(f"- **{e['where']}** (printed: {e['printed']}): {e['finding']}. **Status: {e['status']}.**")
        for _, r in e["evidence"].iterrows():
            lines.append(
                f"  - evidence: {r['study']} {r['statement']}, {r['setting']}: {r['quantity']} "
                f"{_cell(r['measured'])} [{_cell(r['ci_low'])}, {_cell(r['ci_high'])}] vs "
                f"{_cell(r['theory'])}: {r['verdict']}"
            )
    return "\n".join(lines) + "\n"


def draw_summary(root: Path) -> Path:
    """``summary.png``: the scoreboard figure, drawn from ``summary.parquet`` alone (as any figure is drawn from
    stored tables) and written atomically."""
    from .. import plotting

    fig = plotting.scoreboard_figure(io.read_parquet(Path(root) / "summary.parquet"))
    try:
        return io.save_figure(fig, Path(root) / "summary.png")
    finally:
        plotting.close(fig)


def write_summary(root: Path, echo=print) -> pd.DataFrame:
    """Gather, write ``summary.parquet`` and ``summary.md`` into ``root`` atomically, draw ``summary.png`` from the
    stored parquet (:func:`draw_summary`), and print the counts."""
    root = Path(root)
    if not root.is_dir():
        raise StudyError(f"summary: {root} is not a folder of study results")
    board = gather(root)
    io.write_parquet(board, root / "summary.parquet")
    with io.atomic_path(root / "summary.md") as tmp:
        tmp.write_text(markdown(board))
    draw_summary(root)
    counts = board["verdict"].value_counts().to_dict() if not board.empty else {}
    echo(
        f"summary: {len(board)} verdict rows from {board['study'].nunique() if not board.empty else 0} studies "
        f"({', '.join(f'{v} {k}' for k, v in counts.items()) or 'none stored'}); wrote {root}/summary.md, "
        f"summary.parquet and summary.png"
    )
    for e in errata(board):
        echo(f"  erratum {e['where']}: {e['status']}")
    return board
