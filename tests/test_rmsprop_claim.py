"""The seed's Discussion: "RMSProp can be seen as ACClip" — its inequality ½·h_clip ≤ h_Adam ≤ 2·h_clip, tested as printed.

The seed's Discussion writes RMSProp's effective step h_Adam = α/(ε + √(β2 v_k + (1−β2) g_k²))
and ACClip's with β1 = 0, h_clip = η_k min(τ_k/|g_k|, 1), and claims the two within a factor 2 for
η_k = 2α/(ε + √(β2 v_k)) and τ_k = (ε + √(β2 v_k))/√(1 − β2). The formulas live in ``synthclip.theory``
(``rmsprop_effective_step``, ``acclip_effective_step``); these tests hold them against the printed claim.

Finding (``theory.ERRATA``): the upper half holds, the lower half fails for every g_k ≠ 0. The ratio
h_Adam/h_clip lies in [¼, ½] with both ends attained, so ¼·h_clip ≤ h_Adam ≤ ½·h_clip is what holds, and with
half the printed step η_k the printed constants hold. Hypothesis searches the space of (g, v, β2, ε); the
bounds that hold are checked to a relative 1e-12 (float rounding of a handful of operations), and their
tightness on exact binary inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from synthclip import theory

LR = 1e-3  # α: both steps are proportional to it, so its value cancels from every ratio
REL = 1e-12  # rounding slack for the bounds that hold (a few float operations, no cancellation)

grads = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
second_moments = st.floats(min_value=0.0, max_value=1e12, allow_nan=False, allow_infinity=False)
beta2s = st.floats(min_value=0.0, max_value=0.9999, allow_nan=False)
epss = st.floats(min_value=1e-8, max_value=10.0, allow_nan=False)


def _ratio(g, v, beta2, eps, step_factor=2.0):
    h_adam = theory.rmsprop_effective_step(g, v, beta2, eps, LR)
    h_clip = theory.acclip_effective_step(g, v, beta2, eps, LR, step_factor=step_factor)
    return float(h_adam / h_clip)


def _printed_holds(g, v, beta2, eps) -> bool:
    """½·h_clip ≤ h_Adam ≤ 2·h_clip, exactly as printed (no slack)."""
    h_adam = float(theory.rmsprop_effective_step(g, v, beta2, eps, LR))
    h_clip = float(theory.acclip_effective_step(g, v, beta2, eps, LR))
    return 0.5 * h_clip <= h_adam <= 2.0 * h_clip


def test_printed_inequality_has_a_counterexample():
    # hypothesis searches for a violation of the claim as printed; it must find one (the claim is false)
    g, v, beta2, eps = find(
        st.tuples(grads, second_moments, beta2s, epss),
        lambda x: not _printed_holds(*x),
        settings=settings(max_examples=2000, database=None, deadline=None),
    )
    # (find guarantees the violation itself; what it does not guarantee is which half fails and by how much)
    r = _ratio(g, v, beta2, eps)
    assert r < 0.5  # the lower half is the one that fails
    assert theory.RMSPROP_RATIO[0] * (1 - REL) <= r  # ... and the counterexample still respects the proven 1/4


def test_the_recorded_counterexample():
    # the one quoted in theory.ERRATA, in exact binary arithmetic: g = 1, v = 0, β2 = 3/4, ε = 1/2
    h_adam = theory.rmsprop_effective_step(1.0, 0.0, 0.75, 0.5, 1.0)
    h_clip = theory.acclip_effective_step(1.0, 0.0, 0.75, 0.5, 1.0)
    assert (h_adam, h_clip) == (1.0, 4.0)
    assert not 0.5 * h_clip <= h_adam  # ½·h_clip = 2α > h_Adam = α
    assert h_adam <= 2.0 * h_clip
    erratum = next(e for e in theory.ERRATA if e.where.startswith("Discussion, RMSProp"))
    assert "g_k = 1, v_k = 0, β2 = 0.75, ε = 0.5" in erratum.finding and "h_clip = 4α" in erratum.finding


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grads, second_moments, beta2s, epss)
def test_the_constants_that_hold(g, v, beta2, eps):
    r = _ratio(g, v, beta2, eps)
    lo, hi = theory.RMSPROP_RATIO
    assert lo * (1 - REL) <= r <= hi * (1 + REL)
    # the printed upper half holds (with room: the ratio never exceeds ½)
    assert r <= 2.0
    # with half the printed step the printed constants hold: ratio in [½, 1] ⊂ [½, 2]
    r_half = _ratio(g, v, beta2, eps, step_factor=1.0)
    assert 0.5 * (1 - REL) <= r_half <= 1.0 * (1 + REL)


@pytest.mark.parametrize(
    "g,v,beta2,eps,want",
    [
        (0.0, 0.0, 0.75, 0.5, 0.5),  # g = 0: h_Adam = α/A, h_clip = 2α/A
        (0.0, 3.0, 0.5, 0.25, 0.5),
        (1.0, 0.0, 0.75, 0.5, 0.25),  # v = 0 and √(1−β2)|g| = ε: D = 2ε = 2 max(A, s)
        (-4.0, 0.0, 0.9375, 1.0, 0.25),  # √(1 − 15/16)·4 = 1 = ε
    ],
)
def test_both_ends_are_attained(g, v, beta2, eps, want):
    # the bounds [¼, ½] cannot be improved: each end is reached exactly
    assert _ratio(g, v, beta2, eps) == want


def test_negative_control_a_wrong_constant_is_caught():
    # the property test can fail: a claimed lower constant above ¼ (0.3) has a counterexample too
    found = find(
        st.tuples(grads, second_moments, beta2s, epss),
        lambda x: _ratio(*x) < 0.3,
        settings=settings(max_examples=2000, database=None, deadline=None),
    )
    # find raises when it finds none (so reaching here is the caught case); the example it returns must lie
    # between the proven constant and the wrong one, else the wrong constant's failure is a bug elsewhere
    assert theory.RMSPROP_RATIO[0] * (1 - REL) <= _ratio(*found)


def test_ratio_formula_matches_the_derivation():
    # the closed form max(A, s)/(2D) of theory.RMSPROP_RATIO's comment, on a grid
    for g in (-3.0, -0.1, 0.0, 0.2, 7.0):
        for v in (0.0, 0.5, 40.0):
            for beta2 in (0.0, 0.5, 0.99):
                for eps in (1e-3, 0.5, 2.0):
                    a = eps + math.sqrt(beta2 * v)
                    s = math.sqrt(1 - beta2) * abs(g)
                    d = eps + math.sqrt(beta2 * v + s * s)
                    np.testing.assert_allclose(_ratio(g, v, beta2, eps), max(a, s) / (2 * d), rtol=1e-14)
