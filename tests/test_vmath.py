"""The branch-free log/exp/sin/cos of synthclip._vmath: within 1 ulp of numpy's over the domains the noise
laws use, and the same bits in a vectorised loop as in a scalar call."""

import math
import re

import numpy as np
import pytest
from numba import njit

from synthclip import _vmath


def _elementwise(function):
    """A jitted loop applying ``function`` to every element, compiled as the engine compiles its kernels
    (error_model="numpy": under Python's, a division may raise and the loop stays scalar)."""

    @njit(error_model="numpy")
    def loop(values):
        out = np.empty_like(values)
        for i in range(values.shape[0]):
            out[i] = function(values[i])
        return out

    return loop


_log_loop, _exp_loop = _elementwise(_vmath.log), _elementwise(_vmath.exp)
_sin_loop, _cos_loop = _elementwise(_vmath.sin), _elementwise(_vmath.cos)
_libm_log_loop = _elementwise(njit(lambda x: math.log(x)))


def _sin_cos_loop(values):
    return _sin_loop(values), _cos_loop(values)


def _is_vectorised(dispatcher):
    """Packed double arithmetic on 256/512-bit registers in the machine code (LLVM's IR alone can show
    a vector loop whose math calls are split back into scalar library calls)."""
    return any(re.search(r"\b\w+pd\s+%[yz]mm", text) for text in dispatcher.inspect_asm().values())


def _ulps(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_log_within_one_ulp_on_open_uniforms_and_beyond():
    rng = np.random.default_rng(0)
    uniforms = (rng.integers(0, 2**53, 200_000) + 0.5) * 2.0**-53  # the engine's open uniforms
    edges = np.array([2.0**-54, 2.0**-53, 0.5, np.sqrt(0.5), np.nextafter(np.sqrt(2) / 2, 1), 1 - 2.0**-53])
    wide = 10.0 ** rng.uniform(-300, 300, 100_000)
    for x in (uniforms, edges, wide):
        got, want = _log_loop(x), np.log(x)
        assert np.all(_ulps(got, want) <= 1.0)
    assert _log_loop(np.array([1.0]))[0] == 0.0


def test_exp_within_one_ulp_on_its_domain():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-708, 709, 200_000), rng.uniform(0, 40, 200_000), [0.0, -708.0, 709.0]])
    got, want = _exp_loop(x), np.exp(x)
    assert np.all(_ulps(got, want) <= 1.0)
    assert _exp_loop(np.array([0.0]))[0] == 1.0


def test_sin_cos_within_one_ulp_on_two_turns():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-2 * np.pi, 2 * np.pi, 200_000), np.arange(-4, 5) * (np.pi / 2), [1e-300]])
    sin, cos = _sin_cos_loop(x)
    assert np.all(_ulps(sin, np.sin(x)) <= 1.0) and np.all(_ulps(cos, np.cos(x)) <= 1.0)


def _has_avx2():
    import platform

    from llvmlite import binding

    return platform.machine() in ("x86_64", "AMD64") and binding.get_host_cpu_features().get("avx2", False)


@pytest.mark.skipif(not _has_avx2(), reason="the check reads x86-64 AVX2/AVX-512 machine code")
def test_loops_over_them_are_vectorised():
    # The point of the module: a loop that calls them compiles to SIMD code (on x86-64 with AVX).
    x = np.linspace(0.1, 0.9, 64)
    for loop in (_log_loop, _exp_loop, _sin_loop, _cos_loop):
        loop(x)
        assert _is_vectorised(loop), loop
    _libm_log_loop(x)
    assert not _is_vectorised(_libm_log_loop)  # negative control: a C-library call keeps the loop scalar


def test_vector_lanes_equal_scalar_calls():
    # A loop of 1000 is vectorised with a scalar remainder; one-element calls are scalar: the bits agree.
    x = (np.random.default_rng(2).integers(0, 2**53, 1000) + 0.5) * 2.0**-53
    scalar_log = np.array([_log_loop(x[i : i + 1])[0] for i in range(0, 1000, 37)])
    np.testing.assert_array_equal(_log_loop(x)[::37], scalar_log)
    y = -np.log(x) / 1.3
    scalar_exp = np.array([_exp_loop(y[i : i + 1])[0] for i in range(0, 1000, 37)])
    np.testing.assert_array_equal(_exp_loop(y)[::37], scalar_exp)


def test_python_definitions_give_the_jitted_bits():
    # The bit casts are defined in Python (what they mean) and compiled to LLVM bitcasts (what runs).
    x = np.array([2.0**-54, 0.1, 0.75, 1.0 - 2.0**-53, 3.5e-200])
    np.testing.assert_array_equal(_log_loop(x), [_vmath.log.py_func(v) for v in x])
    y = np.array([-700.5, -1.0, 0.0, 1e-9, 0.5, 36.7, 708.9])
    np.testing.assert_array_equal(_exp_loop(y), [_vmath.exp.py_func(v) for v in y])
    z = np.array([-6.0, -1.5707963267948966, -0.3, 0.0, 2.0, 3.141592653589793, 6.2])
    np.testing.assert_array_equal(_sin_cos_loop(z)[0], [_vmath.sin.py_func(v) for v in z])
    np.testing.assert_array_equal(_sin_cos_loop(z)[1], [_vmath.cos.py_func(v) for v in z])


@pytest.mark.parametrize("value", [np.float32(1.0), 1])
def test_bit_casts_take_float64_only(value):
    from numba.core.errors import TypingError

    with pytest.raises(TypingError):
        _log_loop(np.array([value]))
