"""The CUDA kernels themselves (imported only when a CUDA device is used; see _cuda.py): one per method,
each running that method's ``run_block`` (its generated kernel module, ``_engine.kernel_module``)."""

from numba import config, cuda, float64

MAX_DIM = 32
_KERNELS: dict = {}


def kernel_for(module):
    """The CUDA kernel of a method's kernel module (built once per module and process)."""
    kernel = _KERNELS.get(module.__name__)
    if kernel is None:
        kernel = _KERNELS[module.__name__] = _make(module.run_block, module.DRAWS, module.N_VECTORS, module.N_SCALARS)
    return kernel


def _simulated(run_block):
    """Under numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, for tests without a GPU) device arrays are
    Python wrappers that jitted code cannot take: unwrap them and run the CPU-compiled run_block."""

    def run(*args):
        return run_block(*[a._item._ary if hasattr(a, "_item") else a for a in args])

    return run


def _make(run_block, draws, n_vectors, n_scalars):
    run = _simulated(run_block) if config.ENABLE_CUDASIM else run_block
    # local arrays need compile-time shapes: these are constants of the closure
    g_shape = (draws, MAX_DIM, 1)
    v_shape = (max(n_vectors, 1), MAX_DIM, 1)
    s_shape = (max(n_scalars, 1), 1)

    @cuda.jit
    def kernel(
        problem,
        law,
        structure,
        mp,
        alpha,
        scale,
        spike_p,
        lam,
        x0,
        radius,
        mu,
        k0,
        k1,
        traj_start,
        steps,
        ckpts,
        out,
        failed,
        iterates,
    ):
        """Thread i runs trajectory traj_start + i through ``run_block`` on its local-memory arrays."""
        i = cuda.grid(1)
        if i >= out.shape[1]:
            return
        d = x0.shape[0]
        x = cuda.local.array((MAX_DIM, 1), float64)
        g = cuda.local.array(g_shape, float64)
        vec = cuda.local.array(v_shape, float64)
        sca = cuda.local.array(s_shape, float64)
        s_w = cuda.local.array((MAX_DIM, 1), float64)
        s_u = cuda.local.array((MAX_DIM, 1), float64)
        tmp = cuda.local.array(MAX_DIM, float64)
        grad_min = cuda.local.array(1, float64)
        acc = cuda.local.array(1, float64)
        fac = cuda.local.array(1, float64)
        clipped = cuda.local.array(1, float64)
        run(
            problem,
            law,
            structure,
            mp,
            alpha,
            scale,
            spike_p,
            lam,
            x0,
            radius,
            mu,
            k0,
            k1,
            traj_start,
            steps,
            ckpts,
            out,
            failed,
            iterates,
            i,
            x[:d],
            g[:, :d],
            vec[:n_vectors, :d],
            sca[:n_scalars],
            s_w[:d],
            s_u[:d],
            tmp[:d],
            grad_min,
            acc,
            fac,
            clipped,
        )

    return kernel
