"""A method outside the package whose rate is known exactly: SGD with step η_k = c/k.

On f(x) = μ‖x‖²/2 with c = 1/μ the iterate is the running mean of the noise, x_k = −(ξ_1 + … + ξ_k)/(μk),
whatever x_0; for i.i.d. symmetric α-stable noise the sum is k^(1/α) times one draw in law, so
f(x_k) = k^(−2(α−1)/α)·‖ξ‖²/(2μ) in law at every k: every quantile of the last iterate decays exactly as
k^(−2(α−1)/α) (k^(−1) for Gaussian noise, α = 2). studies/examples/test_my_method.py checks it.
"""

import numpy as np

from synthclip.methods import Method, Param, register


def step(p, k, lr, tau, x, g, clipped, work):  # jitted by the engine; x, g: (d, nb), one column a trajectory
    d, nb = x.shape
    h = p.gain / k
    for j in range(d):
        for t in range(nb):
            x[j, t] -= h * g[j, t]


def reference(p, k, lr, tau, x, g, state):  # numpy, one row a trajectory: the same update, no clipping
    return x - p.gain / k * g, np.zeros(x.shape[0])


register(
    Method(
        "sgd_harmonic",
        (Param("gain", 1.0, "step numerator c: η_k = c/k", low=0.0, low_open=True),),
        "SGD with step η_k = c/k (the running mean of the noise when c = 1/μ)",
        step=step,
        reference=reference,
    )
)
