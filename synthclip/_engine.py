"""The jitted simulation engine (private: ``synthclip.simulate`` validates and calls it).

A run is one loop (``run_block``) over steps for a block of trajectories: draw the noise, add the gradient,
let the method update the iterates, project, record checkpoints. The method's update is its ``step`` under
the method contract (``synthclip._method_contract``): every method, built-in or a user's plugin, gets a
kernel module of its own, generated from ``_TEMPLATE`` into the kernel cache folder and compiled once
(numba's on-disk cache beside it), so a method's update is inlined into the loop with no dispatch. The
module's name carries a hash of the package's sources, the method's own source file(s) and its layout,
so an edit of either gives a new module instead of stale machine code.

Trajectories run in parallel with ``prange``; each is computed by one thread from its own counter-based
stream, so the result does not depend on the thread count or on how trajectories are chunked.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import sys
import threading
from pathlib import Path

import numpy as np
from numba import njit

from . import _cache
from . import problems as P
from ._method_contract import KERNEL_FIELDS, MethodError
from .noise import _fill  # noqa: F401  (the kernel modules call it as E._fill)

METRICS = ("f", "f_avg", "f_unif", "grad_norm", "grad_norm_min", "dist", "clip_frac")
_F, _F_AVG, _F_UNIF, _GRAD, _GRAD_MIN, _DIST, _CLIP_FRAC = range(len(METRICS))

# Indices into the method parameter vector (KERNEL_FIELDS, then the method's own parameters).
(_LR, _LR_POWER, _LR_MODE, _CLIP, _CLIP_POWER, _CLIP_MODE, _BETA1, _BETA2, _EPS, _B0, _ETA, _DELAYED, _MOMENT) = range(
    len(KERNEL_FIELDS)
)

BLOCK = 64  # trajectories advanced in lock-step by one thread: the vector loops' length
# Draw r ≥ 1 of a step of a minibatch method (Method.draws > 1) is keyed as trajectory i + r·DRAW_STRIDE:
# the Philox counter's trajectory word has 56 bits and simulate() admits at most 2^40 trajectories, so the
# draws never collide with another trajectory's, and draw 0 is the single-draw stream itself.
DRAW_STRIDE = 2**40


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
    if problem == P.ABS:  # subgradient sign(x), 0 at the kink
        return abs(x), (1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0))
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
def _column_norm(v, t):
    """Euclidean norm of column t of a (d, nb) array without overflow for heavy-tailed entries; exactly
    |v[0, t]| when d = 1. The checkpoint metric ‖x_k‖ and the fallback of the vectorised _column_norms."""
    big = 0.0
    for i in range(v.shape[0]):
        a = abs(v[i, t])
        if not a <= big:  # also catches NaN
            big = a
    if big == 0.0 or not big < math.inf:
        return big
    total = 0.0
    for i in range(v.shape[0]):
        r = v[i, t] / big
        total += r * r
    return big * math.sqrt(total)


@njit(cache=True, error_model="numpy", inline="always")
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
def _record(out, it, i, c, problem, lam, x, s_w, s_u, t, k, grad_min, clip_frac, tmp):
    """Write the metrics of checkpoint c (at x_k, column t of the block) for trajectory i."""
    d = x.shape[0]
    out[_CLIP_FRAC, i, c] = clip_frac
    for j in range(d):
        tmp[j] = x[j, t]
    out[_F, i, c] = _objective(problem, lam, tmp)
    gn = _grad_norm(problem, lam, tmp)
    out[_GRAD, i, c] = gn
    out[_GRAD_MIN, i, c] = min(grad_min, gn)
    out[_DIST, i, c] = _column_norm(x, t)
    if it.shape[0] > 0:
        for j in range(d):
            it[i, c, j] = x[j, t]
    w = 0.5 * k * (k + 1.0)
    for j in range(d):
        tmp[j] = s_w[j, t] / w
    out[_F_AVG, i, c] = _objective(problem, lam, tmp)
    for j in range(d):
        tmp[j] = s_u[j, t] / k
    out[_F_UNIF, i, c] = _objective(problem, lam, tmp)


@njit(cache=True, error_model="numpy", inline="always")
def _column_norms(v, norms):
    """Euclidean norms of the columns of v (d, nb) into norms (nb,); exactly |v[0, t]| when d = 1.

    The sum of squares runs over whole columns at once (vectorised); a column whose sum is not safely
    inside the normal range (overflow, underflow, NaN) is redone by the scaled, overflow-safe _column_norm.
    """
    d, nb = v.shape
    if d == 1:
        for t in range(nb):
            norms[t] = abs(v[0, t])
        return
    for t in range(nb):
        norms[t] = 0.0
    for i in range(d):
        for t in range(nb):
            norms[t] += v[i, t] * v[i, t]
    for t in range(nb):
        sq = norms[t]
        norms[t] = math.sqrt(sq) if 1e-290 < sq < 1e290 else _column_norm(v, t)


@njit(cache=True, error_model="numpy", inline="always")
def _add_gradient(problem, lam, x, g, s_w, s_u, k, grad_sq):
    """g += ∇f(x) column by column, grad_sq[t] = ‖∇f(x_t)‖², and the running sums of the averages."""
    d, nb = x.shape
    for t in range(nb):
        grad_sq[t] = 0.0
    for j in range(d):
        lj = lam[j]
        for t in range(nb):
            xj = x[j, t]
            gj = lj * _profile(problem, xj)[1]
            grad_sq[t] += gj * gj
            g[j, t] += gj
            s_w[j, t] += k * xj  # Σ j x_{j−1}: Theorem 4's weighted average
            s_u[j, t] += xj  # Σ x_{j−1}: the uniform average


@njit(cache=True, error_model="numpy", inline="always")
def _descend(x, step, direction):
    """x[:, t] −= step[t]·direction[:, t]."""
    d, nb = x.shape
    for j in range(d):
        for t in range(nb):
            x[j, t] -= step[t] * direction[j, t]


@njit(cache=True, error_model="numpy", inline="always")
def _project(x, radius, norms):
    """Project every column of x onto the ball of the given radius (proj-GClip, Theorem 4)."""
    _column_norms(x, norms)
    d, nb = x.shape
    for t in range(nb):
        norms[t] = radius / norms[t] if norms[t] > radius else 1.0
    for j in range(d):
        for t in range(nb):
            x[j, t] *= norms[t]


@njit(cache=True, error_model="numpy", inline="always")
def _add_gradient_only(problem, lam, x, g):
    """g += ∇f(x) column by column (the extra draws of a minibatch step; the averages are counted once)."""
    d, nb = x.shape
    for j in range(d):
        lj = lam[j]
        for t in range(nb):
            g[j, t] += lj * _profile(problem, x[j, t])[1]


@njit(cache=True, error_model="numpy", inline="always")
def _start(x, x0, vec, sca, s_w, s_u, grad_min, clipped):
    """Every column at x0, the method's state and the running sums at 0, min ‖∇f‖ at +inf."""
    d, nb = x.shape
    for j in range(d):
        for t in range(nb):
            x[j, t] = x0[j]
            s_w[j, t] = 0.0
            s_u[j, t] = 0.0
    for s in range(vec.shape[0]):
        for j in range(d):
            for t in range(nb):
                vec[s, j, t] = 0.0
    for s in range(sca.shape[0]):
        for t in range(nb):
            sca[s, t] = 0.0
    for t in range(nb):
        grad_min[t] = math.inf
        clipped[t] = 0.0


@njit(cache=True, error_model="numpy", inline="always")
def _checkpoint(out, iterates, failed, c, problem, lam, x, s_w, s_u, tmp, k, grad_min, clipped, units, lo):
    """Record checkpoint c (step k) of every column; a non-finite trajectory is marked failed, its metrics +inf.

    clip_frac = clips / (k · units): units = 1 when a step counts once, d when coordinates are counted."""
    d, nb = x.shape
    for t in range(nb):
        i = lo + t
        finite = True
        for j in range(d):
            if not math.isfinite(x[j, t]):
                finite = False
        if finite and not failed[i]:
            _record(out, iterates, i, c, problem, lam, x, s_w, s_u, t, k, grad_min[t], clipped[t] / (k * units), tmp)
        else:
            failed[i] = True
            for mm in range(out.shape[0]):
                out[mm, i, c] = math.inf
            if iterates.shape[0] > 0:
                for j in range(d):
                    iterates[i, c, j] = math.nan


def python_function(fn):
    """The Python function behind a step (a user may hand in an @njit function: it is re-jitted inlined)."""
    return getattr(fn, "py_func", fn)


# -- one kernel module per method ---------------------------------------------------------------------------

_TEMPLATE = '''"""The kernel of method {name!r}, generated by synthclip._engine (key {key}). Regenerated, never edited."""
import collections
import math

import numpy as np
from numba import njit, prange

from synthclip import _engine as E
from synthclip.methods import kernel_method

_method = kernel_method({name!r}, {key!r})
_Params = collections.namedtuple("_Params", {fields!r})
_step = njit(inline="always", error_model="numpy")(E.python_function(_method.step))
{init_definition}
DRAWS = {draws}
N_VECTORS = {n_vectors}
N_SCALARS = {n_scalars}


@njit(cache=True, error_model="numpy")
def run_block(problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu, k0, k1, traj_start, steps,
              ckpts, out, failed, iterates, lo, x, g, vec, sca, s_w, s_u, tmp, grad_min, acc, fac, clipped):
    """Advance trajectories lo .. lo + nb − 1 (nb = x.shape[1]) in lock-step through all steps.

    The one implementation of a run of this method, shared by the CPU kernel (blocks of E.BLOCK trajectories,
    heap arrays) and the CUDA kernel (one trajectory per thread, local arrays). Arrays belong to the caller
    and are coordinate-major: x, s_w, s_u (d, nb); g (draws, d, nb); vec (N_VECTORS, d, nb);
    sca (N_SCALARS, nb); tmp (d,); grad_min, acc, fac, clipped (nb,).
    """
    d, nb = x.shape
    p = _Params({unpack})
    E._start(x, x0, vec, sca, s_w, s_u, grad_min, clipped)
    g0 = g[0]
    {state_views}
    {init_call}
    c = 0
    for k in range(1, steps + 1):
        # g[r] = ∇f(x_(k−1)) + ξ_k^(r) for every draw r; the running averages and min ‖∇f‖ (written out here,
        # not in a helper: every array handed to an inlined helper costs reference counts at each step)
        E._fill(g0, law, structure, alpha, scale, spike_p, k0, k1, traj_start + lo, k, acc)
        for r in range(1, DRAWS):
            E._fill(g[r], law, structure, alpha, scale, spike_p, k0, k1, traj_start + lo + r * E.DRAW_STRIDE, k, acc)
        E._add_gradient(problem, lam, x, g0, s_w, s_u, k, acc)
        for t in range(nb):
            grad_min[t] = min(grad_min[t], math.sqrt(acc[t]))
        for r in range(1, DRAWS):
            E._add_gradient_only(problem, lam, x, g[r])
        lr = E._step_size(mp, k, mu)
        tau = E._clip_level(mp, k)
        _step(p, k, lr, tau, x, {gradient}, clipped, fac{state})
        if radius < math.inf:
            E._project(x, radius, fac)
        if c < ckpts.shape[0] and k == ckpts[c]:
            E._checkpoint(out, iterates, failed, c, problem, lam, x, s_w, s_u, tmp, k, grad_min, clipped, {units},
                          lo)
            c += 1


@njit(cache=True, parallel=True, error_model="numpy")
def simulate_kernel(problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu, k0, k1, traj_start,
                    steps, ckpts, out, failed, iterates):
    """Run trajectories traj_start .. traj_start + out.shape[1] − 1 for ``steps`` steps (see engine.simulate)."""
    n_traj = out.shape[1]
    d = x0.shape[0]
    n_blocks = (n_traj + E.BLOCK - 1) // E.BLOCK
    for blk in prange(n_blocks):
        lo = blk * E.BLOCK
        nb = min(E.BLOCK, n_traj - lo)
        run_block(problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu, k0, k1, traj_start,
                  steps, ckpts, out, failed, iterates, lo, np.empty((d, nb)), np.empty((DRAWS, d, nb)),
                  np.empty((N_VECTORS, d, nb)), np.empty((N_SCALARS, nb)), np.empty((d, nb)), np.empty((d, nb)),
                  np.empty(d), np.empty(nb), np.empty(nb), np.empty(nb), np.empty(nb))
'''
TEMPLATE_VERSION = "4"


# The package's sources as imported by this process: a kernel compiled here is compiled from these (an edit
# made while the process runs must not put this process's machine code under the edited sources' key).
_PACKAGE_STAMP = _cache.package_stamp()


def kernel_key(method) -> str:
    """SHA-256 of everything the method's kernel is compiled from: the package's sources, numba's version,
    the method's layout and the source files of its step and init (as they were when the method was made)."""
    import numba

    digest = hashlib.sha256()
    for part in (
        TEMPLATE_VERSION,
        _PACKAGE_STAMP,
        numba.__version__,
        method.name,
        repr(method.fields),
        repr((method.vectors, method.scalars, method.draws, method.clip_units)),
        method.code_digest,
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def kernel_source(method, key: str) -> str:
    """The text of the method's kernel module."""
    n_vec, n_sca = len(method.vectors), len(method.scalars)
    views = [f"v{i} = vec[{i}]" for i in range(n_vec)] + [f"s{i} = sca[{i}]" for i in range(n_sca)]
    state = "".join(", " + v.split(" = ")[0] for v in views)
    return _TEMPLATE.format(
        name=method.name,
        key=key,
        fields=list(method.fields),
        draws=method.draws,
        n_vectors=n_vec,
        n_scalars=n_sca,
        state_views="; ".join(views) or "# no state",
        init_definition='_init = njit(inline="always", error_model="numpy")(E.python_function(_method.init))'
        if method.init is not None
        else "",
        init_call=f"_init(p{state})" if method.init is not None else "# no init: the state stays at 0",
        unpack=", ".join(f"mp[{i}]" for i in range(len(method.fields))),
        state=state,
        gradient="g0" if method.draws == 1 else "g",
        units="float(d)" if method.clip_units == "coordinate" else "1.0",
    )


_MODULES: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


def kernel_path(method, key: str | None = None) -> Path:
    """Where the method's kernel module lives (numba's cache of it is in __pycache__ beside it)."""
    return _cache.kernel_dir() / f"{method.name}_{(key or kernel_key(method))[:20]}.py"


def ensure_jittable(method) -> None:
    """``check_jittable`` unless the method's kernel is on disk already (then it compiled before)."""
    if not kernel_path(method).exists():
        check_jittable(method)


def kernel_module(method):
    """The method's kernel module (run_block, simulate_kernel), generated and imported once per process.

    A module not yet on disk is new: its init and step are first compiled alone (``check_jittable``), so a
    step numba cannot compile is reported in one line before the kernel compiles."""
    key = kernel_key(method)
    with _LOCK:
        module = _MODULES.get((method.name, key))
        if module is not None:
            return module
        path = kernel_path(method, key)
        if not path.exists():
            check_jittable(method)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
            tmp.write_text(kernel_source(method, key))
            os.replace(tmp, path)  # atomic: a concurrent process sees the whole file or none
        name = f"_synthclip_kernel_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        _MODULES[(method.name, key)] = module
        return module


_COMPILED: dict[tuple[str, str], tuple] = {}


def compiled_step(method) -> tuple:
    """(init, step) of the method compiled alone by numba, as the kernel compiles them (error_model numpy;
    init None when the method has none), after a trial run on a tiny block: one compilation per method and
    key in a process. ``synthclip.methods.check`` drives them against the method's reference; a function
    numba cannot compile is a one-line MethodError naming the field."""
    from ._method_contract import params_class

    key = (method.name, kernel_key(method))
    cached = _COMPILED.get(key)
    if cached is not None:
        return cached
    d, nb = 2, 3
    p = params_class(method)(*[1.0] * len(method.fields))
    vec = [np.zeros((d, nb)) for _ in method.vectors]
    sca = [np.zeros(nb) for _ in method.scalars]
    g = np.ones((d, nb)) if method.draws == 1 else np.ones((method.draws, d, nb))
    compiled = []
    for field, fn, args in (
        ("init", method.init, (p, *vec, *sca)),
        ("step", method.step, (p, 1, 0.5, 1.0, np.ones((d, nb)), g, np.zeros(nb), np.zeros(nb), *vec, *sca)),
    ):
        if fn is None:
            compiled.append(None)
            continue
        try:
            jitted = njit(error_model="numpy")(python_function(fn))
            jitted(*args)
        except Exception as err:  # numba's typing and lowering errors, or the step's own at run time
            lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
            useful = [ln for ln in lines if not ln.startswith(("Failed in", "During:", "File ", "^"))]
            why = (useful or lines or [type(err).__name__])[0]
            raise MethodError(
                f"method {method.name!r}: field {field!r} is not jittable by numba ({type(err).__name__}: {why})"
            ) from None
        compiled.append(jitted)
    _COMPILED[key] = cached = tuple(compiled)
    return cached


def check_jittable(method) -> None:
    """Compile and run the method's init and step alone on a tiny block; MethodError in one line if numba cannot."""
    compiled_step(method)
