"""The CUDA kernel itself (imported only when a CUDA device is used; see _cuda.py)."""
from numba import config, cuda, float64

from ._engine import run_block

MAX_DIM = 32


def _simulated_run_block(*args):
    """Under numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, for tests without a GPU) device arrays are
    Python wrappers that jitted code cannot take: unwrap them and run the CPU-compiled run_block."""
    return run_block(*[a._item._ary if hasattr(a, "_item") else a for a in args])


_run = _simulated_run_block if config.ENABLE_CUDASIM else run_block


@cuda.jit
def kernel(method, problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu, k0, k1,
           traj_start, steps, ckpts, out, failed, iterates):
    """Thread i runs trajectory traj_start + i through ``run_block`` on its local-memory arrays."""
    i = cuda.grid(1)
    if i >= out.shape[1]:
        return
    d = x0.shape[0]
    x = cuda.local.array((MAX_DIM, 1), float64)
    g = cuda.local.array((MAX_DIM, 1), float64)
    m = cuda.local.array((MAX_DIM, 1), float64)
    v = cuda.local.array((MAX_DIM, 1), float64)
    s_w = cuda.local.array((MAX_DIM, 1), float64)
    s_u = cuda.local.array((MAX_DIM, 1), float64)
    tmp = cuda.local.array(MAX_DIM, float64)
    b2 = cuda.local.array(1, float64)
    grad_min = cuda.local.array(1, float64)
    acc = cuda.local.array(1, float64)
    fac = cuda.local.array(1, float64)
    clipped = cuda.local.array(1, float64)
    _run(method, problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu, k0, k1,
         traj_start, steps, ckpts, out, failed, iterates, i, x[:d], g[:d], m[:d], v[:d], s_w[:d], s_u[:d],
         tmp[:d], b2, grad_min, acc, fac, clipped)
