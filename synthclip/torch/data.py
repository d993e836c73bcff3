"""Offline data sets for the torch bridge, with counter-based minibatch sampling.

Everything ships with the installed packages, so nothing is downloaded: scikit-learn's ``load_digits``
(1797 8×8 images, 10 classes), English text from CPython's own documentation, ``pydoc_data.topics.topics``
(about 465k characters on Python 3.11; the text changes with the Python version) as characters, and the
word-level corpus of :mod:`synthclip.torch.corpus` (that text plus the standard library's docstrings).
Each text comes with a no-formatting ablation (table borders and rules removed), and the word stream also
as normalized Gaussian vectors in place of its tokens (the synthetic inputs of Zhang et al.'s Figure 4).
A minibatch is a set of example indices drawn uniformly with replacement (i.i.d. stochastic
gradients, as the theory assumes) from a counter-based hash of (seed key, step, slot): the batch of
seed s at step k is the same whether s trains alone, in an ensemble of any size, on CPU or on GPU.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

_MASK32 = 0xFFFFFFFF


def derive_seed(*keys) -> int:
    """A 63-bit seed from any tuple of ints/strings (hashlib: stable across runs and platforms)."""
    digest = hashlib.sha256(repr(tuple(keys)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _mulmod32(x: torch.Tensor, c: int) -> torch.Tensor:
    # (x·c) mod 2^32 for x < 2^32 in 16-bit halves, so no int64 product overflows
    lo, hi = x & 0xFFFF, x >> 16
    return (lo * c + (((hi * c) & 0xFFFF) << 16)) & _MASK32


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A bijective 32-bit hash (Wellons' lowbias32) on int64 tensors holding uint32 values."""
    x = x ^ (x >> 16)
    x = _mulmod32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mulmod32(x, 0x846CA68B)
    return x ^ (x >> 16)


def sample_indices(
    keys: int | Sequence[int] | torch.Tensor, step: int, size: int, n: int, device: str | torch.device | None = None
) -> torch.Tensor:
    """Uniform indices in [0, n) of shape keys.shape + (size,), a pure function of (key, step, slot).

    ``keys`` are 63-bit seed keys (``derive_seed``); ``step`` the training step. Lemire's multiply-shift
    maps the 32-bit hash to [0, n) (bias below n/2^32).
    """
    if not 0 < n < 2**31:
        raise ValueError(f"n must be in [1, 2^31), got {n}")
    keys = torch.as_tensor(keys, dtype=torch.int64, device=device)
    h = _mix32((keys & _MASK32) ^ 0x9E3779B9)
    h = _mix32(h ^ ((keys >> 32) & _MASK32))
    h = _mix32(h ^ (int(step) & _MASK32))
    slots = torch.arange(size, dtype=torch.int64, device=keys.device)
    h = _mix32(h.unsqueeze(-1) ^ _mix32(slots + 0x632BE5AB))
    return (h * n) >> 32


class Data:
    """Examples addressed by an index; ``take(idx)`` returns (inputs, targets) for an index tensor of any
    shape (the leading shape is kept, e.g. (n_seeds, batch))."""

    n: int
    reference_size: int | None = None  # size of the "full" objective when not given (None: all)

    def take(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def to(self, device=None, dtype=None) -> Data:
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        raise NotImplementedError

    def batch(self, key: int, step: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The minibatch of one seed key at a step."""
        return self.take(sample_indices(key, step, size, self.n, self.device))

    def batches(self, keys: torch.Tensor, step: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The minibatches of many seed keys at a step, stacked: shapes (len(keys), size, ...)."""
        return self.take(sample_indices(keys, step, size, self.n, self.device))

    def reference_indices(self, max_size: int | None = None) -> torch.Tensor:
        """The examples of the "full" objective: ``max_size`` (default ``reference_size``) evenly spaced
        ones, or all of them when that is None or at least n."""
        max_size = self.reference_size if max_size is None else max_size
        if max_size is None or max_size >= self.n:
            return torch.arange(self.n, device=self.device)
        return torch.linspace(0, self.n - 1, max_size, device=self.device).round().long()


@dataclass
class ArrayData(Data):
    """Examples as rows of an input tensor and a target tensor (e.g. digit images and labels)."""

    inputs: torch.Tensor
    targets: torch.Tensor

    def __post_init__(self):
        self.n = int(self.inputs.shape[0])

    def take(self, idx):
        return self.inputs[idx], self.targets[idx]

    @property
    def device(self):
        return self.inputs.device

    def to(self, device=None, dtype=None):
        inputs = self.inputs.to(device=device, dtype=dtype if self.inputs.is_floating_point() else None)
        return ArrayData(inputs, self.targets.to(device=device))


@dataclass
class TokenData(Data):
    """A token stream for next-token prediction: example j is tokens[j : j+T] → tokens[j+1 : j+T+1].

    The "full" objective defaults to 2048 evenly spaced windows (a large batch): all ~465k windows
    would cost a few hundred minibatch gradients for little change.
    """

    tokens: torch.Tensor
    seq_len: int
    vocab: Sequence[str]  # a string of characters, or a tuple of words
    reference_size: int | None = 2048
    separator: str = ""  # between decoded tokens: "" for characters, " " for words

    def __post_init__(self):
        self.n = int(self.tokens.numel()) - self.seq_len
        if self.n <= 0:
            raise ValueError(f"text of {self.tokens.numel()} tokens is shorter than seq_len + 1")

    def positions(self, idx: torch.Tensor) -> torch.Tensor:
        """Stream positions of the input tokens of the windows ``idx``: shape idx.shape + (seq_len,)."""
        return idx.unsqueeze(-1) + torch.arange(self.seq_len, device=idx.device)

    def take(self, idx):
        pos = self.positions(idx)
        return self.tokens[pos], self.tokens[pos + 1]

    @property
    def device(self):
        return self.tokens.device

    def to(self, device=None, dtype=None):
        return TokenData(self.tokens.to(device=device), self.seq_len, self.vocab, self.reference_size, self.separator)

    def decode(self, ids) -> str:
        return self.separator.join(self.vocab[int(i)] for i in ids)

    def window_text(self, index: int) -> str:
        """The decoded input text of window ``index`` (what the probe's largest noise norms are traced to)."""
        return self.decode(self.tokens[int(index) : int(index) + self.seq_len].tolist())


def gaussian_rows(positions: torch.Tensor, dim: int, key: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Unit-norm Gaussian vectors, one per entry of ``positions``: shape positions.shape + (dim,).

    A pure function of (key, position, coordinate) through the counter-based hash of :func:`sample_indices`
    and Box–Muller, so a stream position always gets the same vector (on any device, in any batch).
    """
    pos = torch.as_tensor(positions, dtype=torch.int64)
    base = _mix32(_mix32((pos & _MASK32) ^ 0x2545F491) ^ (int(key) & _MASK32)).unsqueeze(-1)
    coord = torch.arange(dim, dtype=torch.int64, device=pos.device)
    h1 = _mix32(base ^ _mix32(2 * coord + 0x68E31DA4))
    h2 = _mix32(base ^ _mix32(2 * coord + 0x1B56C4E9))
    u1 = (h1.double() + 0.5) / 2.0**32  # open interval: log never sees 0
    u2 = (h2.double() + 0.5) / 2.0**32
    z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
    return (z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)).to(dtype)


@dataclass
class GaussianTokenData(TokenData):
    """A token stream whose inputs are replaced by normalized Gaussian vectors (``gaussian_rows`` of the
    input positions, dimension ``dim``); the targets stay the next tokens of the text. This is Zhang et
    al.'s Figure 4 "Gaussian synthetic data": the token-embedding layer replaced by Gaussian input."""

    dim: int = 64
    dtype: torch.dtype = torch.float32

    def take(self, idx):
        pos = self.positions(idx)
        return gaussian_rows(pos, self.dim, dtype=self.dtype), self.tokens[pos + 1]

    def to(self, device=None, dtype=None):
        return GaussianTokenData(
            self.tokens.to(device=device),
            self.seq_len,
            self.vocab,
            self.reference_size,
            self.separator,
            self.dim,
            dtype or self.dtype,
        )


def digits(dtype: torch.dtype = torch.float32, device=None) -> ArrayData:
    """scikit-learn's digits (ships with the package): 1797 images as (N, 1, 8, 8) in [0, 1], labels (N,)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    inputs = torch.as_tensor(bunch.images / 16.0, dtype=dtype).unsqueeze(1)
    return ArrayData(inputs.to(device), torch.as_tensor(bunch.target, dtype=torch.int64, device=device))


def python_docs_text() -> str:
    """English text that ships with CPython: the pydoc topic help, in sorted topic order."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


def python_docs(seq_len: int = 64, device=None, formatting: bool = True) -> TokenData:
    """Character-level tokens of :func:`python_docs_text` (vocabulary: the sorted set of its characters);
    ``formatting=False``: without its table borders and rules (``corpus.strip_formatting``)."""
    text = python_docs_text()
    if not formatting:
        from .corpus import strip_formatting

        text = strip_formatting(text)
    vocab = "".join(sorted(set(text)))
    lookup = {ch: i for i, ch in enumerate(vocab)}
    tokens = torch.tensor([lookup[ch] for ch in text], dtype=torch.int64, device=device)
    return TokenData(tokens, seq_len, vocab)


def english_words(
    seq_len: int = 32,
    vocab_size: int | None = None,
    formatting: bool = True,
    gaussian_dim: int | None = None,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> TokenData:
    """Word-level tokens of the cached corpus (:mod:`synthclip.torch.corpus`): pydoc topics plus the
    standard library's docstrings, ``vocab_size`` words (default ``corpus.DEFAULT_VOCAB_SIZE``, the rest
    ``<unk>``); ``formatting=False``: the no-formatting ablation; ``gaussian_dim``: normalized Gaussian
    inputs of that dimension in place of the tokens (:class:`GaussianTokenData`)."""
    from . import corpus

    c = corpus.load(corpus.DEFAULT_VOCAB_SIZE if vocab_size is None else int(vocab_size), bool(formatting))
    tokens = torch.as_tensor(c.ids, dtype=torch.int64, device=device)
    if gaussian_dim is None:
        return TokenData(tokens, seq_len, c.vocab, separator=" ")
    return GaussianTokenData(tokens, seq_len, c.vocab, separator=" ", dim=int(gaussian_dim), dtype=dtype)


class Subset(Data):
    """The examples ``indices`` of another data set, as a data set of its own (``n = len(indices)``), so that a
    full-batch gradient is affordable: the studies of batch size train on a fixed subset up to its full batch.

    Minibatches are drawn i.i.d. with replacement as for every data set, except a batch of exactly ``n``
    examples, which is the subset itself in order: the full-batch gradient (gradient descent), not n draws with
    replacement. Batches larger than ``n`` are refused. The "full" objective is every example of the subset.
    """

    def __init__(self, base: Data, indices: torch.Tensor):
        idx = torch.as_tensor(indices, dtype=torch.int64, device=base.device).reshape(-1)
        if idx.numel() < 1 or int(idx.min()) < 0 or int(idx.max()) >= base.n:
            raise ValueError(f"indices must be a nonempty set of examples in [0, {base.n}), got {idx.numel()}")
        self.base, self.indices, self.n = base, idx, int(idx.numel())
        self.reference_size = None

    def take(self, idx):
        return self.base.take(self.indices[idx])

    @property
    def device(self):
        return self.base.device

    def to(self, device=None, dtype=None):
        return Subset(self.base.to(device, dtype), self.indices.to(device))

    def batches(self, keys: torch.Tensor, step: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        if size > self.n:
            raise ValueError(f"batch size must be <= {self.n}, the examples of the subset, got {size}")
        if size == self.n:  # the full batch: every example once, the same for every seed key
            every = torch.arange(self.n, device=self.device).expand(len(keys), self.n)
            return self.take(every)
        return super().batches(keys, step, size)

    def batch(self, key: int, step: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batches(torch.as_tensor([key], dtype=torch.int64, device=self.device), step, size)
        return x[0], y[0]

    def targets(self) -> torch.Tensor:
        """Every target of the subset (a label per image; the next token of every window position)."""
        return self.take(torch.arange(self.n, device=self.device))[1]
