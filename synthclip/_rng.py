"""Counter-based random streams: Philox-4x32-10 (Salmon et al., SC'11), usable inside numba.

Every random number in synthclip is a pure function of (key, counter): the key comes from the user's
seed through hashlib, the counter from (coordinate, step, trajectory, stream tag). No state is carried
between draws, so results cannot depend on thread count, chunking or backend.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numba import njit

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_TWO_M53 = 2.0**-53
_TWO_M54 = 2.0**-54
_S1 = np.uint64(1)
_S52 = np.uint64(52)

# Stream tags (counter word 3): independent sub-streams of one (trajectory, step).
TAG_COORD = 0  # per-coordinate draws
TAG_NORM = 1  # the heavy radius of radial noise


@njit(cache=True, error_model="numpy", inline="always")
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox-4x32 with 10 rounds; all arguments are uint64 holding 32-bit values."""
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = ((p1 >> _S32) ^ c1 ^ k0), (p1 & _MASK), ((p0 >> _S32) ^ c3 ^ k1), (p0 & _MASK)
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return c0, c1, c2, c3


@njit(cache=True, error_model="numpy", inline="always")
def open_uniform(hi, lo):
    """A double in the open interval (0, 1) from two 32-bit words: 53 random bits b, then

    * b < 2^52:  (2b + 1)·2^−54, the midpoint of the b-th of 2^53 equal cells (exact: 2b + 1 < 2^53);
    * b ≥ 2^52:  b·2^−53, the cell's left end, because doubles in [1/2, 1) are 2^−53 apart and the
      midpoint cannot be represented (rounding (b + 0.5)·2^−53 to even gave 1.0 at b = 2^53 − 1 and used
      only every other double of [1/2, 1)).

    So every value lies in [2^−54, 1 − 2^−53] and each double of [1/2, 1) is drawn exactly once. The odd
    integer and its scale are formed with integer shifts (no branch), so the loop still vectorises.
    """
    bits = ((hi << _S32) | lo) >> _S11
    top = bits >> _S52  # 1 for the upper half
    return float(((bits << _S1) | _S1) >> top) * (_TWO_M54 * float(_S1 + top))


@njit(cache=True, error_model="numpy", inline="always")
def centred(u):
    """u − 1/2 for an open uniform u, as (2b + 1 − 2^53)·2^−54 for every b: symmetric about 0 and never 0.

    Below 1/2 the subtraction is exact already; above, u is a cell's left end (see open_uniform) and the
    half-cell 2^−54 is added back (exact: the result has at most 53 significant bits), so a draw of the
    centred uniform (the stable law's angle V = π(U − 1/2)) is never exactly 0, where log|sin αV| is −inf.
    """
    return (u - 0.5) + (_TWO_M54 if u >= 0.5 else 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def uniform_pair(k0, k1, coord, step, traj, tag):
    """Two independent open uniforms and one random 32-bit word for one (coordinate, step, trajectory, tag)."""
    # the counter's words stay on one line: studies/mutate.py mutates that line
    # fmt: off
    c0, c1, c2, c3 = philox4x32(
        np.uint64(coord), np.uint64(step), np.uint64(traj) & _MASK,
        (np.uint64(traj) >> _S32) | (np.uint64(tag) << np.uint64(24)), k0, k1,
    )
    # fmt: on
    return open_uniform(c0, c1), open_uniform(c2, c3), c2


def derive_key(seed, *labels) -> tuple[int, int]:
    """A 64-bit Philox key from a seed and labels, through SHA-256 (never Python's per-process salted builtin)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer, str)):
        raise ValueError(f"seed must be a non-negative integer or a string, got {seed!r}")
    if not isinstance(seed, str) and seed < 0:
        raise ValueError(f"seed must be a non-negative integer or a string, got {seed!r}")
    text = "synthclip/" + "/".join([str(seed), *map(str, labels)])
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


def derive_seed(seed, *labels) -> int:
    """A 63-bit integer seed for numpy/torch generators, derived like derive_key."""
    k0, k1 = derive_key(seed, *labels)
    return ((k1 << 32) | k0) & ((1 << 63) - 1)
