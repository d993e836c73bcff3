"""The jitted simulation kernel (private: ``synthclip.simulate`` validates and calls it).

One kernel runs every (method, problem, noise law) of the registries: the branches are on integer
codes that are constant over a run, so they cost little next to the noise transform. Trajectories run
in parallel with ``prange``; each is computed by one thread from its own counter-based stream, so the
result does not depend on the thread count or on how trajectories are chunked.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import methods as M
from . import problems as P
from .noise import _fill

METRICS = ("f", "f_avg", "f_unif", "grad_norm", "grad_norm_min", "dist")
_F, _F_AVG, _F_UNIF, _GRAD, _GRAD_MIN, _DIST = range(len(METRICS))

# Indices into the method parameter vector (methods.KERNEL_FIELDS).
(_LR, _LR_POWER, _LR_MODE, _CLIP, _CLIP_POWER, _CLIP_MODE,
 _BETA1, _BETA2, _EPS, _B0, _ETA, _DELAYED, _MOMENT) = range(len(M.KERNEL_FIELDS))


@njit(cache=True, error_model="numpy", inline="always")
def _profile(problem, x):
    """(φ(x), φ'(x)) of the separable problem's 1-d profile."""
    if problem == P.QUADRATIC:
        return 0.5 * x * x, x
    if problem == P.NONCONVEX:
        s = 1.0 + x * x
        return x * x / s, 2.0 * x / (s * s)
    if problem == P.QUARTIC:
        x2 = x * x
        return 0.25 * x2 * x2, x2 * x
    return math.cosh(x) - 1.0, math.sinh(x)


@njit(cache=True, error_model="numpy")
def _objective(problem, lam, x):
    total = 0.0
    for i in range(x.shape[0]):
        total += lam[i] * _profile(problem, x[i])[0]
    return total


@njit(cache=True, error_model="numpy")
def _grad_norm(problem, lam, x):
    total = 0.0
    for i in range(x.shape[0]):
        gi = lam[i] * _profile(problem, x[i])[1]
        total += gi * gi
    return math.sqrt(total)


@njit(cache=True, error_model="numpy")
def _norm(v):
    """Euclidean norm without overflow for heavy-tailed entries; exactly |v_0| when d = 1."""
    big = 0.0
    for i in range(v.shape[0]):
        a = abs(v[i])
        if not a <= big:  # also catches NaN
            big = a
    if big == 0.0 or not big < math.inf:
        return big
    total = 0.0
    for i in range(v.shape[0]):
        r = v[i] / big
        total += r * r
    return big * math.sqrt(total)


@njit(cache=True, error_model="numpy")
def _clip_factor(norm, tau):
    """min(τ/‖g‖, 1): exactly 1.0 when τ = ∞, so clipped methods with τ = ∞ reproduce the unclipped ones."""
    return tau / norm if norm > tau else 1.0


@njit(cache=True, error_model="numpy")
def _step_size(mp, k, mu):
    mode = mp[_LR_MODE]
    if mode == 0.0:
        return mp[_LR]
    if mode == 1.0:
        return mp[_LR] / (k + 1.0) ** mp[_LR_POWER]
    return 4.0 / (mu * (k + 1.0))


@njit(cache=True, error_model="numpy")
def _clip_level(mp, k):
    if mp[_CLIP_MODE] == 0.0:
        return mp[_CLIP]
    return mp[_CLIP] * float(k) ** mp[_CLIP_POWER]


@njit(cache=True, error_model="numpy")
def _record(out, it, i, c, problem, lam, x, s_w, s_u, k, grad_min, tmp):
    """Write the metrics of checkpoint c (at x_k) for trajectory i."""
    d = x.shape[0]
    out[_F, i, c] = _objective(problem, lam, x)
    w = 0.5 * k * (k + 1.0)
    for j in range(d):
        tmp[j] = s_w[j] / w
    out[_F_AVG, i, c] = _objective(problem, lam, tmp)
    for j in range(d):
        tmp[j] = s_u[j] / k
    out[_F_UNIF, i, c] = _objective(problem, lam, tmp)
    gn = _grad_norm(problem, lam, x)
    out[_GRAD, i, c] = gn
    out[_GRAD_MIN, i, c] = min(grad_min, gn)
    out[_DIST, i, c] = _norm(x)
    if it.shape[0] > 0:
        for j in range(d):
            it[i, c, j] = x[j]


@njit(cache=True, error_model="numpy", inline="always")
def _row_norm(v, t):
    """_norm of row t of a 2-D array (no slice object in the hot loop)."""
    d = v.shape[1]
    if d == 1:
        return abs(v[t, 0])
    big = 0.0
    for i in range(d):
        a = abs(v[t, i])
        if not a <= big:  # also catches NaN
            big = a
    if big == 0.0 or not big < math.inf:
        return big
    total = 0.0
    for i in range(d):
        r = v[t, i] / big
        total += r * r
    return big * math.sqrt(total)


@njit(cache=True, error_model="numpy", inline="always")
def _step(method, mp, lr, tau, x, g, m, v, b2, t):
    """Update row t of x (and the method's state m, v) from the stochastic gradient g[t]; returns the new b²."""
    d = x.shape[1]
    if method == M.SGD:
        for j in range(d):
            x[t, j] -= lr * g[t, j]
    elif method == M.GCLIP:
        step = lr * _clip_factor(_row_norm(g, t), tau)
        for j in range(d):
            x[t, j] -= step * g[t, j]
    elif method == M.CCLIP:
        for j in range(d):
            x[t, j] -= (lr * _clip_factor(abs(g[t, j]), tau)) * g[t, j]
    elif method == M.ACCLIP:
        a = mp[_MOMENT]
        for j in range(d):
            m[t, j] = mp[_BETA1] * m[t, j] + (1.0 - mp[_BETA1]) * g[t, j]
            v[t, j] = mp[_BETA2] * v[t, j] + (1.0 - mp[_BETA2]) * abs(g[t, j]) ** a
            level = v[t, j] ** (1.0 / a)
            x[t, j] -= (lr * min(level / (abs(m[t, j]) + mp[_EPS]), 1.0)) * m[t, j]
    else:
        # AdaGrad-Norm / Adam-Norm and their clipped versions (τ = ∞ for the unclipped ones).
        if method == M.CLIP_ADAGRAD_NORM or method == M.CLIP_ADAM_NORM:
            fac = _clip_factor(_row_norm(g, t), tau)
            for j in range(d):
                g[t, j] *= fac
        sq = 0.0
        for j in range(d):
            sq += g[t, j] * g[t, j]
        b_old = math.sqrt(b2)
        if method == M.ADAGRAD_NORM or method == M.CLIP_ADAGRAD_NORM:
            b2 = b2 + mp[_ETA] * mp[_ETA] * sq
        else:
            b2 = mp[_BETA2] * b2 + (1.0 - mp[_BETA2]) * mp[_ETA] * mp[_ETA] * sq
        step = lr / (b_old if mp[_DELAYED] != 0.0 else math.sqrt(b2))
        if method == M.ADAM_NORM or method == M.CLIP_ADAM_NORM:
            for j in range(d):
                m[t, j] = mp[_BETA1] * m[t, j] + (1.0 - mp[_BETA1]) * g[t, j]
                x[t, j] -= step * m[t, j]
        else:
            for j in range(d):
                x[t, j] -= step * g[t, j]
    return b2


@njit(cache=True, error_model="numpy")
def _project(x, radius):
    r = _norm(x)
    if r > radius:
        shrink = radius / r
        for j in range(x.shape[0]):
            x[j] *= shrink


BLOCK = 32  # trajectories advanced in lock-step by one thread (see noise._fill)


@njit(cache=True, error_model="numpy")
def run_block(method, problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu, k0, k1,
              traj_start, steps, ckpts, out, failed, iterates, lo, x, g, m, v, s_w, s_u, u1s, u2s, words, tmp,
              b2, grad_min):
    """Advance trajectories lo .. lo + nb − 1 (nb = x.shape[0]) in lock-step through all steps.

    The one implementation of a run, shared by the CPU kernel (blocks of BLOCK trajectories, heap arrays)
    and the CUDA kernel (one trajectory per thread, local arrays). State and scratch arrays belong to the
    caller: x, g, m, v, s_w, s_u (nb, d); u1s, u2s, words (d, nb); tmp (d,); b2, grad_min (nb,).
    """
    nb = x.shape[0]
    d = x.shape[1]
    n_ckpt = ckpts.shape[0]
    for t in range(nb):
        for j in range(d):
            x[t, j] = x0[j]
            m[t, j] = 0.0
            v[t, j] = mp[_CLIP] ** mp[_MOMENT]  # ACClip's τ0^a; unused by the other methods
            s_w[t, j] = 0.0  # Σ j x_{j−1}: Theorem 4's weighted average
            s_u[t, j] = 0.0  # Σ x_{j−1}: the uniform average
        b2[t] = mp[_B0] * mp[_B0]
        grad_min[t] = math.inf
    c = 0
    for k in range(1, steps + 1):
        _fill(g, nb, law, structure, alpha, scale, spike_p, k0, k1, traj_start + lo, k, u1s, u2s, words)
        lr = _step_size(mp, k, mu)
        tau = _clip_level(mp, k)
        for t in range(nb):
            gtrue2 = 0.0
            for j in range(d):
                gj = lam[j] * _profile(problem, x[t, j])[1]
                gtrue2 += gj * gj
                g[t, j] += gj
                s_w[t, j] += k * x[t, j]
                s_u[t, j] += x[t, j]
            grad_min[t] = min(grad_min[t], math.sqrt(gtrue2))
            b2[t] = _step(method, mp, lr, tau, x, g, m, v, b2[t], t)
            if radius < math.inf:
                _project(x[t], radius)
        if c < n_ckpt and k == ckpts[c]:
            for t in range(nb):
                i = lo + t
                finite = True
                for j in range(d):
                    if not math.isfinite(x[t, j]):
                        finite = False
                if finite and not failed[i]:
                    _record(out, iterates, i, c, problem, lam, x[t], s_w[t], s_u[t], k, grad_min[t], tmp)
                else:
                    failed[i] = True
                    for mm in range(out.shape[0]):
                        out[mm, i, c] = math.inf
                    if iterates.shape[0] > 0:
                        for j in range(d):
                            iterates[i, c, j] = math.nan
            c += 1


@njit(cache=True, parallel=True, error_model="numpy")
def simulate_kernel(method, problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu,
                    k0, k1, traj_start, steps, ckpts, out, failed, iterates):
    """Run trajectories traj_start .. traj_start + out.shape[1] − 1 for ``steps`` steps.

    out[m, i, c] receives metric m of trajectory i at step ckpts[c]; a trajectory whose iterate is not
    finite at a checkpoint is marked in ``failed`` and its metrics from there on are +inf. ``iterates``
    is either empty or (n_traj, n_ckpt, d) for the iterates themselves.
    """
    n_traj = out.shape[1]
    d = x0.shape[0]
    n_blocks = (n_traj + BLOCK - 1) // BLOCK
    for blk in prange(n_blocks):
        lo = blk * BLOCK
        nb = min(BLOCK, n_traj - lo)
        run_block(method, problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu, k0, k1,
                  traj_start, steps, ckpts, out, failed, iterates, lo,
                  np.empty((nb, d)), np.empty((nb, d)), np.empty((nb, d)), np.empty((nb, d)), np.empty((nb, d)),
                  np.empty((nb, d)), np.empty((d, nb)), np.empty((d, nb)), np.empty((d, nb), dtype=np.uint64),
                  np.empty(d), np.empty(nb), np.empty(nb))
