"""The synthclip methods as ``torch.optim.Optimizer`` subclasses (docs/theory.md, "Methods and schedules").

Every class follows ``synthclip/methods.py`` exactly: steps are numbered k = 1, 2, ... (the counter
starts at 1 on the first ``step()``), η_k and τ_k come from the same schedules (``lr_schedule``
constant/poly/theorem4 with ``mu``; ``clip_schedule`` constant/poly with ``clip_power`` a number or
"alpha-1"/"1/alpha" with ``alpha``), so a float64 trajectory equals the numba engine's. The update math
lives in :mod:`synthclip.torch.functional`, shared with the vmap ensemble.

Torch conventions: hyper-parameters in ``defaults`` and in each param group, validated (also for groups
added later) with a ``ValueError`` such as ``Invalid clipping level: -1.0``; ``step(closure=None)``
returns the closure's loss; norms ("global" clipping, b_k) are over all parameters of one group that
have a gradient; sparse gradients raise ``RuntimeError``. Per-group scalars (b_k², the step counter k)
are kept in the state of the group's first parameter, so ``state_dict``/``load_state_dict`` carry them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from .. import methods
from . import functional as F

__all__ = [
    "SGDRef",
    "GClip",
    "CClip",
    "ACClip",
    "AdaGradNorm",
    "AdamNorm",
    "ClipAdaGradNorm",
    "ClipAdamNorm",
    "NSGDM",
    "ClipNSGDM",
    "SignSGDM",
    "RMSProp",
    "SMoMClip",
    "SeedAdam",
    "OPTIMIZERS",
    "from_method",
    "method_kwargs",
    "optimizer_for",
    "StepOptimizer",
    "method_checks",
]


# ---------------------------------------------------------------------------------------------- checks
def _positive(value: Any, what: str, allow_inf: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {what}: {value!r}") from None
    # "not x > 0" also rejects NaN
    if not x > 0.0 or (math.isinf(x) and not allow_inf):
        raise ValueError(f"Invalid {what}: {value}")
    return x


def _nonnegative(value: Any, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {what}: {value!r}") from None
    if not (x >= 0.0 and math.isfinite(x)):
        raise ValueError(f"Invalid {what}: {value}")
    return x


def _choice(value: Any, what: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"Invalid {what}: {value!r} (valid: {', '.join(choices)})")
    return value


def _betas(value: Any, params: tuple = ()) -> tuple[float, float]:
    """torch's pair (beta1, beta2), each in [0, 1) or in the range of its ``Param`` (``params``)."""
    try:
        b1, b2 = value
    except (TypeError, ValueError):
        raise ValueError(f"Invalid betas: {value!r} (need a pair (beta1, beta2))") from None
    out = []
    for i, b in enumerate((b1, b2)):
        x = float(b)
        ok = (0.0 <= x < 1.0) if not params else _in_range(params[i], x)
        if not ok:
            raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        out.append(x)
    return out[0], out[1]


def _in_range(param, x: float) -> bool:
    try:
        param.check(x)
    except ValueError:
        return False
    return True


def _bool(value: Any, what: str) -> bool:
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    raise ValueError(f"Invalid {what}: {value!r} (need True or False)")


# torch.optim's words for a parameter in "Invalid <words>: <value>"; any other parameter is "<name> value"
_WORDS = {
    "lr": "learning rate",
    "clip": "clipping level",
    "eps": "epsilon value",
    "lr_schedule": "lr_schedule",
    "lr_power": "lr_power",
    "clip_schedule": "clip_schedule",
    "clip_power": "clip_power",
    "delayed": "delayed",
}


def _checked(param, value: Any) -> Any:
    """``value`` checked against the method's ``Param`` (its range is the registry's), in torch.optim's words."""
    what = _WORDS.get(param.name, f"{param.name} value")
    if param.kind == "bool":
        return _bool(value, what)  # strict: torch takes no strings for a flag
    if param.kind == "choice":
        return _choice(value, what, param.choices)
    if isinstance(value, str) and value in param.aliases:
        return value
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {what}: {value!r}") from None
    try:
        param.check(x)
    except ValueError:
        raise ValueError(f"Invalid {what}: {value}") from None
    return x


def method_checks(name: str) -> Callable[[dict], None]:
    """The group check of method ``name``'s torch class, derived from its registry entry: every parameter of
    the entry against its declared range (beta1 and beta2 as torch's pair ``betas``), then what torch adds:
    ``mu`` for Theorem 4's step, ``alpha`` for a clip-power alias, ``clip_power`` None for a constant clip."""
    spec = methods.get(name)
    declared = {q.name: q for q in spec.params}
    pair = "beta1" in declared and "beta2" in declared

    def check(group: dict) -> None:
        for q in spec.params:
            if pair and q.name in ("beta1", "beta2"):
                if q.name == "beta1":
                    group["betas"] = _betas(group["betas"], (declared["beta1"], declared["beta2"]))
                continue
            if q.name == "clip_power" and group[q.name] is None:
                continue  # torch's default: no schedule power (refused below when the schedule needs one)
            group[q.name] = _checked(q, group[q.name])
        if "lr_schedule" in declared:  # mu belongs to the problem; torch's group carries it
            if group["mu"] is not None:
                group["mu"] = _positive(group["mu"], "mu (strong convexity)")
            elif group["lr_schedule"] == "theorem4":
                raise ValueError("Invalid mu: None (lr_schedule='theorem4' steps with 4/(mu (k+1)) and needs mu > 0)")
        if "clip_schedule" in declared:
            if group["alpha"] is not None:
                group["alpha"] = _positive(group["alpha"], "alpha (noise tail index)")
            power = group["clip_power"]
            if power is None:
                if group["clip_schedule"] == "poly":
                    raise ValueError("Invalid clip_power: None (clip_schedule='poly' needs clip_power)")
            elif power in methods.CLIP_POWER_ALIASES and group["alpha"] is None:
                raise ValueError(f"Invalid clip_power: {power!r} needs alpha (the noise tail index)")

    return check


# ------------------------------------------------------------------------------------------ base classes
class _CheckedOptimizer(Optimizer):
    """Validates the defaults and every param group with the class's ``_checks``."""

    _checks: tuple[Callable[[dict], None], ...] = ()

    def __init__(self, params, defaults: dict):
        self._check_group(dict(defaults))  # fail on bad defaults even before params are looked at
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        for check in self._checks:
            check(group)

    def add_param_group(self, param_group: dict) -> None:
        # groups may override defaults, so every group is validated, not only the defaults; validated
        # before torch appends it, so a rejected group never stays in param_groups
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = {**self.defaults, **param_group}
        self._check_group(group)
        super().add_param_group(group)

    @staticmethod
    def _closure_loss(closure: Callable[[], Any] | None):
        """The closure's loss, evaluated with gradients on (None without a closure)."""
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()


class _MethodOptimizer(_CheckedOptimizer):
    """A synthclip method (``method`` names its ``synthclip.methods`` entry) as a torch optimizer."""

    method: str = ""

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None):
        """Performs step k (k = 1 on the first call) and returns the closure's loss, if any."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params, grads = [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                params.append(p)
                grads.append(p.grad)
            if not params:
                continue
            owner = self.state[group["params"][0]]
            if "step" not in owner:
                owner["step"] = 0
                owner.update(F.new_group_state(self.method, params[0], group))
            param_states = []
            for p in params:
                st = self.state[p]
                if not all(name in st for name in F.PARAM_STATE[self.method]):
                    st.update(F.new_param_state(self.method, p, group))
                param_states.append(st)
            k = owner["step"] + 1
            if group.get("eta") == methods.ETA_IS_LR:  # read at each step: an lr scheduler moves γ too
                group = {**group, "eta": methods.resolve_eta(group)}
            self._update(params, grads, owner, param_states, group, k)
            owner["step"] = k
        return loss

    def _update(self, params, grads, owner, param_states, group, k) -> None:
        """Step k of the method on one group (``group`` with eta="lr" already resolved to γ)."""
        F.update(self.method, params, grads, owner, param_states, group, k)


def _lr_defaults(lr, lr_schedule, lr_power, mu) -> dict:
    return dict(lr=lr, lr_schedule=lr_schedule, lr_power=lr_power, mu=mu)


def _clip_defaults(clip, clip_schedule, clip_power, alpha) -> dict:
    return dict(clip=clip, clip_schedule=clip_schedule, clip_power=clip_power, alpha=alpha)


# ------------------------------------------------------------------------------------------ SGD family
class SGDRef(_MethodOptimizer):
    """Plain SGD, x_k = x_{k−1} − η_k g_k, with synthclip's step schedules (η_k = 4/(μ(k+1)) is Theorem 4's).

    With ``lr_schedule="constant"`` it is ``torch.optim.SGD`` without momentum; it exists so the "sgd"
    method has the same schedules and step counter as the others.
    """

    method = "sgd"
    _checks = (method_checks(method),)

    def __init__(
        self, params, lr: float = 1e-3, *, lr_schedule: str = "constant", lr_power: float = 1.0, mu: float | None = None
    ):
        super().__init__(params, _lr_defaults(lr, lr_schedule, lr_power, mu))


def _check_sgd_options(group: dict) -> None:
    """momentum, dampening, nesterov and weight_decay with torch.optim.SGD's rules and messages."""
    group["momentum"] = _nonnegative(group["momentum"], "momentum value")
    try:
        group["dampening"] = float(group["dampening"])
    except (TypeError, ValueError):
        raise ValueError(f"Invalid dampening value: {group['dampening']!r}") from None
    if not math.isfinite(group["dampening"]):
        raise ValueError(f"Invalid dampening value: {group['dampening']}")
    group["weight_decay"] = _nonnegative(group["weight_decay"], "weight_decay value")
    group["nesterov"] = _bool(group["nesterov"], "nesterov")
    if group["nesterov"] and (group["momentum"] <= 0.0 or group["dampening"] != 0.0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")


class GClip(_MethodOptimizer):
    """Global-norm clipped SGD: x_k = x_{k−1} − η_k min(τ_k/‖g_k‖, 1) g_k (Zhang et al., Theorems 2 and 4).

    ‖g_k‖ is the norm over all parameters of the param group. ``clip=inf`` is SGD bit for bit. The
    clip schedule τ_k = clip·k^q with q = "alpha-1" is Theorem 4/8 as printed; "1/alpha" is the
    bias–variance balance of the proof. The projection of proj-GClip belongs to the problem, not here.

    ``momentum``, ``dampening``, ``nesterov`` and ``weight_decay`` are those of ``torch.optim.SGD``, applied
    the way clipping is used in practice (clip the gradient, then let SGD with momentum step on it):

        d_k = clip(g_k + weight_decay·x_{k−1}, τ_k)      (weight decay is part of the clipped gradient,
                                                          where torch.optim.SGD adds it)
        m_k = d_k (k = 1),  momentum·m_{k−1} + (1 − dampening)·d_k (k > 1)   (the buffer of *clipped* steps)
        x_k = x_{k−1} − η_k (d_k + momentum·m_k if nesterov else m_k)   (m_k = d_k when momentum = 0)

    With ``clip=inf`` this is ``torch.optim.SGD`` with the same settings; with the defaults (all 0) it is
    the method of ``synthclip.methods`` that the engine runs. The buffer is ``state[p]["momentum_buffer"]``.
    """

    method = "gclip"
    _checks = (method_checks(method), _check_sgd_options)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        clip: float = 1.0,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
        clip_schedule: str = "constant",
        clip_power: Any = None,
        alpha: float | None = None,
    ):
        super().__init__(
            params,
            {
                **_lr_defaults(lr, lr_schedule, lr_power, mu),
                **_clip_defaults(clip, clip_schedule, clip_power, alpha),
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
            },
        )

    @staticmethod
    def _clipped(grads: list, tau: float) -> list:
        """clip(g, τ) over the group: one global norm."""
        return F._global_clip(grads, tau, 0)

    def _update(self, params, grads, owner, param_states, group, k) -> None:
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        if momentum == 0.0 and weight_decay == 0.0:
            # the registry's method: the shared update, so the engine-equality tests cover this path
            F.update(self.method, params, grads, owner, param_states, group, k)
            return
        if weight_decay != 0.0:
            grads = [g.add(p, alpha=weight_decay) for p, g in zip(params, grads)]
        steps = self._clipped(grads, F.clip_level(group, k))
        eta_k = F.step_size(group, k)
        for p, d in zip(params, steps):
            if momentum != 0.0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = torch.clone(d).detach()
                else:
                    buf.mul_(momentum).add_(d, alpha=1.0 - group["dampening"])
                d = d.add(buf, alpha=momentum) if group["nesterov"] else buf
            p.add_(d, alpha=-eta_k)


class CClip(GClip):
    """Coordinate-wise clipped SGD: x_{k,i} = x_{k−1,i} − η_k min(τ_k/|g_{k,i}|, 1) g_{k,i} (Theorem 8).

    Same arguments and schedules as :class:`GClip` (momentum and weight decay included, with d_k the
    coordinate-wise clipped g_k + weight_decay·x_{k−1}); on a single coordinate it is GClip bit for bit.
    """

    method = "cclip"
    _checks = (method_checks(method), _check_sgd_options)

    @staticmethod
    def _clipped(grads: list, tau: float) -> list:
        """min(τ/|g_i|, 1)·g_i per coordinate: the expression of ``functional.update``'s cclip branch."""
        if math.isinf(tau):
            return list(grads)
        return [g * torch.clamp(tau / g.abs(), max=1.0) for g in grads]


class ACClip(_MethodOptimizer):
    """Adaptive coordinate-wise clipping, Algorithm 1 of Zhang et al. (paper defaults).

    m_k = β1 m_{k−1} + (1−β1) g_k ; τ_k^a = β2 τ_{k−1}^a + (1−β2)|g_k|^a (coordinate-wise, a = ``moment``,
    the paper's α) ; x_k = x_{k−1} − η_k min(τ_k/(|m_k|+ε), 1) m_k, with m_0 = 0 and τ_0 = ``clip``.
    Defaults lr=1e-4, betas=(0.9, 0.99), eps=1e-5, moment=1, clip (τ0)=1 are the paper's.
    """

    method = "acclip"

    def __init__(
        self,
        params,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        eps: float = 1e-5,
        clip: float = 1.0,
        moment: float = 1.0,
        *,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
    ):
        super().__init__(
            params,
            {**_lr_defaults(lr, lr_schedule, lr_power, mu), "betas": betas, "eps": eps, "clip": clip, "moment": moment},
        )

    _checks = (method_checks(method),)


# ------------------------------------------------------------------------------ AdaGrad/Adam-Norm family
class AdaGradNorm(_MethodOptimizer):
    """AdaGrad-Norm (Chezhegov et al.): b_k² = b_{k−1}² + eta²‖g_k‖² ; x_k = x_{k−1} − η_k g_k / b_k.

    ``delayed=True`` divides by b_{k−1} (the scale before g_k is seen, the delayed method of Chezhegov
    et al.); ``eta`` is a number or "lr" (the seed notebook's b_k² += γ²‖g_k‖², γ the group's current lr):
    the mapping to the seeds' names is in ``synthclip/methods.py``. b_0 = ``b0``. The norm is over the param group.
    """

    method = "adagrad_norm"
    _checks = (method_checks(method),)

    def __init__(
        self,
        params,
        lr: float = 1.0,
        b0: float = 1.0,
        *,
        eta: float = 1.0,
        delayed: bool = False,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
    ):
        super().__init__(
            params, {**_lr_defaults(lr, lr_schedule, lr_power, mu), "b0": b0, "eta": eta, "delayed": delayed}
        )


class AdamNorm(_MethodOptimizer):
    """Adam-Norm (Chezhegov et al.): m_k = β1 m_{k−1} + (1−β1) g_k ; b_k² = β2 b_{k−1}² + (1−β2) eta²‖g_k‖² ;
    x_k = x_{k−1} − η_k m_k / b_k (no bias correction; ``delayed`` divides by b_{k−1})."""

    method = "adam_norm"
    _checks = (method_checks(method),)

    def __init__(
        self,
        params,
        lr: float = 1.0,
        betas: tuple[float, float] = (0.9, 0.999),
        b0: float = 1.0,
        *,
        eta: float = 1.0,
        delayed: bool = False,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
    ):
        super().__init__(
            params,
            {**_lr_defaults(lr, lr_schedule, lr_power, mu), "betas": betas, "b0": b0, "eta": eta, "delayed": delayed},
        )


class ClipAdaGradNorm(_MethodOptimizer):
    """Clip-AdaGrad-Norm (Chezhegov et al.): :class:`AdaGradNorm` on clip(g_k, λ) = min(λ/‖g_k‖, 1) g_k.

    ``clip`` is λ (with the clip schedule of :class:`GClip`); ``clip=inf`` is AdaGrad-Norm bit for bit.
    """

    method = "clip_adagrad_norm"
    _checks = (method_checks(method),)

    def __init__(
        self,
        params,
        lr: float = 1.0,
        clip: float = 1.0,
        b0: float = 1.0,
        *,
        eta: float = 1.0,
        delayed: bool = False,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
        clip_schedule: str = "constant",
        clip_power: Any = None,
        alpha: float | None = None,
    ):
        super().__init__(
            params,
            {
                **_lr_defaults(lr, lr_schedule, lr_power, mu),
                **_clip_defaults(clip, clip_schedule, clip_power, alpha),
                "b0": b0,
                "eta": eta,
                "delayed": delayed,
            },
        )


class ClipAdamNorm(_MethodOptimizer):
    """Clip-Adam-Norm (Chezhegov et al.): :class:`AdamNorm` on clip(g_k, λ); both m_k and b_k see the
    clipped gradient. ``clip=inf`` is Adam-Norm bit for bit."""

    method = "clip_adam_norm"
    _checks = (method_checks(method),)

    def __init__(
        self,
        params,
        lr: float = 1.0,
        betas: tuple[float, float] = (0.9, 0.999),
        clip: float = 1.0,
        b0: float = 1.0,
        *,
        eta: float = 1.0,
        delayed: bool = False,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
        clip_schedule: str = "constant",
        clip_power: Any = None,
        alpha: float | None = None,
    ):
        super().__init__(
            params,
            {
                **_lr_defaults(lr, lr_schedule, lr_power, mu),
                **_clip_defaults(clip, clip_schedule, clip_power, alpha),
                "betas": betas,
                "b0": b0,
                "eta": eta,
                "delayed": delayed,
            },
        )


# ------------------------------------------------------------------- the methods after the seeds (docs/theory.md)
class NSGDM(_MethodOptimizer):
    """Normalized SGD with momentum (Cutkosky & Mehta 2020; without clipping under heavy tails, Liu & Zhou,
    ICLR 2025): m_k = β m_{k−1} + (1−β) g_k ; x_k = x_{k−1} − η_k m_k/‖m_k‖ (m_0 = 0; x stays when m_k = 0).

    ‖m_k‖ is over the param group. Liu & Zhou start from m_1 = g_1, which differs only in the weight of g_1.
    """

    method = "nsgd_m"
    _checks = (method_checks(method),)

    def __init__(
        self,
        params,
        lr: float = 0.01,
        beta: float = 0.9,
        *,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
    ):
        super().__init__(params, {**_lr_defaults(lr, lr_schedule, lr_power, mu), "beta": beta})


class ClipNSGDM(_MethodOptimizer):
    """Normalized SGD with momentum of clipped gradients (Cutkosky & Mehta, NeurIPS 2021):
    m_k = β m_{k−1} + (1−β) clip(g_k, τ_k) ; x_k = x_{k−1} − η_k m_k/‖m_k‖, clip(g, τ) = min(τ/‖g‖, 1) g over the
    group, τ_k of :class:`GClip`'s schedules. ``clip=inf`` is :class:`NSGDM` bit for bit."""

    method = "clip_nsgd_m"
    _checks = (method_checks(method),)

    def __init__(
        self,
        params,
        lr: float = 0.01,
        beta: float = 0.9,
        clip: float = 1.0,
        *,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
        clip_schedule: str = "constant",
        clip_power: Any = None,
        alpha: float | None = None,
    ):
        super().__init__(
            params,
            {
                **_lr_defaults(lr, lr_schedule, lr_power, mu),
                **_clip_defaults(clip, clip_schedule, clip_power, alpha),
                "beta": beta,
            },
        )


class SignSGDM(_MethodOptimizer):
    """SignSGD with momentum (Kornilov et al. 2025): m_k = β m_{k−1} + (1−β) g_k ; x_k = x_{k−1} − η_k sign(m_k),
    coordinate-wise, sign(0) = 0, m_0 = 0."""

    method = "signsgd_m"
    _checks = (method_checks(method),)

    def __init__(
        self,
        params,
        lr: float = 0.01,
        beta: float = 0.9,
        *,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
    ):
        super().__init__(params, {**_lr_defaults(lr, lr_schedule, lr_power, mu), "beta": beta})


class RMSProp(_MethodOptimizer):
    """RMSProp in the form of the seed's Discussion: x_k = x_{k−1} − η_k g_k/(ε + √(β2 v_{k−1} + (1−β2) g_k²)),
    v_k = β2 v_{k−1} + (1−β2) g_k², coordinate-wise, v_0 = 0, no bias correction.

    That is ``torch.optim.RMSprop`` without momentum or centering (its ``alpha`` is β2 here; ``alpha`` in
    synthclip names the noise's tail index). Defaults are torch's: lr=0.01, beta2=0.99, eps=1e−8.
    """

    method = "rmsprop"
    _checks = (method_checks(method),)

    def __init__(
        self,
        params,
        lr: float = 0.01,
        beta2: float = 0.99,
        eps: float = 1e-8,
        *,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
    ):
        super().__init__(params, {**_lr_defaults(lr, lr_schedule, lr_power, mu), "beta2": beta2, "eps": eps})


def _check_smom(group: dict) -> None:
    for name in ("blocks", "block_size"):
        value = group[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Invalid {name}: {value!r} (need an integer >= 1)")
    if group["blocks"] % 2 == 0:
        raise ValueError(f"Invalid blocks: {group['blocks']} (need an odd number: the median is one block)")
    group["smoothing"] = _nonnegative(group["smoothing"], "smoothing")


class SMoMClip(_MethodOptimizer):
    """Clipped SGD on a smoothed median of means (Puchkin, Gorbunov, Kutuzov, Gasnikov, AISTATS 2024):
    ĝ_k = the coordinate-wise median over ``blocks`` (= 2m+1) of the block means of ``block_size`` draws each,
    every mean shifted by θ·N(0, I) (θ = ``smoothing``); x_k = x_{k−1} − η_k clip(ĝ_k, τ_k) (GClip's schedules).

    The draws: ``step(closure)`` calls the closure blocks·block_size times; each call must compute a *fresh*
    stochastic gradient (a new minibatch) into ``.grad`` with ``backward()`` (``.grad`` is cleared before each
    call); the step returns the first call's loss. With one draw (blocks = block_size = 1) ``step()`` may also
    use the ``.grad`` already there. Defaults follow :class:`GClip`'s (constant schedules; ``from_method``
    gives the registry's: Theorem 4's step and τ_k = τ0 k^(α−1)). The smoothing draws come from ``generator`` (a ``torch.Generator``; the
    default generator if None). The engine's ``smom_clip`` is blocks = 3, block_size = 1, smoothing = 0 (the
    median of three draws): the contract hands a step its gradient draws only, so the kernel has no smoothing.
    """

    method = "smom_clip"
    _checks = (method_checks(method), _check_smom)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        clip: float = 1.0,
        blocks: int = 3,
        block_size: int = 1,
        smoothing: float = 0.0,
        *,
        lr_schedule: str = "constant",
        lr_power: float = 1.0,
        mu: float | None = None,
        clip_schedule: str = "constant",
        clip_power: Any = None,
        alpha: float | None = None,
        generator: torch.Generator | None = None,
    ):
        self._generator = generator  # kept out of the groups: state_dict must stay copyable
        super().__init__(
            params,
            {
                **_lr_defaults(lr, lr_schedule, lr_power, mu),
                **_clip_defaults(clip, clip_schedule, clip_power, alpha),
                "blocks": blocks,
                "block_size": block_size,
                "smoothing": smoothing,
            },
        )

    def _draw(self, closure: Callable[[], Any] | None, n: int):
        """n gradient draws of every parameter with a gradient: (first loss, {param: [grad_1, ..., grad_n]})."""
        every = [p for group in self.param_groups for p in group["params"]]
        if closure is None:
            if n != 1:
                raise RuntimeError(
                    f"{type(self).__name__} takes {n} gradient draws per step: pass a closure that "
                    f"computes a fresh stochastic gradient (step(closure))"
                )
            return None, {p: [p.grad] for p in every if p.grad is not None}
        first, draws = None, {}
        for r in range(n):
            for p in every:
                p.grad = None
            with torch.enable_grad():
                loss = closure()
            first = loss if r == 0 else first
            for p in every:
                if p.grad is not None:
                    if p.grad.is_sparse:
                        raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                    draws.setdefault(p, []).append(p.grad.detach().clone())
        return first, draws

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None):
        """Performs step k with blocks·block_size gradient draws (module docstring); returns the first loss."""
        n = max(g["blocks"] * g["block_size"] for g in self.param_groups)
        loss, draws = self._draw(closure, n)
        for group in self.param_groups:
            need = group["blocks"] * group["block_size"]
            params = [p for p in group["params"] if p in draws and len(draws[p]) >= need]
            if not params:
                continue
            for p in params:
                if draws[p][0].is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
            owner = self.state[group["params"][0]]
            k = owner.get("step", 0) + 1
            per_draw = [[draws[p][r] for p in params] for r in range(need)]
            smoothing = None
            if group["smoothing"] > 0.0:
                smoothing = [
                    [
                        group["smoothing"]
                        * torch.randn(p.shape, generator=self._generator, dtype=p.dtype, device=p.device)
                        for _ in range(group["blocks"])
                    ]
                    for p in params
                ]
            estimate = F.smom_estimate(per_draw, smoothing, group["blocks"])
            F.clipped_step(params, estimate, group, k)
            owner["step"] = k
        return loss


# ------------------------------------------------------------------------------------- the seed's Adam
class SeedAdam(_CheckedOptimizer):
    """The Adam of the seed project (Chezhegov et al.'s code, ``AdamClip`` and ``AdamClip_Delayed_Etta``),
    re-implemented for comparison with its published runs.

    Per parameter tensor, the gradient is first clipped: ``clipping="local"`` scales it by
    min(1, c/(‖g‖+1e−6)) (the seed calls ``clip_grad_norm_`` per tensor, hence its 1e−6), ``"elementwise"``
    clamps every coordinate to [−c, c], ``"no"`` leaves it; c = ``max_grad_norm``. Then coordinate-wise Adam:
    m = β1 m + (1−β1) g ; v = β2 v + (1−β2) g² ; x ← x − lr·s·m/(√v + eps), s = √(1−β2^t)/(1−β1^t) if
    ``correct_bias`` else 1 ; finally, if ``weight_decay`` > 0, x ← x − lr·weight_decay·x (after the step,
    as in the seed).

    ``delayed=True`` is the seed's delayed variant: v starts at ``exp_avg_sq_value`` and accumulates
    (1−β2)·etta·g_{t−1}² (the previous clipped gradient, so the step does not see g_t in its scale); etta
    multiplies g² unsquared, so it is eta² in the notation of ``synthclip/methods.py``.
    ``correct_bias=None`` takes the seed's default for the variant: True, or False when delayed. Unlike
    the seed, ``p.grad`` is not modified and the previous gradient is stored as a copy (the seed keeps a
    reference to the gradient tensor, which an in-place ``zero_grad`` would overwrite).
    """

    CLIPPINGS = ("no", "local", "elementwise")

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        correct_bias: bool | None = None,
        clipping: str = "no",
        max_grad_norm: float = 1.0,
        *,
        delayed: bool = False,
        exp_avg_sq_value: float = 1e-5,
        etta: float = 1.0,
    ):
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            correct_bias=correct_bias,
            clipping=clipping,
            max_grad_norm=max_grad_norm,
            delayed=delayed,
            exp_avg_sq_value=exp_avg_sq_value,
            etta=etta,
        )
        super().__init__(params, defaults)

    @staticmethod
    def _check_seed_group(group: dict) -> None:
        group["lr"] = _nonnegative(group["lr"], "learning rate")
        group["betas"] = _betas(group["betas"])
        group["eps"] = _nonnegative(group["eps"], "epsilon value")
        group["weight_decay"] = _nonnegative(group["weight_decay"], "weight_decay value")
        group["clipping"] = _choice(group["clipping"], "clipping", SeedAdam.CLIPPINGS)
        group["max_grad_norm"] = _positive(group["max_grad_norm"], "clipping level", allow_inf=True)
        group["delayed"] = _bool(group["delayed"], "delayed")
        group["exp_avg_sq_value"] = _nonnegative(group["exp_avg_sq_value"], "exp_avg_sq_value")
        group["etta"] = _positive(group["etta"], "etta value")
        if group["correct_bias"] is None:
            group["correct_bias"] = not group["delayed"]
        group["correct_bias"] = _bool(group["correct_bias"], "correct_bias")

    _checks = (_check_seed_group,)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None):
        """One Adam step (t counts from 1 per parameter, as in the seed); returns the closure's loss."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            c = group["max_grad_norm"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("SeedAdam does not support sparse gradients")
                g = p.grad
                if group["clipping"] == "local":
                    g = g * torch.clamp(c / (torch.linalg.vector_norm(g) + 1e-6), max=1.0)
                elif group["clipping"] == "elementwise":
                    g = g.clamp(-c, c)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    if group["delayed"]:
                        state["exp_avg_sq"] = torch.full_like(p, group["exp_avg_sq_value"])
                        state["prev_grad"] = torch.zeros_like(p)
                    else:
                        state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1.0 - beta1)
                if group["delayed"]:
                    prev = state["prev_grad"]
                    v.mul_(beta2).addcmul_(prev, prev, value=(1.0 - beta2) * group["etta"])
                    prev.copy_(g)
                else:
                    v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
                step = group["lr"]
                if group["correct_bias"]:
                    step = step * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
                p.addcdiv_(m, v.sqrt().add_(group["eps"]), value=-step)
                if group["weight_decay"] > 0.0:
                    p.add_(p, alpha=-group["lr"] * group["weight_decay"])
        return loss


# -------------------------------------------------------------------------------------------- registry
OPTIMIZERS: dict[str, type] = {
    "sgd": SGDRef,
    "gclip": GClip,
    "cclip": CClip,
    "acclip": ACClip,
    "adagrad_norm": AdaGradNorm,
    "adam_norm": AdamNorm,
    "clip_adagrad_norm": ClipAdaGradNorm,
    "clip_adam_norm": ClipAdamNorm,
    "nsgd_m": NSGDM,
    "clip_nsgd_m": ClipNSGDM,
    "signsgd_m": SignSGDM,
    "rmsprop": RMSProp,
    "smom_clip": SMoMClip,
}


def method_kwargs(name: str, *, mu: float | None = None, alpha: float | None = None, **method_params) -> dict:
    """Constructor keywords of ``optimizer_for(name)`` for synthclip method parameters.

    ``method_params`` have the names and defaults of ``synthclip.methods.METHODS[name].params`` and are
    validated there (one-line ValueError); for a class of ``OPTIMIZERS`` beta1/beta2 become ``betas``. ``mu``
    (Theorem 4's step) and ``alpha`` (the "alpha-1"/"1/alpha" clip powers) belong to the problem and noise, so
    they are separate.
    """
    spec = methods.get(name)
    kwargs = spec.validate(method_params, "method")
    if spec.name not in OPTIMIZERS:  # a compiled-step optimizer takes the registry's names as they are
        return {**kwargs, "mu": mu, "alpha": alpha}
    if "eta" in kwargs:
        # γ as a number: the vmap ensemble hands these defaults to functional.update unresolved
        kwargs["eta"] = methods.resolve_eta(kwargs)
    if "beta1" in kwargs and "beta2" in kwargs:  # a pair is torch's betas; a lone beta2 (RMSProp) stays
        kwargs["betas"] = (kwargs.pop("beta1"), kwargs.pop("beta2"))
    kwargs["mu"] = mu
    if "clip_schedule" in kwargs:
        kwargs["alpha"] = alpha  # methods without a clip schedule ignore alpha
    return kwargs


def from_method(
    name: str, params, *, mu: float | None = None, alpha: float | None = None, **method_params
) -> Optimizer:
    """The torch optimizer of synthclip method ``name`` (defaults of ``synthclip.methods``) over ``params``:
    its class of ``OPTIMIZERS``, or for a method without one (a plugin's) the class ``optimizer_for`` makes.

    >>> opt = from_method("gclip", model.parameters(), mu=1.0, alpha=1.5)   # Theorem 4's schedules
    """
    spec = methods.get(name)
    return optimizer_for(spec)(params, **method_kwargs(spec.name, mu=mu, alpha=alpha, **method_params))


# ------------------------------------------------------------------------ any registered method: its compiled step
def optimizer_for(method) -> type:
    """The ``torch.optim.Optimizer`` class of a registered method (a ``Method`` or its name).

    A built-in method gets its class of ``OPTIMIZERS`` (torch-native updates). Any other method (a plugin's,
    the day it is registered) gets a :class:`StepOptimizer` subclass made from its registry entry: its
    parameters with their defaults and ranges (the registry's one-line messages), and its update, the method's
    own ``step`` compiled by numba as the engine compiles it, so a float64 trajectory equals the engine's.
    """
    spec = methods.get(method.name if isinstance(method, methods.Method) else method)
    if isinstance(method, methods.Method) and method is not spec and method != spec:
        raise ValueError(f"method {method.name!r} is not the registered one of that name: register it first")
    if spec.name in OPTIMIZERS and OPTIMIZERS[spec.name].method == spec.name and spec.torch:
        return OPTIMIZERS[spec.name]
    from .._engine import kernel_key

    key = (spec.name, kernel_key(spec))
    cls = _STEP_CLASSES.get(key)
    if cls is None:
        name = "".join(part.capitalize() for part in spec.name.split("_")) + "Optimizer"
        cls = type(
            name,
            (StepOptimizer,),
            {
                "method": spec.name,
                "entry": spec,
                "__doc__": f"{spec.doc} (synthclip method {spec.name!r}, its compiled step).",
            },
        )
        _STEP_CLASSES[key] = cls
    return cls


_STEP_CLASSES: dict[tuple[str, str], type] = {}


class StepOptimizer(_CheckedOptimizer):
    """A registered method as a torch optimizer through its compiled ``step`` (``optimizer_for`` makes the
    subclass of each method; ``entry`` is its registry entry).

    Keywords: the method's parameters by their registry names and defaults, ``mu`` (Theorem 4's step) and
    ``alpha`` (the "alpha-1"/"1/alpha" clip powers); bad values are the registry's one-line ValueErrors. At step
    k (k = 1 on the first call) the group's parameters with a gradient are one vector x (their flattened
    concatenation, in float64 on the CPU), the gradients g, and the method's state (its ``vectors`` per
    parameter, its ``scalars`` per group, in the optimizer's state, so ``state_dict`` carries them) are handed
    to the compiled step with η_k and τ_k of the shared schedules; norms are over the group. A method of several
    gradient draws per step calls ``step(closure)``'s closure that many times (each a fresh stochastic gradient
    into ``.grad``). ``clips`` in the group's state counts the method's clips.
    """

    method: str = ""
    entry: Any = None

    def __init__(self, params, *, mu: float | None = None, alpha: float | None = None, **method_params):
        self._compiled = None
        super().__init__(params, {**self.entry.defaults, **method_params, "mu": mu, "alpha": alpha})

    def _check_group(self, group: dict) -> None:
        spec = self.entry
        values = spec.validate({k: group[k] for k in spec.defaults}, "method")  # the registry's own messages
        group.update(values)
        for key in ("mu", "alpha"):
            if group[key] is not None:
                group[key] = _positive(
                    group[key], "mu (strong convexity)" if key == "mu" else "alpha (noise tail index)"
                )
        if group.get("lr_schedule") == "theorem4" and group["mu"] is None:
            raise ValueError(f"method {spec.name!r}: lr_schedule='theorem4' steps with 4/(mu (k+1)) and needs mu > 0")
        if group.get("clip_power") in methods.CLIP_POWER_ALIASES and group["alpha"] is None:
            raise ValueError(
                f"method {spec.name!r}: clip_power={group['clip_power']!r} needs alpha (the noise tail index)"
            )

    def _draw(self, closure, n: int):
        """(first loss, {param: [grad_1, ..., grad_n]}) over every parameter with a gradient."""
        every = [p for group in self.param_groups for p in group["params"]]
        if n == 1:
            loss = self._closure_loss(closure)
            return loss, {p: [p.grad] for p in every if p.grad is not None}
        if closure is None:
            raise RuntimeError(
                f"{type(self).__name__} takes {n} gradient draws per step: pass a closure that "
                f"computes a fresh stochastic gradient (step(closure))"
            )
        first, draws = None, {}
        for r in range(n):
            for p in every:
                p.grad = None
            with torch.enable_grad():
                loss = closure()
            first = loss if r == 0 else first
            for p in every:
                if p.grad is not None:
                    draws.setdefault(p, []).append(p.grad.detach().clone())
        return first, draws

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None):
        """Performs step k of the method (its compiled step) and returns the closure's (first) loss, if any."""
        import numpy as np

        from .._engine import compiled_step

        spec = self.entry
        if self._compiled is None:
            self._compiled = compiled_step(spec)
        init, step = self._compiled
        loss, draws = self._draw(closure, spec.draws)
        for group in self.param_groups:
            params = [p for p in group["params"] if p in draws and len(draws[p]) == spec.draws]
            if not params:
                continue
            for p in params:
                if draws[p][0].is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
            owner = self.state[group["params"][0]]
            k = owner.get("step", 0) + 1
            alpha = group["alpha"] if group["alpha"] is not None else math.nan  # read only by clip-power aliases
            values = {name: group[name] for name in spec.defaults}
            pv = methods.kernel_params(spec, values, alpha)
            sizes = [p.numel() for p in params]
            d = sum(sizes)
            flat = lambda ts: torch.cat([t.detach().reshape(-1).to("cpu", torch.float64) for t in ts])  # noqa: E731
            x = np.ascontiguousarray(flat(params).numpy().reshape(d, 1))
            g = np.stack([flat([draws[p][r] for p in params]).numpy().reshape(d, 1) for r in range(spec.draws)])
            g = np.ascontiguousarray(g[0] if spec.draws == 1 else g)
            vectors, scalars = self._state(spec, init, pv, owner, params, sizes)
            clipped, work = np.zeros(1), np.zeros(1)
            step(
                pv,
                k,
                methods.step_size(values, k, group["mu"]),
                methods.clip_level(values, k, alpha),
                x,
                g,
                clipped,
                work,
                *vectors,
                *scalars,
            )
            offset = 0
            for p, n in zip(params, sizes):
                p.copy_(torch.from_numpy(x[offset : offset + n, 0]).view_as(p))
                for name, v in zip(spec.vectors, vectors):
                    self.state[p][name] = torch.from_numpy(v[offset : offset + n, 0].copy())
                offset += n
            for name, sc in zip(spec.scalars, scalars):
                owner[name] = torch.from_numpy(sc.copy())
            owner["clips"] = owner.get("clips", 0.0) + float(clipped[0])
            owner["step"] = k
        return loss

    def _state(self, spec, init, pv, owner, params, sizes):
        """The method's state for this step as the compiled step takes it: (d, 1) vectors over the group's
        parameters, (1,) scalars; a parameter (or group) seen for the first time starts from the method's init."""
        import numpy as np

        d = sum(sizes)
        fresh_v = [np.zeros((d, 1)) for _ in spec.vectors]
        fresh_s = [np.zeros(1) for _ in spec.scalars]
        if init is not None:
            init(pv, *fresh_v, *fresh_s)
        vectors, offset = [v.copy() for v in fresh_v], 0
        for p, n in zip(params, sizes):
            for v, name in zip(vectors, spec.vectors):
                if name in self.state[p]:
                    v[offset : offset + n, 0] = self.state[p][name].numpy()
            offset += n
        scalars = [owner[name].numpy().copy() if name in owner else s for name, s in zip(spec.scalars, fresh_s)]
        return vectors, scalars
