"""Small models for the noise probe and the ensembles, and the tasks that pair them with data.

* :class:`CharTransformer` (also :class:`TransformerLM`): a causal transformer language model (2 pre-LN
  layers, d_model 64), on CPython's documentation text as characters ("text-transformer") or on the
  word-level corpus of :mod:`synthclip.torch.corpus` ("words-transformer"): the attention model of Zhang
  et al.'s Figure 1, where the gradient noise is expected to be heavy-tailed. Each text task has a
  "-noformat" ablation (table borders and rules removed from the text).
* Figure 4's grid on the word task: "words-noattn" is the same model with its self-attention sublayers
  removed (the paper's "ResNet": LayerNorm + MLP residual blocks), and the "-gauss" variants replace the
  token embeddings by normalized Gaussian input vectors (``data.GaussianTokenData``), next-word targets kept.
* :class:`DigitsMLP` / :class:`DigitsCNN`: an MLP and a small CNN on scikit-learn's digits: the image
  models, where the noise is expected to be lighter.

Every model is written with plain tensor ops (no fused attention, no dropout, no batch norm) so that
``torch.func.functional_call`` + ``vmap`` trains many copies at once and float64 runs are deterministic.
A model's initial weights are a function of a seed key only (``Task.build_model``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from . import data as _data

TASKS = (
    "digits-mlp",
    "digits-cnn",
    "text-transformer",
    "chars-transformer-noformat",
    "words-transformer",
    "words-transformer-noformat",
    "words-noattn",
    "words-transformer-gauss",
    "words-noattn-gauss",
)
#: The word-level tasks of Figure 4's 2 × 2 grid: (architecture, input) → task.
FIGURE4 = {
    ("attention", "text"): "words-transformer",
    ("no attention", "text"): "words-noattn",
    ("attention", "gaussian"): "words-transformer-gauss",
    ("no attention", "gaussian"): "words-noattn-gauss",
}


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
    """Pre-LN transformer block: x + attention(LN x), then x + MLP(LN x); without ``attention`` only the
    MLP sublayer (no parameters of the attention sublayer exist then)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, attention: bool = True):
        super().__init__()
        self.n_heads = n_heads
        self.attention = attention
        if attention:
            self.ln1 = nn.LayerNorm(d_model)
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, d_ff)
        self.ff2 = nn.Linear(d_ff, d_model)

    def forward(self, x):
        if self.attention:
            x = self._attend(x)
        return x + self.ff2(F.gelu(self.ff1(self.ln2(x))))

    def _attend(self, x):
        b, t, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.reshape(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // h)
        future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        att = scores.masked_fill(future, float("-inf")).softmax(-1)
        return x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))


class CharTransformer(nn.Module):
    """Causal language model (characters or words): token + learned position embeddings, ``n_layers``
    pre-LN blocks, final LayerNorm and a linear head to ``vocab_size`` logits per position.

    ``attention=False`` removes every block's self-attention sublayer; ``token_inputs=False`` takes input
    vectors of size ``d_model`` (shape (..., T, d_model)) in place of token ids, with no token embedding.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 64,
        n_heads: int = 4,
        n_layers: int = 2,
        d_ff: int = 256,
        max_len: int = 64,
        attention: bool = True,
        token_inputs: bool = True,
    ):
        super().__init__()
        self.token_inputs = token_inputs
        if token_inputs:
            self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, d_ff, attention) for _ in range(n_layers))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        for emb in (self.tok, self.pos) if token_inputs else (self.pos,):
            nn.init.normal_(emb.weight, std=0.02)  # GPT-style scale; N(0, 1) embeddings saturate the first LN

    def forward(self, idx):
        if self.token_inputs:
            t = idx.shape[-1]
            x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        else:
            t = idx.shape[-2]
            x = idx + self.pos(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


TransformerLM = CharTransformer  # the same model on words (the name says what it is there)


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

    digits-mlp / digits-cnn: 10-class cross-entropy on all 1797 digits. text-transformer (and
    chars-transformer-noformat): next-character cross-entropy on the Python documentation (``seq_len`` =
    the model's ``max_len``, default 64). words-*: next-word cross-entropy on the word corpus, windows of
    ``max_len`` = 32 words, ``vocab_size`` (a data parameter, default ``corpus.DEFAULT_VOCAB_SIZE``) words.
    """
    device = torch.device(device)
    if name in ("digits-mlp", "digits-cnn"):
        model_cls = DigitsMLP if name == "digits-mlp" else DigitsCNN
        dataset = _data.digits(dtype=dtype, device=device)
        return Task(name, dataset, classification_loss, lambda: model_cls(**model_kwargs), dtype, device)
    if name in ("text-transformer", "chars-transformer-noformat"):
        max_len = model_kwargs.setdefault("max_len", 64)
        dataset = _data.python_docs(seq_len=max_len, device=device, formatting=name == "text-transformer")
        vocab_size = len(dataset.vocab)
        return Task(
            name, dataset, classification_loss, lambda: CharTransformer(vocab_size, **model_kwargs), dtype, device
        )
    if name in TASKS and name.startswith("words-"):
        max_len = model_kwargs.setdefault("max_len", 32)
        gauss = name.endswith("-gauss")
        model_kwargs.update(attention="-noattn" not in name, token_inputs=not gauss)
        dataset = _data.english_words(
            seq_len=max_len,
            vocab_size=model_kwargs.pop("vocab_size", None),
            formatting=not name.endswith("-noformat"),
            gaussian_dim=model_kwargs.get("d_model", 64) if gauss else None,
            dtype=dtype,
            device=device,
        )
        vocab_size = len(dataset.vocab)
        return Task(
            name, dataset, classification_loss, lambda: TransformerLM(vocab_size, **model_kwargs), dtype, device
        )
    raise ValueError(f"unknown task {name!r}; valid: {', '.join(TASKS)}")
