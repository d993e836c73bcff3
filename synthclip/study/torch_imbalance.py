"""``torch-imbalance``: is the Adam–SGD gap a gap on rare classes, and does clipping close it as sign descent does?

Kunstner et al. 2024 ("Heavy-tailed class imbalance and why Adam outperforms gradient descent on language
models", arXiv 2402.19449): under (S)GD the loss of infrequent classes decreases more slowly than that of frequent
ones, while Adam and sign-based methods improve all classes; on balanced classes there is no such gap. Whether
*clipping* (global or coordinate-wise, with momentum) closes the rare-class gap as sign descent does is a question
none of the critics answers (``synthclip.theory.GAP_CLAIMS``, docs/studies/torch-imbalance.md).

Runs. The word-level transformer (next-word targets: a Zipfian class distribution) and the digits CNN (ten
balanced classes: the control), each on ``--n-examples`` evenly spaced examples, trained with SGD-m, GClip-m,
CClip-m, Signum and Adam at one batch size for ``--epochs`` epochs, step sizes tuned on other seeds
(``_torch_gap``).

Measured, at ``--checkpoints`` log-spaced steps, for every judged seed: the training loss of each class group. The
classes that occur among the subset's targets are sorted by their count (ties by class id) and cut into
``--groups`` groups of (nearly) equal numbers of classes (deciles by default; group 0 the rarest); a group's loss is
the mean loss over its targets, so the groups' losses weighted by their shares of the targets sum to the total
loss (a test checks it against the ensemble's own loss). At the last checkpoint: the gap of each method on each
group, R_g = median loss / Adam's median loss, and the concentration, the median over seeds of the per-seed gap
on the rarest group over the per-seed gap on the most frequent one, with paired bootstrap intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..harness import _torch_gap as G
from ..harness.base import StudyError, option, register
from ..plotting import where
from ..theory import GAP_BAND

#: which ratio judges each claim: (method against Adam, group: "rare", "frequent", "all" or the "concentration")
JUDGED = {
    "kunstner2024-rare-classes": ("sgd_m", "concentration"),
    "kunstner2024-sign-closes": ("signum", "rare"),
    "kunstner2024-balanced-control": ("sgd_m", "all"),
    "open-gclip-closes": ("gclip_m", "rare"),
    "open-cclip-closes": ("cclip_m", "rare"),
}
#: the "closes" claims presuppose a gap to close: SGD-m's rare-group gap must be shown above the band
NEEDS_RARE_GAP = {"kunstner2024-sign-closes", "open-gclip-closes", "open-cclip-closes"}


@dataclass
class TorchImbalanceParams(G.GapParams):
    tasks: list = option(
        list(G.TASKS), "tasks: the word-level transformer (Zipfian classes) and the digits CNN (balanced control)"
    )
    n_examples: int = option(256, "examples of each task's training subset", low=1)
    batch_size: int = option(16, "minibatch size (<= --n-examples; equal to it: full batch)", low=1)
    epochs: int = option(20, "budget in epochs", low=1)
    groups: int = option(10, "class-frequency groups (10: deciles of the classes that occur)", low=2)
    checkpoints: int = option(6, "about this many log-spaced steps at which the class losses are recorded", low=2)


@register
class TorchImbalance(G.GapStudy):
    name = "torch-imbalance"
    summary = "per-class loss by class frequency: is the Adam–SGD gap on rare classes (Kunstner 2024), and does clipping close it"
    Params = TorchImbalanceParams
    quick = {
        "n_examples": 32,
        "epochs": 1,
        "batch_size": 8,
        "checkpoints": 2,
        "n_seeds": 6,
        "n_tune_seeds": 1,
        "n_boot": 400,
        "jobs": 1,
    }
    tables = ("runs", "tuning", "classes", "gaps", "claims")
    judged = JUDGED

    def validate(self, p) -> None:
        G.validate_common(self.name, p, p.tasks)
        G.check_batches([p.batch_size], p.n_examples)
        if G.steps_for(p.epochs, p.n_examples, p.batch_size) < p.checkpoints:
            raise StudyError(
                f"--checkpoints must be <= the steps of the run "
                f"({G.steps_for(p.epochs, p.n_examples, p.batch_size)}), got {p.checkpoints}"
            )

    def cells(self, p) -> list[dict]:
        from ..torch.ensemble import log_checkpoints

        steps = G.steps_for(p.epochs, p.n_examples, p.batch_size)
        return [
            {
                "label": f"{task} {m}",
                "task": task,
                "method": m,
                "batch_size": p.batch_size,
                "steps": steps,
                "checkpoints": [int(k) for k in log_checkpoints(steps, p.checkpoints)],
                "groups": p.groups,
                **G.cell_fields(self.name, p),
                **G.tuning_fields(p),
            }
            for task in p.tasks
            for m in p.methods
        ]

    def cell_tables(self, cell):
        return imbalance_cell(cell)

    def gap_table(self, tables, **boot):
        """Per (task, method ≠ Adam): the gap on every group (group −1: all targets) and the concentration."""
        classes = tables["classes"]

        def measure(g, groups) -> str:
            return "all" if g == -1 else "rare" if g == groups[1] else "frequent" if g == groups[-1] else f"group {g}"

        return G.gap_table(
            classes,
            "group",
            units=lambda part: [-1, *sorted(g for g in part["group"].unique() if g >= 0)],
            losses=lambda task, m, g: _final(classes, task, m, g),
            summary=("concentration", -2, lambda groups: (groups[1], groups[-1])),
            measure=measure,
            **boot,
        )

    def judge_claim(self, claim, method, measure, gaps, edge, confidence):
        r = where(gaps, task=claim.task, method=method, measure=measure)
        if r.empty:
            return None
        bad = sorted(m for m in (method, G.REFERENCE) if any(t == claim.task and e == m for t, _, e in edge))
        pre = ""
        if claim.name in NEEDS_RARE_GAP:
            s = where(gaps, task=claim.task, method="sgd_m", measure="rare")
            if s.empty:
                pre = "needs sgd_m's rare-class gap (not run)"
            elif not s.iloc[0]["ci_low"] > GAP_BAND:
                pre = (
                    f"no rare-class gap to close: sgd_m's is {G.fmt(*s.iloc[0][['ratio', 'ci_low', 'ci_high']])}, "
                    f"not shown above {GAP_BAND:g}"
                )
        row = G.judge(claim, r.iloc[0], confidence=confidence, edge_methods=bad, precondition=pre)
        return {**row, "method": method, "measure": measure}

    def intro(self, p) -> str:
        return (
            f"torch-imbalance: {p['n_seeds']} judged seeds per run (each its own initial weights, the same under every "
            f"method), {p['n_examples']} examples per task, batch {p['batch_size']}, {p['epochs']} epochs; step sizes "
            f"tuned per (task, method) on {p['n_tune_seeds']} other seeds (interior rule); classes cut into "
            f"{p['groups']} frequency groups (0: rarest)"
        )

    def task_lines(self, tables, p, task, methods) -> list[str]:
        gaps, classes, runs = tables["gaps"], tables["classes"], tables["runs"]
        c = where(classes, task=task, method=G.REFERENCE)
        c = c[(c["step"] == c["step"].max()) & (c["seed"] == 0)].set_index("group")
        total = int(c.loc[-1, "n_targets"]) if -1 in c.index else 0
        header = f"{'group':>7} {'classes':>7} {'targets':>8} {'adam':>8} " + " ".join(f"{m:<26}" for m in methods)
        lines = [
            f"{task} ({G.task_kind(task)}): final loss gap R_g = median / Adam's median per group "
            f"[{p['confidence']:.0%}]; Adam's median final loss beside it",
            header,
            "-" * len(header),
        ]
        for g in [*sorted(x for x in c.index if x >= 0), -1]:
            adam = np.median(_final(classes, task, G.REFERENCE, g))
            cells = [G.gap_cell(where(gaps, task=task, method=m, group=g)) for m in methods]
            share = c.loc[g, "n_targets"] / total if total else np.nan
            lines.append(
                f"{'all' if g == -1 else g:>7} {int(c.loc[g, 'n_classes']):>7} {share:>8.1%} {adam:>8.4g} "
                + " ".join(cells)
            )
        conc = where(gaps, task=task, measure="concentration")
        lines.append(
            "concentration (per-seed gap on the rarest group over that on the most frequent): " + G.ratio_list(conc)
        )
        r = runs[runs["task"] == task]
        lines.append(
            "tuned step sizes: "
            + ", ".join(
                f"{m} {lr:.3g}{'*' if e else ''}" for m, lr, e in zip(r["method"], r["lr"], r["lr_at_grid_edge"])
            )
        )
        return lines

    def quantity(self, claim) -> str:
        return f"{claim['task']}, {claim['quantity']}"

    def plot(self, tables, meta):
        return plot_imbalance(tables, meta)

    def setting(self, p) -> str:
        return (
            f"n={p['n_examples']} examples, B={p['batch_size']}, "
            f"{p['epochs']} epochs, {p['groups']} frequency groups, N={p['n_seeds']} seeds"
        )


# -- class groups and the per-class losses ------------------------------------------------------------------


def class_groups(targets: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(group of each target, count of classes per group): the classes that occur among ``targets``, sorted by
    count then id, cut into ``min(n_groups, classes)`` groups of nearly equal numbers of classes (0: rarest)."""
    t = np.asarray(targets).ravel()
    classes, counts = np.unique(t, return_counts=True)
    order = classes[np.lexsort((classes, counts))]
    parts = np.array_split(order, min(n_groups, order.size))
    group_of = {int(c): g for g, part in enumerate(parts) for c in part}
    return np.array([group_of[int(c)] for c in t]), np.array([part.size for part in parts])


def group_losses(token_loss, group, n_groups: int):
    """Mean loss per group: token_loss (seeds, targets) → (seeds, groups), and the groups' target counts."""
    import torch

    g = torch.as_tensor(group, device=token_loss.device)
    sums = torch.zeros(token_loss.shape[0], n_groups, dtype=token_loss.dtype, device=token_loss.device)
    sums.index_add_(1, g, token_loss)
    counts = torch.bincount(g, minlength=n_groups).to(token_loss.dtype)
    return sums / counts, counts


def imbalance_cell(cell) -> dict[str, pd.DataFrame]:
    import torch
    from torch.nn import functional as F

    task = G.build_task(cell["task"], cell["n_examples"], cell["device"])
    x, y = task.data.take(torch.arange(task.data.n, device=task.data.device))
    group, n_classes = class_groups(y.cpu().numpy(), cell["groups"])
    n_groups = len(n_classes)
    rows = []

    def observe(k, forward):
        logits = forward(x)  # (seeds, n, [T,] V)
        s = logits.shape[0]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1).repeat(s), reduction="none").reshape(
            s, -1
        )
        per_group, counts = group_losses(loss, group, n_groups)
        # each group, then all targets (group -1)
        parts = [(g, n_classes[g], counts[g], per_group[:, g]) for g in range(n_groups)]
        for g, n_in, n_targets, value in [*parts, (-1, n_classes.sum(), loss.shape[1], loss.mean(1))]:
            rows.append(
                pd.DataFrame(
                    {
                        "step": k,
                        "group": g,
                        "seed": np.arange(s),
                        "n_classes": int(n_in),
                        "n_targets": int(n_targets),
                        "loss": value.double().cpu().numpy(),
                    }
                )
            )

    res, runs, tuning = G.run_tuned(cell, observe=observe)
    classes = pd.concat(rows, ignore_index=True).assign(task=cell["task"], method=cell["method"])
    # the ensemble's own loss at each checkpoint beside the groups' (the bookkeeping test compares them)
    own = pd.DataFrame(
        {
            "step": np.repeat(res.checkpoints, res.n_seeds),
            "seed": np.tile(np.arange(res.n_seeds), len(res.checkpoints)),
            "ensemble_loss": res.losses.T.ravel(),
        }
    )
    classes = classes.merge(own, on=["step", "seed"], how="left")
    failed = np.asarray(res.failed)
    classes.loc[failed[classes["seed"].to_numpy()], "loss"] = np.inf
    return {"runs": runs, "tuning": tuning, "classes": classes}


# -- gaps and verdicts ----------------------------------------------------------------------------------------


def _final(classes: pd.DataFrame, task: str, method: str, group: int) -> np.ndarray:
    part = where(classes, task=task, method=method, group=group)
    part = part[part["step"] == part["step"].max()]
    return part.sort_values("seed")["loss"].to_numpy(float)


def plot_imbalance(tables, meta):
    """Per task: median final loss per frequency group and method; the rarest group's median loss over training."""
    from .. import plotting

    classes = tables["classes"]
    tasks = list(dict.fromkeys(classes["task"]))
    fig, axes = plotting.figure(2 * len(tasks), ncols=2, size=3.6)
    colors = plotting.colors_of(dict.fromkeys(classes["method"]))
    for i, task in enumerate(tasks):
        part = classes[(classes["task"] == task) & (classes["group"] >= 0)]
        last = part[part["step"] == part["step"].max()]
        for m, color in colors.items():
            med = last[last["method"] == m].groupby("group")["loss"].median()
            axes[2 * i].plot(med.index, med.to_numpy(), marker="o", ms=3, color=color, label=m)
            rare = where(part, method=m, group=0).groupby("step")["loss"].median()
            axes[2 * i + 1].plot(rare.index, rare.to_numpy(), marker="o", ms=3, color=color, label=m)
        axes[2 * i].set_title(f"{task}: final loss per frequency group (0: rarest)", fontsize=8)
        axes[2 * i].set_xlabel("class-frequency group")
        axes[2 * i + 1].set_title(f"{task}: rarest group's loss over training", fontsize=8)
        axes[2 * i + 1].set_xlabel("step k")
        axes[2 * i + 1].set_xscale("log")
        for ax in axes[2 * i : 2 * i + 2]:
            ax.legend(fontsize=6)
    return plotting.finish(fig, f"torch-imbalance: medians over {meta.get('params', {}).get('n_seeds')} seeds")
