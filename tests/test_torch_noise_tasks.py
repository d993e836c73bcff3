"""The word-level corpus and the tasks of torch-noise: deterministic, cached, the ablations remove what they
say (and only that), Figure 4's models differ from the attention model exactly by their named part."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synthclip.torch import corpus, data, models  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = 20_000  # docstring characters: the build takes a fraction of a second


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHCLIP_CACHE", str(tmp_path))
    corpus.load.cache_clear()
    yield tmp_path / "corpus"
    corpus.load.cache_clear()


def test_tokenizer_keeps_punctuation_runs_as_one_token():
    assert corpus.tokenize("Hello, World!! don't +----+----+\n\n  x1 42") == [
        "hello",
        ",",
        "world",
        "!!",
        "don't",
        "+----+----+",
        "\n",
        "x",
        "1",
        "42",
    ]


def test_formatting_lines_are_borders_and_rules_only():
    removed = ["+--------+-----+", "=======  ======", "   ----------", "|==========|", "**********"]
    kept = [">>> x = 1", "...", ">>>", "a ---- b", "Table 1 ====", "", "   (x)", "--"]
    assert all(corpus.is_formatting_line(s) for s in removed)
    assert not any(corpus.is_formatting_line(s) for s in kept)  # the negative control
    text = "\n".join(["title", "=====", "body text", "+----+", "end"])
    assert corpus.strip_formatting(text) == "title\nbody text\nend"


def test_corpus_is_deterministic_zipfian_and_cached_atomically(cache):
    c = corpus.load(vocab_size=500, max_docstring_chars=SMALL)
    assert c.path.parent == cache and c.path.exists()
    assert not list(cache.glob(".*.tmp"))  # the atomic write left no temporary file
    assert c.vocab[0] == corpus.UNK and len(c.vocab) == 500 and len(set(c.vocab)) == 500
    counts = np.bincount(c.ids, minlength=500)[1:]
    assert np.all(np.diff(counts) <= 0)  # ids ranked by frequency: the Zipfian vocabulary
    assert 0 < c.unk_fraction < 0.2
    ids, vocab = corpus.build(vocab_size=500, max_docstring_chars=SMALL)  # from scratch, no cache
    assert vocab == c.vocab and np.array_equal(ids, c.ids)
    corpus.load.cache_clear()
    again = corpus.load(vocab_size=500, max_docstring_chars=SMALL)  # from the file
    assert again.path == c.path and np.array_equal(again.ids, c.ids) and again.vocab == c.vocab
    other = corpus.load(vocab_size=400, max_docstring_chars=SMALL)  # another input is another key
    assert other.key != c.key and len(other.vocab) == 400


def test_a_damaged_cache_file_is_rebuilt(cache):
    c = corpus.load(vocab_size=300, max_docstring_chars=SMALL)
    c.path.write_bytes(b"not an npz")
    corpus.load.cache_clear()
    again = corpus.load(vocab_size=300, max_docstring_chars=SMALL)
    assert np.array_equal(again.ids, c.ids) and again.vocab == c.vocab


def test_corpus_rejects_bad_sizes():
    with pytest.raises(ValueError, match="vocab_size"):
        corpus.load(vocab_size=1)
    with pytest.raises(ValueError, match="max_docstring_chars"):
        corpus.load(max_docstring_chars=-1)


def test_stdlib_docstrings_are_bounded_and_in_sorted_file_order():
    text = corpus.stdlib_docstrings(SMALL)
    assert 0.5 * SMALL < len(text) <= SMALL
    assert text == corpus.stdlib_docstrings(SMALL)


def test_noformat_text_tasks_drop_exactly_the_formatting_lines():
    full, plain = models.make_task("text-transformer"), models.make_task("chars-transformer-noformat")
    full_text = full.data.decode(full.data.tokens.tolist())
    plain_text = plain.data.decode(plain.data.tokens.tolist())
    assert sum(map(corpus.is_formatting_line, full_text.split("\n"))) > 100  # the ablation removes something
    assert not any(map(corpus.is_formatting_line, plain_text.split("\n")))
    assert plain_text == corpus.strip_formatting(full_text)


def test_word_tasks_decode_windows_and_share_their_stream():
    words = models.make_task("words-transformer")
    assert words.data.seq_len == 32 and words.data.vocab[0] == corpus.UNK
    x, y = words.data.take(torch.tensor([[0, 5]]))
    assert x.shape == (1, 2, 32) and torch.equal(x[0, 1, 1:], y[0, 1, :-1])
    assert words.data.window_text(0).split(" ")[:3] == [words.data.vocab[int(i)] for i in x[0, 0, :3]]
    plain = models.make_task("words-transformer-noformat")
    assert plain.data.n < words.data.n


def test_figure4_models_differ_by_their_named_part():
    names = {k: dict(models.make_task(t).build_model(0).named_parameters()) for k, t in models.FIGURE4.items()}
    full = names[("attention", "text")]
    no_att = names[("no attention", "text")]
    gauss = names[("attention", "gaussian")]
    assert any(".qkv." in n for n in full) and not any(".qkv." in n or ".ln1." in n for n in no_att)
    assert set(no_att) < set(full) and set(gauss) == set(full) - {"tok.weight"}
    assert set(names[("no attention", "gaussian")]) == set(no_att) - {"tok.weight"}
    for name in models.FIGURE4.values():
        task = models.make_task(name)
        x, y = task.data.take(torch.tensor([3, 9]))
        out = task.build_model(0)(x)
        assert out.shape == (2, 32, len(task.data.vocab)) and torch.isfinite(out).all()
        assert torch.isfinite(task.loss_fn(out, y))


def test_gaussian_inputs_are_unit_vectors_of_their_stream_position():
    task = models.make_task("words-transformer-gauss")
    x, y = task.data.take(torch.tensor([10, 11]))
    assert x.shape == (2, 32, 64) and x.dtype == torch.float32
    torch.testing.assert_close(torch.linalg.vector_norm(x, dim=-1), torch.ones(2, 32))
    assert torch.equal(x[0, 1:], x[1, :-1])  # position s has one vector, whichever window holds it
    assert torch.equal(y, models.make_task("words-transformer").data.take(torch.tensor([10, 11]))[1])


def test_gaussian_rows_are_uniform_directions():
    # z_i² of a uniform unit vector in R^d is Beta(1/2, (d − 1)/2); KS at false-failure rate 1e-3, and the
    # negative control (the Beta law of dimension 2d) must be rejected at the same level
    from scipy import stats

    d = 16
    z = data.gaussian_rows(torch.arange(2000), d, key=7, dtype=torch.float64).numpy()
    sq = (z**2)[:, :4].ravel()  # 8000 coordinates from 4 different coordinate streams
    assert stats.kstest(sq, stats.beta(0.5, (d - 1) / 2).cdf).pvalue > 1e-3
    assert stats.kstest(sq, stats.beta(0.5, (2 * d - 1) / 2).cdf).pvalue < 1e-3
    assert np.array_equal(z, data.gaussian_rows(torch.arange(2000), d, key=7, dtype=torch.float64).numpy())
    assert not np.array_equal(z, data.gaussian_rows(torch.arange(2000), d, key=8, dtype=torch.float64).numpy())


def test_task_names_agree_with_the_studies_and_unknown_names_are_rejected():
    from synthclip.study import torch_noise

    assert len(set(models.TASKS)) == len(models.TASKS) and set(torch_noise.TASKS) == set(models.TASKS)
    with pytest.raises(ValueError, match="unknown task"):
        models.make_task("words-resnet")
