"""Errata shown by proof: the inequality behind Corollary 7's looseness, as a property test."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


@settings(max_examples=300, deadline=None)
@given(
    g=arrays(np.float64, st.integers(1, 50), elements=st.floats(-1e6, 1e6, allow_nan=False)), alpha=st.floats(1.0, 2.0)
)
def test_l2_norm_to_the_alpha_is_at_most_the_sum_of_coordinate_powers(g, alpha):
    # ‖g‖_2^α ≤ Σ|g_i|^α for α ≤ 2 (‖g‖_2 ≤ ‖g‖_α for α ≤ 2): Theorem 4 then applies with G = ‖B‖_α, so
    # Corollary 7's constant d‖B‖_α² is loose by a factor d (the erratum in synthclip.theory.ERRATA)
    # both sides are homogeneous of degree α, so compare them at the scale max|g_i| = 1: the inequality is
    # unchanged and subnormal inputs (|g| ~ 1e−160, where norm() loses digits) cannot fake a violation
    scale = float(np.max(np.abs(g)))
    if scale == 0.0:
        return
    u = g / scale
    lhs = float(np.linalg.norm(u)) ** alpha
    rhs = float(np.sum(np.abs(u) ** alpha))
    assert lhs <= rhs * (1 + 1e-12)


def test_the_inequality_fails_above_two():
    # negative control: for α > 2 it fails (e.g. g = (1, 1), α = 3: 2^(3/2) > 2), so the proof needs α ≤ 2
    g = np.ones(2)
    assert float(np.linalg.norm(g)) ** 3 > float(np.sum(np.abs(g) ** 3))
