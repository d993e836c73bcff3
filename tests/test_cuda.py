"""The CUDA backend: its plumbing under numba's CUDA simulator (no GPU needed), a clear error without one,
and the real device check where a GPU exists."""

import os
import subprocess
import sys

import numpy as np
import pytest

import synthclip
from synthclip import _cuda

_SIMULATED = """
import sys
import numpy as np, synthclip
synthclip.methods.load_plugin(sys.argv[1])  # a method from a user's file runs on the same kernels
# 21 trajectories in chunks of 20: a full chunk and a partial one; 12 steps reach every checkpoint path
kw = dict(dim=3, steps=12, n_traj=21, seed=4, noise="stable", alpha=1.6, checkpoints=[1, 5, 12], keep_iterates=True,
          chunk_size=20)
for method in ["gclip", "cclip", "clip_adam_norm", "acclip", "adagrad_norm", "my_method"]:
    cpu = synthclip.simulate(method, **kw)
    gpu = synthclip.simulate(method, device="cuda", **kw)
    for name in cpu.METRICS:
        np.testing.assert_array_equal(cpu.metric(name), gpu.metric(name))
    np.testing.assert_array_equal(cpu.iterates, gpu.iterates)
    np.testing.assert_array_equal(cpu.failed, gpu.failed)
print("same")
"""


def test_cuda_kernel_plumbing_under_the_simulator():
    # The simulator runs the kernel's thread indexing, local arrays, slicing and transfers in Python and
    # the shared run_block on the CPU: the GPU path must then reproduce the CPU run bit for bit.
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    example = os.path.join(os.path.dirname(__file__), "..", "studies", "examples", "my_method.py")
    out = subprocess.run(
        [sys.executable, "-c", _SIMULATED, example], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "same"


@pytest.mark.skipif(_cuda.available()[0], reason="a CUDA device is present")
def test_cuda_without_gpu_is_one_line():
    with pytest.raises(ValueError) as err:
        synthclip.simulate("gclip", steps=5, n_traj=3, device="cuda")
    assert "device='cuda' is not available" in str(err.value) and "\n" not in str(err.value)


def test_bad_device_and_dimension():
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        synthclip.simulate("gclip", steps=5, n_traj=3, device="tpu")


@pytest.mark.cuda
@pytest.mark.skipif(not _cuda.available()[0], reason="needs a CUDA GPU")
def test_gpu_reproduces_cpu_quantiles():
    kw = dict(dim=10, steps=2000, n_traj=4096, seed=1, noise="pareto", alpha=1.5)
    cpu = synthclip.simulate("gclip", **kw)
    gpu = synthclip.simulate("gclip", device="cuda", **kw)
    for q in (0.5, 0.9, 0.99):
        a, b = np.quantile(cpu.metric("f_avg"), q, axis=0), np.quantile(gpu.metric("f_avg"), q, axis=0)
        np.testing.assert_allclose(b, a, rtol=1e-9)


@pytest.mark.skipif(_cuda.available()[0], reason="a CUDA device is present")
def test_study_device_cuda_without_gpu_exits_2(capsys):
    from synthclip.harness import cli

    assert cli.main(["rates", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--device cuda: no CUDA GPU found" in err and "\n" not in err


def _nvvm_available() -> bool:
    """numba-cuda with libNVVM (pip install -e ".[cuda]"): enough to compile to PTX, no GPU needed."""
    try:
        import numba_cuda  # noqa: F401
        from numba.cuda.cudadrv import nvvm

        nvvm.NVVM()
        return True
    except Exception:
        return False


@pytest.mark.skipif(not _nvvm_available(), reason="needs numba-cuda and libNVVM: pip install -e '.[cuda]'")
def test_cuda_kernel_compiles_to_ptx_without_a_gpu(monkeypatch):
    # Lowering for the CUDA target (local arrays, _vmath's bit-cast intrinsics, every law and method
    # branch) is checked by compiling for sm_90; numba-cuda asks the current device for its compute
    # capability when it compiles device functions, so that question is answered here instead.
    import types as pytypes

    import numba.cuda.dispatcher
    from numba import cuda, types

    from synthclip import _cuda_kernel, _engine, methods

    monkeypatch.setattr(
        numba.cuda.dispatcher, "get_current_device", lambda: pytypes.SimpleNamespace(compute_capability=(9, 0))
    )
    f64, i64 = types.float64, types.int64
    vec, cube = types.Array(f64, 1, "C"), types.Array(f64, 3, "C")
    signature = (
        i64,
        i64,
        i64,
        vec,
        f64,
        f64,
        f64,
        vec,
        vec,
        f64,
        f64,
        types.uint64,
        types.uint64,
        i64,
        i64,
        types.Array(i64, 1, "C"),
        cube,
        types.Array(types.boolean, 1, "C"),
        cube,
    )
    for name in methods.METHODS:  # every method's kernel (its state and draws shape the local arrays)
        kernel = _cuda_kernel.kernel_for(_engine.kernel_module(methods.get(name)))
        ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
        assert ".entry" in ptx and ".target sm_90" in ptx
