"""A method outside the package: clipped SGD with heavy-ball momentum, m_k = β m_{k−1} + (1−β) clip(g_k, τ_k),
x_k = x_{k−1} − η_k m_k. Run: python -m synthclip.study rates --plugin studies/examples/my_method.py --methods my_method
"""

import math

import numpy as np

from synthclip.methods import Method, Param, clip_params, lr_params, register


def step(p, k, lr, tau, x, g, clipped, work, m):  # jitted by the engine; x, g, m: (d, nb), one column a trajectory
    d, nb = x.shape
    for t in range(nb):
        sq = 0.0
        for j in range(d):
            sq += g[j, t] * g[j, t]
        norm = math.sqrt(sq)
        clipped[t] += 1.0 if norm > tau else 0.0
        work[t] = tau / norm if norm > tau else 1.0
    for j in range(d):
        for t in range(nb):
            m[j, t] = p.beta * m[j, t] + (1.0 - p.beta) * work[t] * g[j, t]
            x[j, t] -= lr * m[j, t]


def reference(p, k, lr, tau, x, g, state):  # numpy, one row a trajectory: the tests run it against the kernel
    norm = np.linalg.norm(g, axis=1, keepdims=True)
    state["m"][:] = p.beta * state["m"] + (1 - p.beta) * np.minimum(1.0, tau / norm) * g
    return x - lr * state["m"], (norm[:, 0] > tau).astype(float)


PARAMS = lr_params(4.0, "theorem4") + clip_params(1.0, "poly", "alpha-1")
PARAMS += (Param("beta", 0.5, "momentum β", low=0.0, high=1.0, high_open=True),)
VARIANTS = ({"beta": 0.0, "clip_schedule": "constant", "clip": 0.5},)  # also checked against the reference
DOC = "clipped SGD with heavy-ball momentum (the plugin example)"
register(Method("my_method", PARAMS, DOC, step=step, reference=reference, vectors=("m",), variants=VARIANTS))
