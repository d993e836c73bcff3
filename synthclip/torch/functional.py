"""The update rules of the synthclip methods on torch tensors, shared by ``optim`` and ``ensemble``.

Each built-in method names its torch rule in its registry entry (``Method.torch``, e.g.
``"synthclip.torch.functional:GCLIP"``): a :class:`Rule` holding the update of step k on a list of parameter
tensors in place (``synthclip/methods.py`` conventions, which are the reference) and the state it keeps. A
method without one (a plugin's) has no torch-native rule: ``synthclip.torch.optimizer_for`` runs its compiled
step instead. ``lead`` is the number of leading batch dimensions that index independent runs: ``lead=0`` for a
torch optimizer (every norm is over the whole parameter group), ``lead=1`` for an ensemble of stacked
parameters (every norm is per seed, over that seed's parameters). Keeping one implementation is what makes a
1-seed ensemble equal the optimizer.

State: ``group_state`` holds the per-run scalars (b_k² of the AdaGrad/Adam-Norm family), shape
``params[0].shape[:lead]``; ``param_states`` holds one dict per parameter (momentum m, ACClip's τ^a).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .. import methods


@dataclass(frozen=True)
class Rule:
    """A method's torch form: ``update(params, grads, group_state, param_states, hp, k, lead)`` applies step k
    in place; ``group_state`` / ``param_state`` name the per-run scalars and the per-parameter tensors it keeps,
    made by ``new_group`` (like, hp, lead) and ``new_param`` (p, hp)."""

    update: Callable
    group_state: tuple = ()
    param_state: tuple = ()
    new_group: Callable | None = None
    new_param: Callable | None = None


def rule(method: str) -> Rule:
    """The torch rule the registry entry of ``method`` names (``Method.torch``); a one-line ValueError for a
    method without one (its optimizer is ``synthclip.torch.optimizer_for``'s, through its compiled step)."""
    spec = methods.get(method)
    ref = spec.torch
    if not ref:
        raise ValueError(
            f"method {spec.name!r} has no torch rule (Method.torch): synthclip.torch.optimizer_for "
            f"gives its optimizer, which runs its compiled step"
        )
    if isinstance(ref, Rule):
        return ref
    module, _, attr = ref.partition(":")
    found = getattr(importlib.import_module(module), attr, None)
    if not isinstance(found, Rule):
        raise ValueError(
            f"method {spec.name!r}: field 'torch' names {ref!r}, which is not a synthclip.torch.functional.Rule"
        )
    return found


def step_size(hp: Mapping[str, Any], k: int) -> float:
    """η_k of ``methods.step_size`` (constant, poly or Theorem 4's 4/(μ(k+1))) for step k ≥ 1."""
    return float(methods.step_size(hp, k, hp.get("mu")))


def clip_level(hp: Mapping[str, Any], k: int) -> float:
    """τ_k of ``methods.clip_level`` (constant or τ0·k^q with q possibly "alpha-1"/"1/alpha")."""
    return float(methods.clip_level(hp, k, hp.get("alpha")))


def new_group_state(method: str, like: torch.Tensor, hp: Mapping[str, Any], lead: int = 0) -> dict:
    """Fresh per-run scalars of the method's rule: b_0² = b0² for the AdaGrad/Adam-Norm family."""
    r = rule(method)
    return r.new_group(like, hp, lead) if r.new_group is not None else {}


def new_param_state(method: str, p: torch.Tensor, hp: Mapping[str, Any]) -> dict:
    """Fresh per-parameter state of the method's rule: m_0 = 0; ACClip's τ_0^a = clip^a (Algorithm 1, line 1)."""
    r = rule(method)
    return r.new_param(p, hp) if r.new_param is not None else {}


def _zeros(*names: str) -> Callable:
    def new(p: torch.Tensor, hp: Mapping[str, Any]) -> dict:
        return {name: torch.zeros_like(p, memory_format=torch.preserve_format) for name in names}

    return new


def _scale_state(like: torch.Tensor, hp: Mapping[str, Any], lead: int) -> dict:
    return {"b_sq": torch.full(like.shape[:lead], hp["b0"] * hp["b0"], dtype=like.dtype, device=like.device)}


def _acclip_state(p: torch.Tensor, hp: Mapping[str, Any]) -> dict:
    return {
        "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
        "clip_pow": torch.full_like(p, hp["clip"] ** hp["moment"], memory_format=torch.preserve_format),
    }


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
    scale = torch.where(norm > 0, eta_k / torch.where(norm > 0, norm, torch.ones_like(norm)), torch.zeros_like(norm))
    for p, d in zip(params, directions):
        p.sub_(d * _per_run(scale, d, lead))


def median_of_three(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The coordinate-wise median of three tensors, max(min(a, b), min(max(a, b), c)): the kernel's expression."""
    return torch.maximum(torch.minimum(a, b), torch.minimum(torch.maximum(a, b), c))


def smom_estimate(
    draws: Sequence[Sequence[torch.Tensor]], smoothing: Sequence[torch.Tensor] | None, blocks: int
) -> list[torch.Tensor]:
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
    """Apply step k (k = 1, 2, ...) of ``method`` in place: x_k from x_{k−1} and g_k = ``grads``, by the rule
    its registry entry names (:func:`rule`).

    Multi-draw methods (``Method.draws`` > 1) estimate g_k from several draws first (:func:`smom_estimate`) and
    then call :func:`clipped_step`; this single-gradient entry point refuses them with a one-line ValueError.

    The formulas are those of ``synthclip/methods.py``; the theorem/algorithm each follows is in
    the optimizer classes' docstrings (``synthclip.torch.optim``).
    """
    rule(method).update(params, grads, group_state, param_states, hp, k, lead)


def _sgd(params, grads, group_state, param_states, hp, k, lead) -> None:
    eta_k = step_size(hp, k)
    for p, g in zip(params, grads):
        p.add_(g, alpha=-eta_k)


def _gclip(params, grads, group_state, param_states, hp, k, lead) -> None:
    eta_k = step_size(hp, k)
    for p, g in zip(params, _global_clip(grads, clip_level(hp, k), lead)):
        p.add_(g, alpha=-eta_k)


def _cclip(params, grads, group_state, param_states, hp, k, lead) -> None:
    eta_k = step_size(hp, k)
    tau = clip_level(hp, k)
    for p, g in zip(params, grads):
        # the same min(τ/|g|, 1)·g expression as GClip so that CClip in d = 1 is GClip bit for bit
        step = g if math.isinf(tau) else g * torch.clamp(tau / g.abs(), max=1.0)
        p.add_(step, alpha=-eta_k)


def _acclip(params, grads, group_state, param_states, hp, k, lead) -> None:
    eta_k = step_size(hp, k)
    beta1, beta2 = hp["betas"]
    a, eps = hp["moment"], hp["eps"]
    for p, g, st in zip(params, grads, param_states):
        m, v = st["exp_avg"], st["clip_pow"]
        m.mul_(beta1).add_(g, alpha=1.0 - beta1)
        v.mul_(beta2).add_(g.abs().pow(a), alpha=1.0 - beta2)
        tau = v if a == 1.0 else v.pow(1.0 / a)
        p.add_(m * torch.clamp(tau / (m.abs() + eps), max=1.0), alpha=-eta_k)


def _momentum_rule(clip: bool, sign: bool) -> Callable:
    """NSGD-M (normalized step on m), its clipped-gradient form, and SignSGD-M (sign step on m)."""

    def update(params, grads, group_state, param_states, hp, k, lead) -> None:
        eta_k = step_size(hp, k)
        beta = hp["beta"]
        if clip:
            grads = _global_clip(grads, clip_level(hp, k), lead)
        directions = []
        for g, st in zip(grads, param_states):
            m = st["exp_avg"]
            m.mul_(beta).add_(g, alpha=1.0 - beta)
            directions.append(m)
        if sign:
            for p, m in zip(params, directions):
                p.add_(torch.sign(m), alpha=-eta_k)  # sign(0) = 0
        else:
            _normalized_step(params, directions, eta_k, lead)

    return update


def _rmsprop(params, grads, group_state, param_states, hp, k, lead) -> None:
    eta_k = step_size(hp, k)
    beta2, eps = hp["beta2"], hp["eps"]
    for p, g, st in zip(params, grads, param_states):
        v = st["square_avg"]
        v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
        p.addcdiv_(g, v.sqrt().add_(eps), value=-eta_k)


def _scaled_rule(clip: bool, adam: bool) -> Callable:
    """AdaGrad-Norm / Adam-Norm (adam) on g or on clip(g, τ) (clip): b² from ‖g‖², then x −= η·(g or m)/b."""

    def update(params, grads, group_state, param_states, hp, k, lead) -> None:
        eta_k = step_size(hp, k)
        if clip:
            grads = _global_clip(grads, clip_level(hp, k), lead)
        b_sq = group_state["b_sq"]
        b_prev = torch.sqrt(b_sq) if hp["delayed"] else None
        scaled = hp["eta"] * hp["eta"] * sq_norm(grads, lead)
        if not adam:
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

    return update


def _draws_rule(draws: int, name: str) -> Callable:
    def update(params, grads, group_state, param_states, hp, k, lead) -> None:
        raise ValueError(
            f"{name} takes {draws} gradient draws per step and this update got one: use "
            f"synthclip.torch.optim's step(closure), which draws them"
        )

    return update


# The rules the built-in methods name (Method.torch): the seeds' and those after them (synthclip/methods_extra.py).
SGD = Rule(_sgd)
GCLIP = Rule(_gclip)
CCLIP = Rule(_cclip)
ACCLIP = Rule(_acclip, param_state=("exp_avg", "clip_pow"), new_param=_acclip_state)
ADAGRAD_NORM = Rule(_scaled_rule(clip=False, adam=False), group_state=("b_sq",), new_group=_scale_state)
ADAM_NORM = Rule(
    _scaled_rule(clip=False, adam=True),
    group_state=("b_sq",),
    param_state=("exp_avg",),
    new_group=_scale_state,
    new_param=_zeros("exp_avg"),
)
CLIP_ADAGRAD_NORM = Rule(_scaled_rule(clip=True, adam=False), group_state=("b_sq",), new_group=_scale_state)
CLIP_ADAM_NORM = Rule(
    _scaled_rule(clip=True, adam=True),
    group_state=("b_sq",),
    param_state=("exp_avg",),
    new_group=_scale_state,
    new_param=_zeros("exp_avg"),
)
NSGD_M = Rule(_momentum_rule(clip=False, sign=False), param_state=("exp_avg",), new_param=_zeros("exp_avg"))
CLIP_NSGD_M = Rule(_momentum_rule(clip=True, sign=False), param_state=("exp_avg",), new_param=_zeros("exp_avg"))
SIGNSGD_M = Rule(_momentum_rule(clip=False, sign=True), param_state=("exp_avg",), new_param=_zeros("exp_avg"))
RMSPROP = Rule(_rmsprop, param_state=("square_avg",), new_param=_zeros("square_avg"))  # v_0 = 0
SMOM_CLIP = Rule(_draws_rule(3, "smom_clip"))  # its estimate and step: smom_estimate, clipped_step

# Views of the rules by method name, for the optimizer classes and the ensemble (read off the rules).
METHOD_NAMES = tuple(name for name, m in methods.METHODS.items() if m.torch)
DRAWS = {name: methods.get(name).draws for name in METHOD_NAMES if methods.get(name).draws > 1}
GROUP_STATE = {name: rule(name).group_state for name in METHOD_NAMES}
PARAM_STATE = {name: rule(name).param_state for name in METHOD_NAMES}


def clipped_step(
    params: Sequence[torch.Tensor], estimate: Sequence[torch.Tensor], hp: Mapping[str, Any], k: int, lead: int = 0
) -> None:
    """x_k = x_{k−1} − η_k clip(ĝ_k, τ_k): GClip's step on an estimate ĝ_k (the multi-draw methods)."""
    eta_k = step_size(hp, k)
    for p, g in zip(params, _global_clip(estimate, clip_level(hp, k), lead)):
        p.add_(g, alpha=-eta_k)
