"""Many seeds of one training run at once: ``torch.func`` ensembles for the high-probability studies.

The parameters of ``n_seeds`` copies of a model are stacked (``torch.func.stack_module_state``), the
per-seed minibatch gradients come from one ``vmap(grad(functional_call(...)))``, and the optimizer is
applied functionally to the stacked tensors by :func:`synthclip.torch.functional.update` with one leading
seed dimension: every norm (GClip's ‖g‖, AdaGrad/Adam-Norm's b_k) is per seed, over that seed's own
parameters, exactly as the torch optimizer computes it for one model. Seed i starts from
``task.build_model(key_i)`` and sees the minibatches ``task.data.batch(key_i, k, batch_size)``, so a
1-seed ensemble is the plain training loop with the optimizer class.

The loss is recorded at log-spaced checkpoints on the task's "full" objective (all digits; a fixed set of
text windows). Non-finite losses (overflow, NaN) mark a seed as failed: it is counted, kept in the
arrays and its first bad step recorded (THEORY.md, "How a rate is measured").
"""
from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass
from typing import Iterable, Optional, Union

import numpy as np
import torch

from .. import methods
from . import functional as F
from .data import derive_seed
from .models import Task, make_task
from .optim import OPTIMIZERS, method_kwargs


def resolve_device(device: Union[str, torch.device]) -> torch.device:
    """``device`` as a torch.device; CUDA without a CUDA build/device is a one-line ValueError."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but CUDA is not available")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {str(device)!r}; use 'cpu' or 'cuda'")
    return dev


def seed_keys(seed, n_seeds: int) -> list[int]:
    """The seed keys of an ensemble: key_i = derive_seed(seed, "ensemble", i) (independent of n_seeds)."""
    return [derive_seed(seed, "ensemble", i) for i in range(n_seeds)]


def log_checkpoints(steps: int, n: int = 30) -> np.ndarray:
    """About ``n`` log-spaced step counts in [1, steps] (the engine's convention)."""
    from ..engine import log_checkpoints as engine_checkpoints

    return engine_checkpoints(steps, n)


@dataclass
class EnsembleResult:
    """Per-seed losses of one ensemble run.

    losses: (n_seeds, n_checkpoints) loss of x_k on the full objective at each checkpoint k;
    checkpoints: (n_checkpoints,) the steps k; failed: (n_seeds,) bool; fail_step: (n_seeds,) first step
    with a non-finite (minibatch or checkpoint) loss, −1 if none; keys: the seed keys (63-bit ints).
    """

    task: str
    method: str
    method_params: dict
    checkpoints: np.ndarray
    losses: np.ndarray
    failed: np.ndarray
    fail_step: np.ndarray
    keys: list
    batch_size: int
    steps: int
    device: str
    dtype: str
    seconds: float = 0.0

    @property
    def n_seeds(self) -> int:
        return int(self.losses.shape[0])

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())

    @property
    def throughput(self) -> float:
        """Seed-steps per second (n_seeds × steps / wall time, evaluation included)."""
        return self.n_seeds * self.steps / self.seconds if self.seconds > 0 else float("nan")

    def to_frame(self):
        """Tidy table: one row per (seed, checkpoint) with the loss and the seed's failure flag."""
        import pandas as pd

        s, c = np.meshgrid(np.arange(self.n_seeds), np.arange(len(self.checkpoints)), indexing="ij")
        return pd.DataFrame({
            "task": self.task, "method": self.method, "seed": s.ravel(), "step": self.checkpoints[c.ravel()],
            "loss": self.losses.ravel(), "failed": self.failed[s.ravel()],
        })


def _checkpoints(checkpoints, steps: int) -> np.ndarray:
    if checkpoints is None:
        return log_checkpoints(steps, 20)
    if np.isscalar(checkpoints):
        return log_checkpoints(steps, int(checkpoints))
    pts = np.unique(np.asarray(list(checkpoints), dtype=np.int64))
    if pts.size == 0 or pts[0] < 1 or pts[-1] > steps:
        raise ValueError(f"checkpoints must be step counts in [1, steps={steps}]")
    return pts


def train_ensemble(task: Union[Task, str], method: str, *, n_seeds: int = 8, steps: int = 100,
                   batch_size: int = 32, seed=0, method_params: Optional[dict] = None,
                   mu: Optional[float] = None, alpha: Optional[float] = None,
                   checkpoints: Union[None, int, Iterable[int]] = None, device: Union[str, torch.device] = "cpu",
                   dtype: Optional[torch.dtype] = None, eval_size: Optional[int] = None,
                   eval_chunk: int = 256) -> EnsembleResult:
    """Train ``n_seeds`` copies of ``task``'s model with synthclip method ``method`` for ``steps`` steps.

    ``method_params`` are the method's synthclip parameters (names and defaults of
    ``synthclip.methods.METHODS[method]``, validated there; ``mu``/``alpha`` feed the Theorem 4 step and
    the "alpha-1"/"1/alpha" clip powers). ``task`` is a :class:`Task` or a task name (``models.TASKS``);
    ``dtype`` defaults to the task's. ``checkpoints``: step counts, or how many log-spaced ones (default
    about 20). ``eval_size`` limits the full objective to that many evenly spaced examples; it is evaluated
    in chunks of ``eval_chunk`` examples for all seeds at once.
    """
    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    dev = resolve_device(device)
    if not isinstance(n_seeds, (int, np.integer)) or n_seeds < 1:
        raise ValueError(f"n_seeds must be a positive integer, got {n_seeds!r}")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if isinstance(task, str):
        task = make_task(task, dtype=dtype or torch.float32, device=dev)
    else:
        dtype = dtype or task.dtype
        task = dataclasses.replace(task, data=task.data.to(dev, dtype), dtype=dtype, device=dev)
    name = methods.get(method).name  # unknown names: one-line ValueError listing the valid ones
    params_in = dict(method_params or {})
    # one validation path with the optimizer classes: their defaults dict is the hyper-parameter set
    hp = OPTIMIZERS[name]([torch.zeros(1)], **method_kwargs(name, mu=mu, alpha=alpha, **params_in)).defaults
    ckpts = _checkpoints(checkpoints, steps)

    t0 = time.perf_counter()
    keys = seed_keys(seed, n_seeds)
    models = [task.build_model(k) for k in keys]
    stacked, buffers = stack_module_state(models)
    names = list(stacked)
    plist = [stacked[n].detach() for n in names]
    params = dict(zip(names, plist))
    base = copy.deepcopy(models[0]).to("meta")
    del models

    def loss_one(p, b, x, y):
        return task.loss_fn(functional_call(base, (p, b), (x,)), y)

    grad_fn = vmap(grad_and_value(loss_one))
    eval_fn = vmap(loss_one, in_dims=(0, 0, None, None))
    eval_idx = task.data.reference_indices(eval_size)

    def full_loss():
        total = torch.zeros(n_seeds, dtype=task.dtype, device=dev)
        with torch.no_grad():
            for start in range(0, eval_idx.numel(), eval_chunk):
                chunk = eval_idx[start:start + eval_chunk]
                total += eval_fn(params, buffers, *task.data.take(chunk)) * (chunk.numel() / eval_idx.numel())
        return total

    group_state = F.new_group_state(name, plist[0], hp, lead=1)
    param_states = [F.new_param_state(name, p, hp) for p in plist]
    keys_t = torch.tensor(keys, dtype=torch.int64, device=dev)
    losses = torch.empty(n_seeds, len(ckpts), dtype=plist[0].dtype, device=dev)
    fail_step = torch.full((n_seeds,), -1, dtype=torch.int64, device=dev)
    ckpt_index = {int(k): j for j, k in enumerate(ckpts)}

    def mark(loss, k):
        # the first non-finite loss of each seed; no host sync, so the GPU never waits
        newly = ~torch.isfinite(loss) & (fail_step < 0)
        fail_step.copy_(torch.where(newly, torch.full_like(fail_step, k), fail_step))

    for k in range(1, steps + 1):
        x, y = task.data.batches(keys_t, k, batch_size)
        grads, loss = grad_fn(params, buffers, x, y)
        mark(loss, k)
        with torch.no_grad():
            F.update(name, plist, [grads[n] for n in names], group_state, param_states, hp, k, lead=1)
        j = ckpt_index.get(k)
        if j is not None:
            losses[:, j] = full_loss()
            mark(losses[:, j], k)
    losses_np = losses.double().cpu().numpy()
    fail_np = fail_step.cpu().numpy()
    seconds = time.perf_counter() - t0
    return EnsembleResult(
        task=task.name, method=name, method_params=params_in, checkpoints=ckpts, losses=losses_np,
        failed=fail_np >= 0, fail_step=fail_np, keys=keys, batch_size=int(batch_size), steps=int(steps),
        device=str(dev), dtype=str(plist[0].dtype).replace("torch.", ""), seconds=seconds,
    )
