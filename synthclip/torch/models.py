"""Small models for the noise probe and the ensembles, and the tasks that pair them with data.

* :class:`CharTransformer`: a character-level causal transformer language model (2 pre-LN layers,
  d_model 64) on CPython's documentation text: the attention model of Zhang et al.'s Figure 1, where
  the gradient noise is expected to be heavy-tailed.
* :class:`DigitsMLP` / :class:`DigitsCNN`: an MLP and a small CNN on scikit-learn's digits: the image
  models, where the noise is expected to be lighter.

Every model is written with plain tensor ops (no fused attention, no dropout, no batch norm) so that
``torch.func.functional_call`` + ``vmap`` trains many copies at once and float64 runs are deterministic.
A model's initial weights are a function of a seed key only (``Task.build_model``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from . import data as _data

TASKS = ("digits-mlp", "digits-cnn", "text-transformer")


class DigitsMLP(nn.Module):
    """8×8 image → ``depth`` tanh layers of width ``hidden`` → 10 logits."""

    def __init__(self, hidden: int = 64, depth: int = 2, n_in: int = 64, n_out: int = 10):
        super().__init__()
        widths = [n_in] + [hidden] * depth
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.head = nn.Linear(widths[-1], n_out)

    def forward(self, x):
        x = x.flatten(-3) if x.dim() >= 3 else x
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return self.head(x)


class DigitsCNN(nn.Module):
    """(1, 8, 8) image → two 3×3 conv layers (8 and 16 channels, ReLU) → 2×2 average pool → 10 logits."""

    def __init__(self, channels: tuple[int, int] = (8, 16), n_out: int = 10):
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.head = nn.Linear(c2 * 16, n_out)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        return self.head(x.flatten(-3))


class _Block(nn.Module):
    """Pre-LN transformer block: x + attention(LN x), then x + MLP(LN x)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int):
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, d_ff)
        self.ff2 = nn.Linear(d_ff, d_model)

    def forward(self, x):
        b, t, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.reshape(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // h)
        future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        att = scores.masked_fill(future, float("-inf")).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.ff2(F.gelu(self.ff1(self.ln2(x))))


class CharTransformer(nn.Module):
    """Character-level causal language model: token + learned position embeddings, ``n_layers`` pre-LN
    blocks, final LayerNorm and a linear head to ``vocab_size`` logits per position."""

    def __init__(self, vocab_size: int, d_model: int = 64, n_heads: int = 4, n_layers: int = 2,
                 d_ff: int = 256, max_len: int = 64):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, d_ff) for _ in range(n_layers))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        for emb in (self.tok, self.pos):
            nn.init.normal_(emb.weight, std=0.02)  # GPT-style scale; N(0, 1) embeddings saturate the first LN

    def forward(self, idx):
        t = idx.shape[-1]
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def classification_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over all leading positions (works for (B, C) and (B, T, C) logits)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@dataclass
class Task:
    """A model family, its data and its loss: what the probe and the ensemble train.

    ``build_model(key)`` returns a fresh model whose initial weights depend on ``key`` only (built on
    CPU with the global RNG forked, then cast and moved), so seed s starts identically alone or in an
    ensemble, on any device.
    """

    name: str
    data: _data.Data
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    factory: Callable[[], nn.Module]
    dtype: torch.dtype = torch.float32
    device: torch.device = torch.device("cpu")

    def build_model(self, key: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(key)
            model = self.factory()
        return model.to(device=self.device, dtype=self.dtype)


def make_task(name: str, *, dtype: torch.dtype = torch.float32, device="cpu", **model_kwargs) -> Task:
    """The task called ``name`` (one of ``TASKS``); ``model_kwargs`` go to the model's constructor.

    digits-mlp / digits-cnn: 10-class cross-entropy on all 1797 digits. text-transformer: next-character
    cross-entropy on the Python documentation (``seq_len`` = the model's ``max_len``, default 64).
    """
    device = torch.device(device)
    if name in ("digits-mlp", "digits-cnn"):
        model_cls = DigitsMLP if name == "digits-mlp" else DigitsCNN
        dataset = _data.digits(dtype=dtype, device=device)
        return Task(name, dataset, classification_loss, lambda: model_cls(**model_kwargs), dtype, device)
    if name == "text-transformer":
        max_len = model_kwargs.setdefault("max_len", 64)
        dataset = _data.python_docs(seq_len=max_len, device=device)
        vocab_size = len(dataset.vocab)
        return Task(name, dataset, classification_loss, lambda: CharTransformer(vocab_size, **model_kwargs),
                    dtype, device)
    raise ValueError(f"unknown task {name!r}; valid: {', '.join(TASKS)}")
