"""The update rules of the synthclip methods on torch tensors, shared by ``optim`` and ``ensemble``.

One function, :func:`update`, applies step k of a method (``synthclip/methods.py`` conventions, which
are the reference) to a list of parameter tensors in place. ``lead`` is the number of leading batch
dimensions that index independent runs: ``lead=0`` for a torch optimizer (every norm is over the whole
parameter group), ``lead=1`` for an ensemble of stacked parameters (every norm is per seed, over that
seed's parameters). Keeping one implementation is what makes a 1-seed ensemble equal the optimizer.

State: ``group_state`` holds the per-run scalars (b_k² of the AdaGrad/Adam-Norm family), shape
``params[0].shape[:lead]``; ``param_states`` holds one dict per parameter (momentum m, ACClip's τ^a).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch

from .. import methods

# The package's methods: the seeds' and those after them (``synthclip/methods_extra.py`` states theirs).
METHOD_NAMES = tuple(methods.METHODS)

_CLIPPED = {"gclip", "cclip", "clip_adagrad_norm", "clip_adam_norm"}
_NORM_FAMILY = {"adagrad_norm", "adam_norm", "clip_adagrad_norm", "clip_adam_norm"}
_MOMENTUM = {"acclip", "adam_norm", "clip_adam_norm", "nsgd_m", "clip_nsgd_m", "signsgd_m"}
#: gradient draws per step of the multi-draw methods, from the registry (smom_clip: the median of three)
DRAWS = {m: methods.get(m).draws for m in METHOD_NAMES if methods.get(m).draws > 1}

# Names of the state entries each method keeps (group scalars, per-parameter tensors).
GROUP_STATE = {m: (("b_sq",) if m in _NORM_FAMILY else ()) for m in METHOD_NAMES}
PARAM_STATE = {
    m: (("exp_avg", "clip_pow") if m == "acclip" else ("exp_avg",) if m in _MOMENTUM
        else ("square_avg",) if m == "rmsprop" else ())
    for m in METHOD_NAMES
}


def step_size(hp: Mapping[str, Any], k: int) -> float:
    """η_k of ``methods.step_size`` (constant, poly or Theorem 4's 4/(μ(k+1))) for step k ≥ 1."""
    return float(methods.step_size(hp, k, hp.get("mu")))


def clip_level(hp: Mapping[str, Any], k: int) -> float:
    """τ_k of ``methods.clip_level`` (constant or τ0·k^q with q possibly "alpha-1"/"1/alpha")."""
    return float(methods.clip_level(hp, k, hp.get("alpha")))


def new_group_state(method: str, like: torch.Tensor, hp: Mapping[str, Any], lead: int = 0) -> dict:
    """Fresh per-run scalars: b_0² = b0² for the AdaGrad/Adam-Norm family."""
    if method not in _NORM_FAMILY:
        return {}
    shape = like.shape[:lead]
    return {"b_sq": torch.full(shape, hp["b0"] * hp["b0"], dtype=like.dtype, device=like.device)}


def new_param_state(method: str, p: torch.Tensor, hp: Mapping[str, Any]) -> dict:
    """Fresh per-parameter state: m_0 = 0; ACClip's τ_0^a = clip^a (Algorithm 1, line 1)."""
    state = {}
    if method in _MOMENTUM:
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
    if method == "acclip":
        state["clip_pow"] = torch.full_like(p, hp["clip"] ** hp["moment"], memory_format=torch.preserve_format)
    if method == "rmsprop":
        state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)  # v_0 = 0
    return state


def _per_run(s: torch.Tensor, t: torch.Tensor, lead: int) -> torch.Tensor:
    """A per-run scalar s (shape t.shape[:lead]) shaped to broadcast against t."""
    return s.reshape(s.shape + (1,) * (t.ndim - lead))


def sq_norm(tensors: Sequence[torch.Tensor], lead: int = 0) -> torch.Tensor:
    """Σ over all tensors and all non-leading dims of t²: the squared global norm, one per run."""
    total = None
    for t in tensors:
        # reshape + sum(-1) rather than sum(dim=()), which would reduce the leading dims too
        s = (t * t).reshape(*t.shape[:lead], -1).sum(-1)
        total = s if total is None else total + s
    return total


def _global_clip(grads: Sequence[torch.Tensor], tau: float, lead: int) -> list[torch.Tensor]:
    """clip(g, τ) = min(τ/‖g‖, 1)·g with one norm per run; τ = ∞ returns g itself (so GClip(∞) ≡ SGD)."""
    if math.isinf(tau):
        return list(grads)
    factor = torch.clamp(tau / torch.sqrt(sq_norm(grads, lead)), max=1.0)
    return [g * _per_run(factor, g, lead) for g in grads]


def _normalized_step(params, directions, eta_k: float, lead: int) -> None:
    """x −= η_k·m/‖m‖ with one norm per run over all tensors; a zero m leaves x unchanged (0/0 := 0)."""
    norm = torch.sqrt(sq_norm(directions, lead))
    scale = torch.where(norm > 0, eta_k / torch.where(norm > 0, norm, torch.ones_like(norm)),
                        torch.zeros_like(norm))
    for p, d in zip(params, directions):
        p.sub_(d * _per_run(scale, d, lead))


def median_of_three(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The coordinate-wise median of three tensors, max(min(a, b), min(max(a, b), c)): the kernel's expression."""
    return torch.maximum(torch.minimum(a, b), torch.minimum(torch.maximum(a, b), c))


def smom_estimate(draws: Sequence[Sequence[torch.Tensor]], smoothing: Sequence[torch.Tensor] | None,
                  blocks: int) -> list[torch.Tensor]:
    """Puchkin et al.'s smoothed median of means, coordinate-wise, per parameter tensor.

    ``draws[r][i]`` is draw r of parameter i; the draws are split in order into ``blocks`` (odd) blocks of equal
    size, each block's mean is shifted by ``smoothing[i][j]`` (block j; None: no smoothing) and the median over
    the blocks is returned. Three blocks of one draw without smoothing is the kernel's ``smom_clip``.
    """
    n_draws = len(draws)
    if blocks < 1 or blocks % 2 == 0 or n_draws % blocks:
        raise ValueError(f"smom: {n_draws} draws do not split into an odd number of equal blocks ({blocks})")
    size = n_draws // blocks
    out = []
    for i in range(len(draws[0])):
        means = []
        for j in range(blocks):
            block = [draws[j * size + r][i] for r in range(size)]
            mean = block[0] if size == 1 else torch.stack(block).mean(0)
            if smoothing is not None:
                mean = mean + smoothing[i][j]
            means.append(mean)
        if blocks == 1:
            out.append(means[0])
        elif blocks == 3:
            out.append(median_of_three(*means))
        else:
            out.append(torch.stack(means).median(0).values)  # odd count: the middle value, no averaging
    return out


def update(
    method: str,
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    group_state: Mapping[str, torch.Tensor],
    param_states: Sequence[Mapping[str, torch.Tensor]],
    hp: Mapping[str, Any],
    k: int,
    lead: int = 0,
) -> None:
    """Apply step k (k = 1, 2, ...) of ``method`` in place: x_k from x_{k−1} and g_k = ``grads``.

    Multi-draw methods (``DRAWS``) estimate g_k from several draws first (:func:`smom_estimate`) and then
    call :func:`clipped_step`; this single-gradient entry point refuses them with a one-line ValueError.

    The formulas are those of ``synthclip/methods.py``; the theorem/algorithm each follows is in
    the optimizer classes' docstrings (``synthclip.torch.optim``).
    """
    eta_k = step_size(hp, k)
    if method == "sgd":
        for p, g in zip(params, grads):
            p.add_(g, alpha=-eta_k)
        return
    if method == "gclip":
        for p, g in zip(params, _global_clip(grads, clip_level(hp, k), lead)):
            p.add_(g, alpha=-eta_k)
        return
    if method == "cclip":
        tau = clip_level(hp, k)
        for p, g in zip(params, grads):
            # the same min(τ/|g|, 1)·g expression as GClip so that CClip in d = 1 is GClip bit for bit
            step = g if math.isinf(tau) else g * torch.clamp(tau / g.abs(), max=1.0)
            p.add_(step, alpha=-eta_k)
        return
    if method == "acclip":
        beta1, beta2 = hp["betas"]
        a, eps = hp["moment"], hp["eps"]
        for p, g, st in zip(params, grads, param_states):
            m, v = st["exp_avg"], st["clip_pow"]
            m.mul_(beta1).add_(g, alpha=1.0 - beta1)
            v.mul_(beta2).add_(g.abs().pow(a), alpha=1.0 - beta2)
            tau = v if a == 1.0 else v.pow(1.0 / a)
            p.add_(m * torch.clamp(tau / (m.abs() + eps), max=1.0), alpha=-eta_k)
        return
    if method in ("nsgd_m", "clip_nsgd_m", "signsgd_m"):
        beta = hp["beta"]
        if method == "clip_nsgd_m":
            grads = _global_clip(grads, clip_level(hp, k), lead)
        directions = []
        for g, st in zip(grads, param_states):
            m = st["exp_avg"]
            m.mul_(beta).add_(g, alpha=1.0 - beta)
            directions.append(m)
        if method == "signsgd_m":
            for p, m in zip(params, directions):
                p.add_(torch.sign(m), alpha=-eta_k)  # sign(0) = 0
        else:
            _normalized_step(params, directions, eta_k, lead)
        return
    if method == "rmsprop":
        beta2, eps = hp["beta2"], hp["eps"]
        for p, g, st in zip(params, grads, param_states):
            v = st["square_avg"]
            v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
            p.addcdiv_(g, v.sqrt().add_(eps), value=-eta_k)
        return
    if method in DRAWS:
        raise ValueError(f"{method} takes {DRAWS[method]} gradient draws per step and this update got one: use "
                         f"synthclip.torch.optim's step(closure), which draws them")
    if method not in _NORM_FAMILY:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHOD_NAMES)}")

    if method in _CLIPPED:
        grads = _global_clip(grads, clip_level(hp, k), lead)
    b_sq = group_state["b_sq"]
    b_prev = torch.sqrt(b_sq) if hp["delayed"] else None
    scaled = hp["eta"] * hp["eta"] * sq_norm(grads, lead)
    if method in ("adagrad_norm", "clip_adagrad_norm"):
        b_sq.add_(scaled)
        directions = grads
    else:
        beta1, beta2 = hp["betas"]
        b_sq.mul_(beta2).add_(scaled, alpha=1.0 - beta2)
        directions = []
        for g, st in zip(grads, param_states):
            m = st["exp_avg"]
            m.mul_(beta1).add_(g, alpha=1.0 - beta1)
            directions.append(m)
    b = b_prev if b_prev is not None else torch.sqrt(b_sq)
    for p, d in zip(params, directions):
        p.add_(d / _per_run(b, d, lead), alpha=-eta_k)


def clipped_step(params: Sequence[torch.Tensor], estimate: Sequence[torch.Tensor], hp: Mapping[str, Any], k: int,
                 lead: int = 0) -> None:
    """x_k = x_{k−1} − η_k clip(ĝ_k, τ_k): GClip's step on an estimate ĝ_k (the multi-draw methods)."""
    eta_k = step_size(hp, k)
    for p, g in zip(params, _global_clip(estimate, clip_level(hp, k), lead)):
        p.add_(g, alpha=-eta_k)
