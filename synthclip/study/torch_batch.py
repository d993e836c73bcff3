"""``torch-batch``: does the Adam–SGD gap follow the gradient noise as the batch grows to the full data set?

Three answers set side by side on the same tasks (``synthclip.theory.GAP_CLAIMS``, docs/studies/torch-batch.md):
the seed's (Zhang et al. 2020: heavy-tailed noise is why Adam wins, so the gap shrinks as the batch grows and
the noise lightens), Kunstner et al. 2023 (the gap persists at full batch, where Adam behaves like sign descent
with momentum) and Srećković et al. 2025 (SGD-m, tuned, is level with Adam at small batch; the gap opens with
the batch).

Runs. The word-level transformer (the Zipfian corpus, ``_torch_gap.SMALL_WORD_MODEL``) and the digits CNN, each on
``--n-examples`` evenly spaced examples so that the full batch is affordable; batch sizes 1, 4, 16, ... up to
the full data set (``--batch-sizes``); methods SGD-m, GClip-m, CClip-m, Signum and Adam, each with its step size
tuned per (task, batch size) on other seeds under the same budget of ``--epochs`` epochs (``_torch_gap``).

Measured: each judged seed's final training loss on the whole subset; the gap of a method at batch size B,
R(B) = median loss / Adam's median loss, with its paired bootstrap interval; the trend, the median over seeds of
the per-seed ratio at the full batch over the one at the smallest batch (< 1: the gap shrinks with B); and the
noise at initialisation per B (``torch.probe``: ``--n-batches`` minibatch gradients against the full one; Hill's
tail index of ‖ξ‖ and seed 000's outlier ratios; zero at the full batch, where there is no noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..harness import _torch_gap as G
from ..harness.base import StudyError, option, register
from ..plotting import where
from ..theory import GAP_BAND

#: which ratio judges each claim: (method against Adam, "full" / "smallest" batch or the "trend" between them)
JUDGED = {
    "seed-gap-follows-noise": ("sgd_m", "trend"),
    "kunstner2023-gap-persists": ("sgd_m", "full"),
    "kunstner2023-sign-tracks-adam": ("signum", "full"),
    "sreckovic2025-level-small-batch": ("sgd_m", "smallest"),
    "sreckovic2025-gap-opens": ("sgd_m", "trend"),
}


@dataclass
class TorchBatchParams(G.GapParams):
    tasks: list = option(list(G.TASKS), "tasks: the word-level transformer (judged) and the digits CNN (control)")
    n_examples: int = option(64, "examples of each task's training subset (the full batch)", low=1)
    batch_sizes: list = option([0], "batch sizes, each <= --n-examples (0: 1, 4, 16, ... below it, and the full batch)")
    epochs: int = option(10, "budget in epochs, the same for every batch size and method", low=1)
    n_batches: int = option(200, "minibatches of the noise probe per batch size", low=8)


@register
class TorchBatch(G.GapStudy):
    name = "torch-batch"
    summary = "the Adam–SGD gap against the batch size up to the full batch (the seed vs Kunstner 2023, Srećković 2025)"
    Params = TorchBatchParams
    quick = {"n_examples": 8, "epochs": 1, "n_seeds": 6, "n_tune_seeds": 1, "n_batches": 16, "n_boot": 400, "jobs": 1}
    tables = ("runs", "tuning", "final", "noise", "gaps", "claims")
    judged = JUDGED

    def validate(self, p) -> None:
        G.validate_common(self.name, p, p.tasks)
        if p.batch_sizes == [0]:
            p.batch_sizes = G.batch_ladder(p.n_examples)
        G.check_batches(p.batch_sizes, p.n_examples)
        p.batch_sizes = sorted(set(p.batch_sizes))
        if len(p.batch_sizes) < 2:
            raise StudyError(f"--batch-sizes needs at least two sizes (a trend in B), got {p.batch_sizes}")

    def cells(self, p) -> list[dict]:
        base = {**G.cell_fields(self.name, p), "confidence": p.confidence}
        cells = []
        for task in p.tasks:
            for b in p.batch_sizes:
                steps, at = G.steps_for(p.epochs, p.n_examples, b), {**base, "task": task, "batch_size": b}
                train = {**at, "cell": "train", "steps": steps, "checkpoints": [steps], **G.tuning_fields(p)}
                cells += [{**train, "label": f"{task} B={b} {m}", "method": m} for m in p.methods]
                if b < p.n_examples:  # the full batch has no noise to probe
                    cells.append({**at, "label": f"{task} B={b} noise", "cell": "probe", "n_batches": p.n_batches})
        return cells

    def cell_tables(self, cell):
        return probe_cell(cell) if cell["cell"] == "probe" else train_cell(cell)

    def gap_table(self, tables, **boot):
        """R(B) of every method against Adam per (task, B), and the trend (B = 0 rows: full over smallest)."""
        final = tables["final"]
        return G.gap_table(
            final,
            "batch_size",
            units=lambda part: sorted(part["batch_size"].unique()),
            losses=lambda task, m, b: _losses(final, task, b, m),
            summary=("trend", 0, lambda sizes: (sizes[-1], sizes[0])),
            **boot,
        )

    def judge_claim(self, claim, method, which, gaps, edge, confidence):
        g = where(gaps, task=claim.task, method=method)
        if g.empty:
            return None
        sizes = sorted(g.loc[g["measure"] == "gap", "batch_size"])
        used = {"full": [sizes[-1]], "smallest": [sizes[0]], "trend": [sizes[0], sizes[-1]]}[which]
        r = g[g["measure"] == "trend"] if which == "trend" else where(g, measure="gap", batch_size=used[0])
        bad = sorted({f"{m} at B={b}" for b in used for m in (method, G.REFERENCE) if (claim.task, b, m) in edge})
        row = G.judge(claim, r.iloc[0], confidence=confidence, edge_methods=bad)
        return {**row, "method": method, "batch_sizes": ",".join(map(str, used))}

    claims_heading = (
        f"claims (judged on the word task; the digits are the control, reported above; band edge {GAP_BAND:g}):"
    )

    def intro(self, p) -> str:
        return (
            f"torch-batch: {p['n_seeds']} judged seeds per run (each its own initial weights; seed i the same under "
            f"every method and batch size), {p['n_examples']} examples per task, {p['epochs']} epochs at every batch "
            f"size; step sizes tuned per (task, B, method) on {p['n_tune_seeds']} other seeds (interior rule)"
        )

    def task_lines(self, tables, p, task, methods) -> list[str]:
        gaps, noise, runs = tables["gaps"], tables["noise"], tables["runs"]
        header = (
            f"{'B':>5} {'steps':>6} "
            + " ".join(f"{m:<26}" for m in methods)
            + f" {'‖ξ‖':>8} {'Hill α':<22} {'top1%':>6} {'mild':>6} {'extreme':>8}"
        )
        lines = [
            f"{task} ({G.task_kind(task)}): gap R(B) = median final loss / Adam's [{p['confidence']:.0%}]; "
            f"noise at initialisation: median ‖ξ‖, Hill α of ‖ξ‖ [interval], top-1 % share, mild/extreme "
            f"outlier ratios over a Gaussian's",
            header,
            "-" * len(header),
        ]
        for b in p["batch_sizes"]:
            cells = [
                G.gap_cell(
                    where(gaps, task=task, method=m, batch_size=b),
                    "*" if (task, b, m) in G.untuned(runs) else " ",
                )
                for m in methods
            ]
            n = where(noise, task=task, batch_size=b) if not noise.empty else noise
            if n.empty:
                tail = f" {'0':>8} {'(full batch: no noise)':<22} {'-':>6} {'-':>6} {'-':>8}"
            else:
                r = n.iloc[0]
                tail = (
                    f" {r['median_norm']:>8.3g} {G.fmt(r['hill_alpha'], r['hill_low'], r['hill_high']):<22} "
                    f"{r['top1_share']:>6.3f} {r['mild_ratio']:>6.2f} {r['extreme_ratio']:>8.3g}"
                )
            steps = where(runs, task=task, batch_size=b)["steps"]
            lines.append(f"{b:>5} {int(steps.iloc[0]) if len(steps) else 0:>6} " + " ".join(cells) + tail)
        trend = where(gaps, task=task, measure="trend")
        lines.append("trend (per-seed gap at the full batch over the smallest): " + G.ratio_list(trend))
        lr = runs[runs["task"] == task].pivot(index="batch_size", columns="method", values="lr")
        lines.append(
            "tuned step sizes: "
            + "; ".join(f"B={b}: " + ", ".join(f"{m} {lr.loc[b, m]:.3g}" for m in lr.columns) for b in lr.index)
        )
        return lines

    def plot(self, tables, meta):
        return plot_batch(tables, meta)

    def setting(self, p) -> str:
        return f"n={p['n_examples']} examples, B in {p['batch_sizes']}, {p['epochs']} epochs, N={p['n_seeds']} seeds"


def train_cell(cell) -> dict[str, pd.DataFrame]:
    res, runs, tuning = G.run_tuned(cell)
    loss = G.final_losses(res)
    final = pd.DataFrame(
        {**{k: cell[k] for k in ("task", "batch_size", "method")}, "seed": np.arange(loss.size), "loss": loss}
    )
    return {"runs": runs, "tuning": tuning, "final": final}


def probe_cell(cell) -> dict[str, pd.DataFrame]:
    """The minibatch noise at initialisation (the first judged seed's weights) for one batch size."""
    from ..torch import probe
    from ..torch.ensemble import seed_keys

    task = G.build_task(cell["task"], cell["n_examples"], cell["device"])
    key = seed_keys(cell["seed"], 1)[0]
    model = task.build_model(key)
    pr = probe.gradient_noise(
        model,
        task.loss_fn,
        task.data,
        n_batches=cell["n_batches"],
        batch_size=cell["batch_size"],
        key=key,
        confidence=cell["confidence"],
    )
    s = probe.norm_statistics(pr.norms)
    hill = pr.tail("all", "norm")
    row = {
        "task": cell["task"],
        "batch_size": cell["batch_size"],
        "n_batches": pr.norms.size,
        "median_norm": s["median"],
        "full_grad_norm": float(np.sqrt(np.sum(pr.full_grad_norms**2))),
        "hill_alpha": hill["alpha"],
        "hill_low": hill["ci_low"],
        "hill_high": hill["ci_high"],
        **{k: s[k] for k in ("top1_share", "mild_ratio", "extreme_ratio")},
        "seconds": pr.seconds,
    }
    return {"noise": pd.DataFrame([row])}


def _losses(final: pd.DataFrame, task: str, b: int, method: str) -> np.ndarray:
    part = where(final, task=task, batch_size=b, method=method)
    return part.sort_values("seed")["loss"].to_numpy(float)


def plot_batch(tables, meta):
    """Gap R(B) per method against B, per task (band of the claims shaded), and Hill's α of the noise against B."""
    from .. import plotting

    gaps, noise = tables["gaps"], tables["noise"]
    tasks = list(dict.fromkeys(gaps["task"]))
    fig, axes = plotting.figure(len(tasks) + 1, ncols=len(tasks) + 1, size=3.6)
    colors = plotting.colors_of(sorted(set(gaps["method"])))
    for ax, task in zip(axes, tasks):
        for m, color in colors.items():
            g = where(gaps, task=task, method=m, measure="gap")
            g = g.sort_values("batch_size")
            style = {"color": color, "marker": "o", "ms": 3, "lw": 1.2, "capsize": 2, "label": m}
            plotting.errorbar(ax, g["batch_size"], g["ratio"], g["ci_low"], g["ci_high"], **style)
        ax.axhspan(1 / GAP_BAND, GAP_BAND, color="0.85", lw=0)
        ax.set_xscale("log", base=2)
        ax.set_title(f"{task}: final loss / Adam's", fontsize=8)
        ax.set_xlabel("batch size B (last: full batch)")
        ax.legend(fontsize=6)
    ax = axes[len(tasks)]
    for task in tasks:
        n = noise[noise["task"] == task].sort_values("batch_size") if not noise.empty else noise
        if not n.empty:
            style = {"marker": "o", "ms": 3, "capsize": 2, "label": task}
            plotting.errorbar(ax, n["batch_size"], n["hill_alpha"], n["hill_low"], n["hill_high"], **style)
    ax.axhline(2.0, color="0.5", lw=0.8, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_title("noise at initialisation: Hill α of ‖ξ‖", fontsize=8)
    ax.set_xlabel("batch size B")
    ax.legend(fontsize=6)
    title = (
        f"torch-batch: medians over {meta.get('params', {}).get('n_seeds')} seeds, paired bootstrap "
        f"intervals; grey: the band [1/{GAP_BAND:g}, {GAP_BAND:g}]"
    )
    return plotting.finish(fig, title)
