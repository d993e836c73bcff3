"""What the torch studies share: lazy torch, the device checks and the intra-op thread count of a cell.

A harness module, not a study: torch-noise and torch-rates both import it, and neither imports the other.
"""

from __future__ import annotations

import contextlib
import functools
import math

import numpy as np

from .base import MissingDependency, StudyError, flag

# Intra-op threads per cell: these small models gain nothing from more, and oversubscribed OpenMP
# barriers on a loaded machine make every op many times slower (cells run in parallel instead).
SMALL_MODEL_THREADS = 1


def require_torch(study: str, device: str) -> None:
    """Fail with one line (a StudyError) if PyTorch or the requested device is missing; imports torch."""
    try:
        import torch
    except ImportError:
        raise MissingDependency(f"{study} needs PyTorch: pip install torch (the 'torch' extra of synthclip)") from None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise StudyError(f"--device: unknown device {device!r}; use cpu or cuda") from None
    if dev.type not in ("cpu", "cuda"):
        raise StudyError(f"--device: unsupported device {device!r}; use cpu or cuda")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise StudyError(f"--device {device}: CUDA is not available (torch {torch.__version__}); use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise StudyError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) visible")


def one_job_on_gpu(p) -> None:
    """--jobs 0 means all cores; on one GPU the cells run one after another instead."""
    if p.device != "cpu" and p.jobs == 0:
        p.jobs = 1


@contextlib.contextmanager
def torch_threads(threads):
    """Run with ``threads`` intra-op torch threads (the runner's share of the cores), then restore."""
    import torch

    if not threads:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def check_torch_run(study: str, p) -> None:
    """The checks every torch study ends its validation with: device, PyTorch present, one job per GPU."""
    check_torch_device(p)
    require_torch(study, p.device)
    one_job_on_gpu(p)


def check_replicates(p) -> None:
    """--n-boot large enough for the percentile bootstrap at --confidence: 20 replicates beyond each end."""
    if p.n_boot * (1.0 - p.confidence) < 20:
        raise StudyError(
            f"--n-boot must be >= {math.ceil(20 / (1 - p.confidence))} at --confidence "
            f"{p.confidence:g} (20 replicates beyond each end), got {p.n_boot}"
        )


def check_torch_device(p) -> None:
    if not isinstance(p.device, str) or not p.device:
        raise StudyError(f"--device must be cpu or cuda, got {p.device!r}")


@functools.cache
def _task_examples(task: str) -> int:
    from ..torch import models

    return models.make_task(task).data.n


FLOAT32_MAX = float(np.finfo(np.float32).max)  # a hyper-parameter above it overflows in the float32 models


def check_batch_size(name: str, sizes, tasks) -> None:
    """A minibatch no larger than the task's data set (after check_torch_run: loads the data once). Batches
    draw examples with replacement, so a larger one only repeats examples, at the cost of its size."""
    for task in tasks:
        n = _task_examples(task)
        for b in sizes if isinstance(sizes, (list, tuple)) else [sizes]:
            if b > n:
                raise StudyError(
                    f"{flag(name)} must be <= {n}, the examples of task {task!r} (a larger batch "
                    f"only repeats examples, at its full cost), got {b!r}"
                )


def tune_on_other_seeds(cell, grid, train):
    """The step size of smallest mean final loss over the tuning seeds, by the package's interior rule
    (``synthclip.tuning.tune_interior``: an optimum at a grid edge extends the grid one factor past it, at most
    twice; ties go to the smaller step). Every evaluation trains ``cell["n_tune_seeds"]`` seeds from the key
    ``cell["tune_seed"]`` only, never the judged ones: ``train(cell, lr, n_seeds=, seed=, checkpoints=)`` returns
    an ``EnsembleResult``; a failed seed counts as +inf.

    Returns (value, table, TuneResult); the table has one row per evaluated step size with ``extension`` (0: the
    study's grid), ``chosen``, ``at_edge`` (the same on every row: the optimum is not interior after the
    extensions, so every comparison resting on it reads 'not tuned') and ``n_extensions``."""
    import pandas as pd

    from ..tuning import tune_interior

    rows = []

    def evaluate(lr: float) -> float:
        res = train(cell, lr, n_seeds=cell["n_tune_seeds"], seed=cell["tune_seed"], checkpoints=[cell["steps"]])
        final = np.where(res.failed, np.inf, res.losses[:, -1])
        with np.errstate(invalid="ignore"):
            mean = float(final.mean())
        rows.append(
            {
                "lr": lr,
                "n_seeds": res.n_seeds,
                "n_failed": res.n_failed,
                "mean_final": mean,
                "median_final": float(np.median(final)),
                "seconds": res.seconds,
            }
        )
        return mean

    result = tune_interior(evaluate, grid)
    frame = pd.DataFrame(rows).sort_values("lr", ignore_index=True)
    frame = frame.merge(result.table[["value", "extension"]].rename(columns={"value": "lr"}), on="lr", how="left")
    frame["chosen"] = frame["lr"] == result.value
    frame["at_edge"] = not result.interior
    frame["n_extensions"] = result.n_extensions
    return result.value, frame, result
