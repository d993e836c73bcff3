"""Many seeds of one training run at once: ``torch.func`` ensembles for the high-probability studies.

The parameters of ``n_seeds`` copies of a model are stacked (``torch.func.stack_module_state``), the
per-seed minibatch gradients come from one ``vmap(grad(functional_call(...)))``, and the optimizer is
applied functionally to the stacked tensors by :func:`synthclip.torch.functional.update` with one leading
seed dimension: every norm (GClip's ‖g‖, AdaGrad/Adam-Norm's b_k) is per seed, over that seed's own
parameters, exactly as the torch optimizer computes it for one model. Seed i starts from
``task.build_model(key_i)`` (or, with ``init_key``, every seed from ``task.build_model(init_key)``, so that
seeds differ only in their minibatches) and sees the minibatches ``task.data.batch(key_i, k, batch_size)``,
so a 1-seed ensemble is the plain training loop with the optimizer class.

Optimizers outside the synthclip registry (``torch.optim.Adam`` as "adam", ``torch.optim.SGD`` as
"torch-sgd"), and the synthclip classes with torch-only options (``optimizer_options``: GClip/CClip's
``momentum`` and ``weight_decay``), run as the optimizer class itself with one param group per seed whose
parameters are views into the stacked tensors: every group-wide norm is then per seed, and the update is the
class's own code, not a copy of it.

The loss is recorded at log-spaced checkpoints on the task's "full" objective (all digits; a fixed set of
text windows), and with ``grad_norms=True`` the norm of that objective's gradient, ‖∇f(x_k)‖, per seed.
Non-finite losses (overflow, NaN) mark a seed as failed: it is counted, kept in the arrays and its first
bad step recorded (docs/theory.md, "How a rate is measured").
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from .. import methods
from . import functional as F
from .data import derive_seed
from .models import Task, make_task
from .optim import OPTIMIZERS, StepOptimizer, method_kwargs, optimizer_for  # noqa: F401

#: torch.optim classes the ensemble runs by name, besides the synthclip methods (their own defaults and checks)
TORCH_OPTIMIZERS: dict[str, type] = {"adam": torch.optim.Adam, "torch-sgd": torch.optim.SGD}


def resolve_device(device: str | torch.device) -> torch.device:
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
    with a non-finite (minibatch or checkpoint) loss, −1 if none; keys: the seed keys (63-bit ints);
    grad_norms: (n_seeds, n_checkpoints) ‖∇f(x_k)‖ on the full objective, or None when not recorded;
    init_key: the key every seed's initial weights came from, or None (seed i from keys[i]).
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
    grad_norms: np.ndarray | None = None
    init_key: int | None = None

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
        frame = pd.DataFrame(
            {
                "task": self.task,
                "method": self.method,
                "seed": s.ravel(),
                "step": self.checkpoints[c.ravel()],
                "loss": self.losses.ravel(),
                "failed": self.failed[s.ravel()],
            }
        )
        if self.grad_norms is not None:
            frame["grad_norm"] = self.grad_norms.ravel()
        return frame


def _checkpoints(checkpoints, steps: int) -> np.ndarray:
    if checkpoints is None:
        return log_checkpoints(steps, 20)
    if np.isscalar(checkpoints):
        return log_checkpoints(steps, int(checkpoints))
    pts = np.unique(np.asarray(list(checkpoints), dtype=np.int64))
    if pts.size == 0 or pts[0] < 1 or pts[-1] > steps:
        raise ValueError(f"checkpoints must be step counts in [1, steps={steps}]")
    return pts


def train_ensemble(
    task: Task | str,
    method: str,
    *,
    n_seeds: int = 8,
    steps: int = 100,
    batch_size: int = 32,
    seed=0,
    method_params: dict | None = None,
    mu: float | None = None,
    alpha: float | None = None,
    checkpoints: None | int | Iterable[int] = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    eval_size: int | None = None,
    eval_chunk: int = 256,
    optimizer_options: dict | None = None,
    init_key: int | None = None,
    grad_norms: bool = False,
    observe: Callable[[int, Callable], None] | None = None,
) -> EnsembleResult:
    """Train ``n_seeds`` copies of ``task``'s model with synthclip method ``method`` for ``steps`` steps.

    ``method_params`` are the method's synthclip parameters (names and defaults of
    ``synthclip.methods.METHODS[method]``, validated there; ``mu``/``alpha`` feed the Theorem 4 step and
    the "alpha-1"/"1/alpha" clip powers). ``task`` is a :class:`Task` or a task name (``models.TASKS``);
    ``dtype`` defaults to the task's. ``checkpoints``: step counts, or how many log-spaced ones (default
    about 20). ``eval_size`` limits the full objective to that many evenly spaced examples; it is evaluated
    in chunks of ``eval_chunk`` examples for all seeds at once (a quarter of that when ``grad_norms`` asks for
    ‖∇f(x_k)‖ too, which keeps every seed's activations).

    ``method`` may also name a torch optimizer of :data:`TORCH_OPTIMIZERS` (``method_params`` are then its
    constructor's keywords); ``optimizer_options`` are constructor keywords of the synthclip class beyond the
    method's parameters (GClip/CClip: ``momentum``, ``dampening``, ``nesterov``, ``weight_decay``). Both run
    the class with one param group per seed. ``init_key``: every seed starts from ``build_model(init_key)``
    (default: seed i from its own key). ``observe(k, forward)``: called at every checkpoint k, after the loss, with
    ``forward(x)`` giving every seed's model outputs on inputs x, shape (n_seeds, ...), without gradients (what a
    study records beyond the loss, e.g. per-class losses).
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
    params_in = dict(method_params or {})
    options = dict(optimizer_options or {})
    if method in TORCH_OPTIMIZERS:
        name, cls, kwargs = method, TORCH_OPTIMIZERS[method], {**params_in, **options}
    else:
        name = methods.get(method).name  # unknown names: one-line ValueError listing the valid ones
        cls, kwargs = optimizer_for(name), {**method_kwargs(name, mu=mu, alpha=alpha, **params_in), **options}
    # one validation path with the optimizer classes: their defaults dict is the hyper-parameter set
    hp = cls([torch.zeros(1)], **kwargs).defaults
    # the class itself, one param group per seed: torch's own optimizers, torch-only options, and a method without
    # a torch rule (a plugin's compiled step, which vmap cannot batch)
    seedwise = method in TORCH_OPTIMIZERS or bool(options) or issubclass(cls, StepOptimizer)
    ckpts = _checkpoints(checkpoints, steps)
    if init_key is not None and (
        isinstance(init_key, bool) or not isinstance(init_key, (int, np.integer)) or not 0 <= init_key < 2**63
    ):
        raise ValueError(f"init_key must be an integer in [0, 2^63) or None, got {init_key!r}")

    t0 = time.perf_counter()
    keys = seed_keys(seed, n_seeds)
    if init_key is None:
        models = [task.build_model(k) for k in keys]
    else:
        first = task.build_model(int(init_key))
        models = [copy.deepcopy(first) for _ in keys]
    stacked, buffers = stack_module_state(models)
    names = list(stacked)
    plist = [stacked[n].detach() for n in names]
    params = dict(zip(names, plist))
    base = copy.deepcopy(models[0]).to("meta")
    del models

    def loss_one(p, b, x, y):
        return task.loss_fn(functional_call(base, (p, b), (x,)), y)

    grad_fn = vmap(grad_and_value(loss_one))
    outputs_fn = vmap(lambda p, b, x: functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))

    def forward(x):
        with torch.no_grad():
            return outputs_fn(params, buffers, x)

    eval_fn = vmap(loss_one, in_dims=(0, 0, None, None))
    full_grad_fn = vmap(grad_and_value(loss_one), in_dims=(0, 0, None, None))
    eval_idx = task.data.reference_indices(eval_size)

    def full_loss():
        total = torch.zeros(n_seeds, dtype=task.dtype, device=dev)
        with torch.no_grad():
            for start in range(0, eval_idx.numel(), eval_chunk):
                chunk = eval_idx[start : start + eval_chunk]
                total += eval_fn(params, buffers, *task.data.take(chunk)) * (chunk.numel() / eval_idx.numel())
        return total

    def full_loss_and_grad_norm():
        # ∇f is the example-weighted sum of the chunks' mean gradients, as f is of their mean losses
        total = torch.zeros(n_seeds, dtype=task.dtype, device=dev)
        grad_sum = [torch.zeros_like(p) for p in plist]
        step = max(1, eval_chunk // 4)
        for start in range(0, eval_idx.numel(), step):
            chunk = eval_idx[start : start + step]
            g, value = full_grad_fn(params, buffers, *task.data.take(chunk))
            w = chunk.numel() / eval_idx.numel()
            total += value.detach() * w
            for acc, n in zip(grad_sum, names):
                acc.add_(g[n].detach(), alpha=w)
        return total, F.sq_norm(grad_sum, lead=1).sqrt()

    if seedwise:
        # views p[i] of the stacked tensors (no autograd history, so leaves): the class updates them in place
        groups = [{"params": [p[i] for p in plist]} for i in range(n_seeds)]
        optimizer = cls(groups, **kwargs)
    else:
        group_state = F.new_group_state(name, plist[0], hp, lead=1)
        param_states = [F.new_param_state(name, p, hp) for p in plist]
    keys_t = torch.tensor(keys, dtype=torch.int64, device=dev)
    losses = torch.empty(n_seeds, len(ckpts), dtype=plist[0].dtype, device=dev)
    norms = torch.empty(n_seeds, len(ckpts), dtype=plist[0].dtype, device=dev) if grad_norms else None
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
            if seedwise:
                for i, group in enumerate(optimizer.param_groups):
                    for p, n in zip(group["params"], names):
                        p.grad = grads[n][i]
                optimizer.step()
            else:
                F.update(name, plist, [grads[n] for n in names], group_state, param_states, hp, k, lead=1)
        j = ckpt_index.get(k)
        if j is not None:
            if grad_norms:
                losses[:, j], norms[:, j] = full_loss_and_grad_norm()
            else:
                losses[:, j] = full_loss()
            mark(losses[:, j], k)
            if observe is not None:
                observe(k, forward)
    losses_np = losses.double().cpu().numpy()
    fail_np = fail_step.cpu().numpy()
    seconds = time.perf_counter() - t0
    return EnsembleResult(
        task=task.name,
        method=name,
        method_params={**params_in, **options},
        checkpoints=ckpts,
        losses=losses_np,
        failed=fail_np >= 0,
        fail_step=fail_np,
        keys=keys,
        batch_size=int(batch_size),
        steps=int(steps),
        device=str(dev),
        dtype=str(plist[0].dtype).replace("torch.", ""),
        seconds=seconds,
        grad_norms=None if norms is None else norms.double().cpu().numpy(),
        init_key=None if init_key is None else int(init_key),
    )
