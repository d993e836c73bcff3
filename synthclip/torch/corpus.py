"""An offline English corpus for word-level language models, built from what every Python install carries.

Text: CPython's pydoc topic help (``pydoc_data.topics``, sorted topic order) followed by the docstrings of
the standard library's own modules (``ast.get_docstring`` of every module, class and function, the ``.py``
files in sorted path order, test suites and IDLE left out), up to ``MAX_DOCSTRING_CHARS`` characters so
that the corpus builds in seconds. The text changes with the Python version, so the cache key holds it.

Tokens: lower-cased words (letters, with an apostrophe suffix such as ``don't``), digit runs, runs of
punctuation as one token (``====``, ``-----+-----``, ``()``, ``.``), and one ``\\n`` token per run of line
breaks; other whitespace separates tokens. The vocabulary is the ``vocab_size − 1`` most frequent tokens
(ties broken by the token's text) plus ``<unk>`` (id 0) for the rest: a Zipfian vocabulary whose rare
tail maps to ``<unk>``.

The *no-formatting* ablation (``strip_formatting``) drops the lines of the text that carry no letter or
digit and hold a run of four or more identical characters (reST table borders ``+====+``, rules
``-----``, ``   ======  ====``): what the char-level probe found behind its largest noise norms.

The token stream is built once per (inputs, parameters, ``CORPUS_VERSION``) and cached as ``.npz`` under
``$SYNTHCLIP_CACHE`` (default ``~/.cache/synthclip``), written atomically; a changed input (another
Python, another parameter) is another key, so a stale file is never read.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import re
import sys
import sysconfig
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CORPUS_VERSION = 1
MAX_DOCSTRING_CHARS = 1_000_000  # bounds the build: ~3 s of ast.parse on one core
DEFAULT_VOCAB_SIZE = 4096
UNK = "<unk>"
NEWLINE = "\n"
_SKIP_DIRS = {"site-packages", "dist-packages", "test", "tests", "idlelib", "turtledemo", "__pycache__"}
_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|[0-9]+|[^\sA-Za-z0-9]+|\n+")
# a run of >= 4 identical non-alphanumeric characters (3 would take the doctest prompts ">>>" and "...")
_FORMAT_RUN = re.compile(r"([^\sA-Za-z0-9])\1{3}")


def is_formatting_line(line: str) -> bool:
    """A line with no letter or digit and a run of >= 4 identical characters: a table border or a rule."""
    s = line.strip()
    return bool(s) and not any(ch.isalnum() for ch in s) and _FORMAT_RUN.search(s) is not None


def strip_formatting(text: str) -> str:
    """``text`` without its formatting lines (:func:`is_formatting_line`)."""
    return "\n".join(line for line in text.split("\n") if not is_formatting_line(line))


def tokenize(text: str) -> list[str]:
    """Words (lower-cased), digit runs, punctuation runs and line-break runs (one ``\\n`` token each)."""
    return [NEWLINE if tok[0] == "\n" else tok.lower() for tok in _TOKEN.findall(text)]


def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if not _SKIP_DIRS.intersection(p.relative_to(root).parts[:-1]))


def stdlib_docstrings(max_chars: int = MAX_DOCSTRING_CHARS) -> str:
    """The standard library's docstrings (module, class, function; ``ast.walk`` order per file, files in
    sorted path order), joined by blank lines, stopping before ``max_chars`` characters."""
    parts, total = [], 0
    for path in _stdlib_files():
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):  # a file for another Python or unreadable: skipped
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if not doc:
                    continue
                if total + len(doc) > max_chars:
                    return "\n\n".join(parts)
                parts.append(doc)
                total += len(doc) + 2
    return "\n\n".join(parts)


def english_text(max_docstring_chars: int = MAX_DOCSTRING_CHARS) -> str:
    """pydoc's topic help followed by the standard library's docstrings."""
    from .data import python_docs_text

    return python_docs_text() + "\n\n" + stdlib_docstrings(max_docstring_chars)


@dataclass(frozen=True)
class Corpus:
    """A token stream (int64 ids into ``vocab``), ``vocab[0] == "<unk>"``, and where it is cached."""

    ids: np.ndarray
    vocab: tuple
    key: str
    path: Path

    @property
    def unk_fraction(self) -> float:
        return float(np.mean(self.ids == 0))

    def decode(self, ids) -> str:
        return " ".join(self.vocab[int(i)] for i in ids).replace(" \n ", "\n")


def build_vocab(tokens: list[str], vocab_size: int) -> tuple:
    """``<unk>`` then the ``vocab_size − 1`` most frequent tokens, by count (descending) then text."""
    counts = Counter(tokens)
    counts.pop(UNK, None)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return (UNK, *[tok for tok, _ in ranked[: vocab_size - 1]])


def encode(tokens: list[str], vocab: tuple) -> np.ndarray:
    lookup = {tok: i for i, tok in enumerate(vocab)}
    return np.fromiter((lookup.get(tok, 0) for tok in tokens), dtype=np.int64, count=len(tokens))


def cache_dir() -> Path:
    return Path(os.environ.get("SYNTHCLIP_CACHE") or Path.home() / ".cache" / "synthclip") / "corpus"


def _input_key(vocab_size: int, formatting: bool, max_docstring_chars: int) -> str:
    """SHA-256 of everything the corpus depends on: version, parameters, Python, the pydoc text, the
    standard library's file list with sizes (reading their sizes costs milliseconds; parsing, seconds)."""
    from .data import python_docs_text

    root = Path(sysconfig.get_paths()["stdlib"])
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            [
                CORPUS_VERSION,
                vocab_size,
                formatting,
                max_docstring_chars,
                sys.version,
                _TOKEN.pattern,
                _FORMAT_RUN.pattern,
                sorted(_SKIP_DIRS),
            ]
        ).encode()
    )
    digest.update(python_docs_text().encode())
    for p in _stdlib_files():
        digest.update(f"{p.relative_to(root)}\0{p.stat().st_size}\0".encode())
    return digest.hexdigest()[:24]


def build(
    vocab_size: int = DEFAULT_VOCAB_SIZE, formatting: bool = True, max_docstring_chars: int = MAX_DOCSTRING_CHARS
) -> tuple[np.ndarray, tuple]:
    """(ids, vocab) built from scratch (no cache). ``formatting=False``: the no-formatting ablation, whose
    vocabulary is built from its own (stripped) text."""
    text = english_text(max_docstring_chars)
    if not formatting:
        text = strip_formatting(text)
    tokens = tokenize(text)
    vocab = build_vocab(tokens, vocab_size)
    return encode(tokens, vocab), vocab


@functools.lru_cache(maxsize=8)
def load(
    vocab_size: int = DEFAULT_VOCAB_SIZE, formatting: bool = True, max_docstring_chars: int = MAX_DOCSTRING_CHARS
) -> Corpus:
    """The corpus for these parameters: read from the disk cache, or built once and written there."""
    from .. import io

    if not 2 <= vocab_size <= 2**20:
        raise ValueError(f"vocab_size must be in [2, 2^20], got {vocab_size}")
    if max_docstring_chars < 0:
        raise ValueError(f"max_docstring_chars must be >= 0, got {max_docstring_chars}")
    key = _input_key(vocab_size, formatting, max_docstring_chars)
    path = cache_dir() / f"words-{key}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return Corpus(z["ids"].copy(), tuple(json.loads(str(z["vocab"]))), key, path)
        except (OSError, ValueError, KeyError):  # a damaged file is rebuilt, not trusted
            pass
    ids, vocab = build(vocab_size, formatting, max_docstring_chars)
    with io.atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, ids=ids, vocab=np.array(json.dumps(vocab)))
    return Corpus(ids, vocab, key, path)
