"""The numpy driver of every method's own reference update (``Method.reference``, trajectory-major).

The driver lives in the package (``synthclip._method_check``: ``synthclip.methods.check`` runs it against
the compiled step of every method a user registers); the tests call it by method name. It does in numpy what
the engine's loop does (x_0, g_k = ∇f(x_{k−1}) + ξ_k from the engine's own noise, η_k and τ_k from the Python
twins of the schedules, the projection of a finite radius), and calls the method's reference for the update;
the method's references are written from the formulas of synthclip/methods.py, vectorised over
trajectories, independently of the kernel's loops.
"""

from __future__ import annotations

import numpy as np

from synthclip import _method_check, methods


def draws_noise(
    method: str, law: str, alpha: float, *, n_traj: int, steps: int, dim: int, structure: str, seed, **law_params
) -> np.ndarray:
    """The engine's noise for every draw of ``method``: (n_traj, steps, dim) for one draw, else
    (n_traj, steps, draws, dim); draw r is the stream of trajectory i + r·DRAW_STRIDE."""
    return _method_check.draws_noise(
        methods.get(method),
        law,
        alpha,
        n_traj=n_traj,
        steps=steps,
        dim=dim,
        structure=structure,
        seed=seed,
        **law_params,
    )


def run(
    method: str,
    params: dict,
    *,
    problem: str,
    mu: float,
    lam: np.ndarray,
    x0: np.ndarray,
    radius: float,
    alpha: float,
    xi: np.ndarray,
    with_clips: bool = False,
):
    """Iterates x_1..x_K, shape (n_traj, K, d), given the noise xi ((n_traj, K, d), or (n_traj, K, draws, d)
    for a method of several draws); with ``with_clips`` also the clip counts of each step (n_traj, K)."""
    return _method_check.reference_run(
        methods.get(method),
        params,
        problem=problem,
        mu=mu,
        lam=lam,
        x0=x0,
        radius=radius,
        alpha=alpha,
        xi=xi,
        with_clips=with_clips,
    )
