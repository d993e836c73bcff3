"""The numpy driver of every method's own reference update (``Method.reference``, trajectory-major).

The driver does in numpy what the engine's loop does (x_0, g_k = ∇f(x_{k−1}) + ξ_k from the engine's
own noise, η_k and τ_k from the Python twins of the schedules, the projection of a finite radius), and
calls the method's reference for the update; the method's references are written from the formulas of
synthclip/methods.py, vectorised over trajectories, independently of the kernel's loops.
"""
from __future__ import annotations

import numpy as np

from synthclip import methods, noise, problems
from synthclip._engine import DRAW_STRIDE


def draws_noise(method: str, law: str, alpha: float, *, n_traj: int, steps: int, dim: int, structure: str,
                seed, **law_params) -> np.ndarray:
    """The engine's noise for every draw of ``method``: (n_traj, steps, dim) for one draw, else
    (n_traj, steps, draws, dim); draw r is the stream of trajectory i + r·DRAW_STRIDE."""
    draws = methods.get(method).draws
    xi = [noise.engine_noise(law, alpha, n_traj=n_traj, steps=steps, dim=dim, structure=structure, seed=seed,
                             traj_start=r * DRAW_STRIDE, **law_params) for r in range(draws)]
    return xi[0] if draws == 1 else np.stack(xi, axis=2)


def run(method: str, params: dict, *, problem: str, mu: float, lam: np.ndarray, x0: np.ndarray,
        radius: float, alpha: float, xi: np.ndarray, with_clips: bool = False):
    """Iterates x_1..x_K, shape (n_traj, K, d), given the noise xi ((n_traj, K, d), or (n_traj, K, draws, d)
    for a method of several draws); with ``with_clips`` also the clip counts of each step (n_traj, K)."""
    spec = methods.get(method)
    n, steps = xi.shape[:2]
    d = xi.shape[-1]
    values = spec.validate(params, "method")
    p = methods.kernel_params(spec, values, alpha)
    # the state as the kernel holds it (coordinate-major, one column per trajectory), set by the method's init
    vectors = [np.zeros((d, n)) for _ in spec.vectors]
    scalars = [np.zeros(n) for _ in spec.scalars]
    if spec.init is not None:
        spec.init(p, *vectors, *scalars)
    state = {**{name: v.T.copy() for name, v in zip(spec.vectors, vectors)},
             **{name: s[:, None].copy() for name, s in zip(spec.scalars, scalars)}}
    x = np.tile(x0, (n, 1)).astype(float)
    out = np.empty((n, steps, d))
    clips = np.empty((n, steps))
    for k in range(1, steps + 1):
        grad = problems.gradient(problem, x, lam)
        g = grad + xi[:, k - 1] if spec.draws == 1 else grad[:, None, :] + xi[:, k - 1]
        lr = methods.step_size(values, k, mu)
        tau = methods.clip_level(values, k, alpha)
        x, clips[:, k - 1] = spec.reference(p, k, lr, tau, x, g, state)
        if np.isfinite(radius):
            r = np.linalg.norm(x, axis=1, keepdims=True)
            x = np.where(r > radius, x * (radius / r), x)
        out[:, k - 1] = x
    return (out, clips) if with_clips else out
