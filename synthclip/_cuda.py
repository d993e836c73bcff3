"""The CUDA backend of ``simulate`` (private): one GPU thread per trajectory.

Each thread runs the method's ``run_block`` (the CPU engine's own implementation of a run, from the
method's generated kernel module, with nb = 1)
on arrays in its local memory, drawing from the same counter-based Philox stream, so a GPU run sees
exactly the CPU run's uniforms. The noise transforms are synthclip._vmath's arithmetic on both (its bit
casts are numba intrinsics, one LLVM bitcast), but NVVM fuses multiply-adds by default and ACClip's
powers come from libdevice, so values may differ from the CPU's in the last bits (the GPU test asks
quantiles to agree to 1e−9 relative, not bit for bit).

The whole kernel compiles to PTX for sm_90 without a GPU (tests/test_cuda.py, with the ``cuda`` extra:
``pip install -e ".[cuda]"``). It has not run on a GPU yet: no GPU was lent to the sessions that wrote
it. Its logic is tested on the CPU with numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

import numpy as np

MAX_DIM = 32  # local arrays need a compile-time size (kept in sync with _cuda_kernel)
THREADS_PER_BLOCK = 128


def available() -> tuple[bool, str]:
    """(usable, reason): whether a CUDA device can run the kernel, and why not."""
    try:
        from numba import cuda
    except Exception as err:  # numba without its CUDA target, or a broken CUDA install
        return False, f"numba.cuda cannot be imported ({type(err).__name__}: {err})"
    try:
        if not cuda.is_available():
            return False, "no CUDA GPU found (numba.cuda.is_available() is False)"
    except Exception as err:
        return False, f"CUDA is not usable ({type(err).__name__}: {err})"
    return True, ""


def runner(method):
    """The function that runs one chunk of ``method`` on the GPU (see ``simulate_cuda``)."""
    from ._cuda_kernel import kernel_for
    from ._engine import kernel_module

    kernel = kernel_for(kernel_module(method))
    return lambda args, out, failed, iterates: simulate_cuda(kernel, args, out, failed, iterates)


def simulate_cuda(kernel, args: tuple, out: np.ndarray, failed: np.ndarray, iterates: np.ndarray) -> None:
    """Run ``kernel`` on the GPU for ``args`` (the CPU kernel's leading arguments), filling out/failed/iterates
    (which may be non-contiguous slices: the transfers go through contiguous copies)."""
    from numba import cuda

    d_out = cuda.to_device(np.ascontiguousarray(out))
    d_failed = cuda.to_device(np.ascontiguousarray(failed))
    d_iterates = cuda.to_device(np.ascontiguousarray(iterates))
    device_args = tuple(cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args)
    blocks = (out.shape[1] + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
    kernel[blocks, THREADS_PER_BLOCK](*device_args, d_out, d_failed, d_iterates)
    cuda.synchronize()
    out[...] = d_out.copy_to_host()
    failed[...] = d_failed.copy_to_host()
    if iterates.size:
        iterates[...] = d_iterates.copy_to_host()
