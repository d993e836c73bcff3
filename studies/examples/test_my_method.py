"""Rate checks of your own method, in your own test suite: copy this file and sgd_harmonic.py beside it.

``assert_rate`` runs the method, fits the slope of log quantile against log k over the last decade and judges
it by synthclip's one verdict rule (docs/theory.md, "What a verdict means"); it fails with one line giving
the slope, its interval, the exponent and the verdict. False failures and power at these sizes:
docs/testing.md, "Your own rate checks".
"""

from pathlib import Path

from synthclip.methods import load_plugin
from synthclip.testing import assert_rate
from synthclip.theory import Claim

load_plugin(Path(__file__).with_name("sgd_harmonic.py"))  # registers "sgd_harmonic"

ALPHA = 1.5
EXPONENT = -2 * (ALPHA - 1) / ALPHA  # f(x_k) of the running mean decays as k^(−2(α−1)/α) exactly

# the same statement as a Claim: kind "upper" is judged in the words within (tight) / (not tight) / violates
MY_RATE = Claim(
    "my-rate",
    "sgd_harmonic",
    "strongly_convex",
    "f",
    "k^(−2(α−1)/α)",
    "the running mean's law",
    "upper",
    exponent=lambda a: -2 * (a - 1) / a,
    noise=("symmetric",),
)


def test_rate_of_the_last_iterate():
    assert_rate(
        "sgd_harmonic", noise="stable", alpha=ALPHA, exponent=EXPONENT, metric="f", n_traj=10_000, steps=2_000, seed=0
    )


def test_rate_against_a_claim():
    row = assert_rate("sgd_harmonic", noise="stable", alpha=ALPHA, claim=MY_RATE, n_traj=10_000, steps=2_000, seed=1)
    assert row.verdict == "within (tight)"
