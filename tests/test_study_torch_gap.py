"""torch-batch and torch-imbalance: the quick runs write their tables, verdicts and figures; step sizes are never
chosen on the judged seeds; the full batch is the full-data gradient; the class-group losses add up to the total
loss; the band words; Signum against a hand-written update; a batch larger than the data set and other bad flags
exit 2 with one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from synthclip import theory, verdict  # noqa: E402
from synthclip.harness import _torch_gap as G  # noqa: E402
from synthclip.harness import cli  # noqa: E402
from synthclip.study.torch_imbalance import class_groups  # noqa: E402
from synthclip.torch import ensemble, models  # noqa: E402
from synthclip.torch.data import Subset  # noqa: E402
from synthclip.torch.optim import SignSGDM  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORDS = {
    verdict.REPRODUCED,
    verdict.NOT_REPRODUCED,
    verdict.INCONCLUSIVE,
    verdict.NOT_TUNED,
    verdict.INSUFFICIENT,
    "closes",
    "does not close",
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("gap-root")
    for study in ("torch-batch", "torch-imbalance"):
        assert cli.main([study, "--quick", "--quiet", "--out", str(root / study)]) == 0
    return root


# -- the quick runs --------------------------------------------------------------------------------------


def test_quick_runs_write_tables_reports_figures_and_judge_every_claim(folders):
    for study, tables in (
        ("torch-batch", ("runs", "tuning", "final", "noise", "gaps", "claims")),
        ("torch-imbalance", ("runs", "tuning", "classes", "gaps", "claims")),
    ):
        for name in tables:
            assert (folders / study / f"{name}.parquet").exists(), (study, name)
        assert (folders / study / f"{study}.png").stat().st_size > 0
        claims = pd.read_parquet(folders / study / "claims.parquet")
        assert set(claims["claim"]) == {c.name for c in theory.gap_claims(study)}
        assert set(claims["verdict"]) <= WORDS
        report = (folders / study / "report.txt").read_text()
        assert "rule (fixed before the run" in report and all(c in report for c in claims["claim"])
    runs = pd.read_parquet(folders / "torch-batch" / "runs.parquet")
    # every method at every batch size of the ladder, up to the full batch, on both tasks
    assert set(runs["batch_size"]) == {1, 4, 8} and set(runs["method"]) == set(G.METHODS)
    assert set(runs["task"]) == set(G.TASKS)
    # the same budget in epochs: steps × B ≈ epochs × n at every batch size
    assert np.all(runs["steps"] == np.ceil(runs["epochs"] * runs["n_examples"] / runs["batch_size"]))
    noise = pd.read_parquet(folders / "torch-batch" / "noise.parquet")
    assert set(noise["batch_size"]) == {1, 4}  # no noise probe at the full batch: there is no noise
    assert np.all(noise["median_norm"] > 0) and np.all(noise["hill_alpha"] > 0)


def test_scoreboard_rows_carry_sources_and_the_band(folders):
    from synthclip.study import STUDIES

    for study in ("torch-batch", "torch-imbalance"):
        from synthclip import io

        meta = io.read_json(folders / study / "meta.json")
        tables = {n: pd.read_parquet(folders / study / f"{n}.parquet") for n in STUDIES[study].tables}
        rows = STUDIES[study].scoreboard(tables, meta)
        assert list(rows.columns) == list(verdict.SCOREBOARD_COLUMNS) and len(rows) == len(tables["claims"])
        assert rows["source"].str.contains("20").all() and np.all(rows["theory"] == theory.GAP_BAND)


# -- the tuning protocol ----------------------------------------------------------------------------------


class _Fake:
    """A trainer whose final loss is (log10 lr + 2)² + 1 on tuning keys, and a different law on the judged ones:
    if the judged seeds were ever consulted, the choice would move."""

    def __init__(self):
        self.calls = []

    def __call__(self, cell, lr, *, n_seeds, seed, checkpoints, observe=None):
        self.calls.append((lr, seed, n_seeds))
        best = -2.0 if seed == cell["tune_seed"] else -1.0
        loss = np.full((n_seeds, 1), (np.log10(lr) - best) ** 2 + 1.0)
        return ensemble.EnsembleResult(
            task=cell["task"],
            method=cell["method"],
            method_params={},
            checkpoints=np.array([1]),
            losses=loss,
            failed=np.zeros(n_seeds, bool),
            fail_step=-np.ones(n_seeds, int),
            keys=ensemble.seed_keys(seed, n_seeds),
            batch_size=1,
            steps=1,
            device="cpu",
            dtype="float32",
        )


def _on_other_seeds(calls, cell) -> bool:
    """Every call but the last (the judged run) used the tuning keys; the last used the judged keys."""
    *tuning, judged = calls
    return (
        all(s == cell["tune_seed"] and n == cell["n_tune_seeds"] for _, s, n in tuning)
        and judged[1] == cell["seed"]
        and judged[2] == cell["n_seeds"]
    )


def test_step_sizes_are_chosen_on_the_tuning_seeds_only():
    cell = {
        "task": "digits-cnn",
        "method": "sgd_m",
        "batch_size": 1,
        "steps": 1,
        "checkpoints": [1],
        "n_seeds": 6,
        "n_tune_seeds": 2,
        "lr_scale": 1.0,
        "n_examples": 8,
        "epochs": 1,
        "device": "cpu",
        "seed": 11,
        "tune_seed": 22,
    }
    fake = _Fake()
    res, runs, tuning = G.run_tuned(cell, trainer=fake)
    assert _on_other_seeds(fake.calls, cell)
    assert runs["lr"].iloc[0] == pytest.approx(0.01)  # the tuning law's optimum (10^-2), not the judged one's
    assert tuning["chosen"].sum() == 1 and not runs["lr_at_grid_edge"].iloc[0]
    # negative control: the check catches a protocol that tunes on the judged seeds
    assert not _on_other_seeds([(0.01, 11, 6), (0.01, 11, 6)], cell)
    # and the two key sets are disjoint
    assert not set(ensemble.seed_keys(22, 50)) & set(ensemble.seed_keys(11, 50))


def test_the_studies_derive_disjoint_tuning_and_judged_seeds():
    from synthclip.study import STUDIES

    for study in ("torch-batch", "torch-imbalance"):
        p = STUDIES[study].make_params({}, quick=True)
        for cell in STUDIES[study].cells(p):
            if "tune_seed" in cell:
                assert cell["tune_seed"] != cell["seed"]


# -- the full batch --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["digits-cnn", "words-transformer"])
def test_a_full_batch_step_is_the_full_data_gradient(name):
    kwargs = dict(G.SMALL_WORD_MODEL) if name.startswith("words") else {}
    task = models.make_task(name, dtype=torch.float64, **kwargs)
    n = 12
    task = type(task)(
        task.name,
        Subset(task.data, task.data.reference_indices(n)),
        task.loss_fn,
        task.factory,
        task.dtype,
        task.device,
    )
    x, y = task.data.take(torch.arange(n))
    key = 7
    seen = {}

    def observe(k, forward):
        seen[k] = forward(x)[0]

    def one_step(batch):
        ensemble.train_ensemble(
            task,
            "torch-sgd",
            n_seeds=1,
            steps=1,
            batch_size=batch,
            seed=0,
            init_key=key,
            method_params={"lr": 1.0},
            checkpoints=[1],
            observe=observe,
        )
        return seen[1]

    # direct: one backward pass over every example of the subset, then θ − ∇f(θ)
    model = task.build_model(key)
    task.loss_fn(model(x), y).backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= p.grad
        want = model(x)
    assert torch.allclose(one_step(n), want, rtol=1e-10, atol=1e-12)
    # negative control: a batch of n − 1 draws with replacement is not the full gradient
    assert not torch.allclose(one_step(n - 1), want, rtol=1e-6, atol=1e-8)


def test_a_batch_larger_than_the_subset_is_refused():
    task = models.make_task("digits-cnn")
    data = Subset(task.data, task.data.reference_indices(10))
    with pytest.raises(ValueError, match="<= 10"):
        data.batches(torch.tensor([1]), 1, 11)


# -- the class groups -------------------------------------------------------------------------------------


def test_class_groups_are_frequency_deciles_of_the_classes_that_occur():
    rng = np.random.default_rng(0)
    targets = rng.zipf(1.5, size=5000) % 400
    group, sizes = class_groups(targets, 10)
    counts = pd.Series(targets).value_counts()
    mean_count = pd.Series(counts.reindex(targets).to_numpy()).groupby(group).mean()
    assert np.all(np.diff(mean_count.to_numpy()) >= 0)  # group 0 the rarest
    assert sizes.sum() == counts.size and sizes.max() - sizes.min() <= 1
    # ten balanced classes: one class per group
    g, s = class_groups(np.repeat(np.arange(10), 5), 10)
    assert np.all(s == 1)


def test_group_losses_weighted_by_their_targets_sum_to_the_total_loss(folders):
    c = pd.read_parquet(folders / "torch-imbalance" / "classes.parquet")
    groups = c[c["group"] >= 0]
    total = c[c["group"] == -1].set_index(["task", "method", "seed", "step"])
    n = total["n_targets"]
    weighted = (
        (groups["loss"] * groups["n_targets"]).groupby([groups[k] for k in ("task", "method", "seed", "step")]).sum()
    )
    weighted = weighted / n.reindex(weighted.index)
    np.testing.assert_allclose(weighted.to_numpy(), total["loss"].reindex(weighted.index).to_numpy(), rtol=1e-5)
    # and the total is the ensemble's own loss on the subset
    np.testing.assert_allclose(total["loss"], total["ensemble_loss"], rtol=1e-5)
    # negative control: the unweighted mean of the groups is not the total on the Zipfian task
    plain = groups.groupby(["task", "method", "seed", "step"])["loss"].mean()
    words = [i for i in plain.index if i[0] == "words-transformer"]
    assert not np.allclose(plain.loc[words].to_numpy(), total["loss"].reindex(words).to_numpy(), rtol=1e-3)


# -- the words of the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "direction, interval, word",
    [
        ("above", (1.06, 1.2), verdict.REPRODUCED),
        ("above", (0.9, 1.04), verdict.NOT_REPRODUCED),
        ("above", (1.0, 1.1), verdict.INCONCLUSIVE),
        ("below", (0.8, 0.9), verdict.REPRODUCED),
        ("below", (0.96, 1.2), verdict.NOT_REPRODUCED),
        ("below", (0.9, 1.0), verdict.INCONCLUSIVE),
        ("within", (0.97, 1.03), verdict.REPRODUCED),
        ("within", (1.06, 1.1), verdict.NOT_REPRODUCED),
        ("within", (0.9, 0.94), verdict.NOT_REPRODUCED),
        ("within", (1.0, 1.1), verdict.INCONCLUSIVE),
        ("at most", (0.8, 1.04), verdict.REPRODUCED),
        ("at most", (1.06, 1.3), verdict.NOT_REPRODUCED),
        ("at most", (1.0, 1.1), verdict.INCONCLUSIVE),
        ("above", (np.nan, 1.2), verdict.INSUFFICIENT),
    ],
)
def test_band_words(direction, interval, word):
    assert verdict.band_word(direction, *interval, theory.GAP_BAND) == word


def test_every_gap_claim_has_a_source_a_direction_and_a_judged_ratio():
    from synthclip.study import torch_batch, torch_imbalance

    for c in theory.GAP_CLAIMS:
        assert c.direction in theory.GAP_DIRECTIONS and c.year >= 2020 and c.title
        judged = torch_batch.JUDGED if c.study == "torch-batch" else torch_imbalance.JUDGED
        assert c.name in judged
    assert {c.arxiv for c in theory.GAP_CLAIMS} >= {"2304.13960", "2506.12543", "2402.19449"}


# -- Signum ------------------------------------------------------------------------------------------------


def test_signum_matches_a_hand_written_update():
    torch.manual_seed(0)
    x0 = torch.randn(5, dtype=torch.float64)
    grads = [torch.randn(5, dtype=torch.float64) for _ in range(4)]
    p = torch.nn.Parameter(x0.clone())
    opt = SignSGDM([p], lr=0.1, beta=0.9)
    x, m, x_wrong = x0.clone(), torch.zeros(5, dtype=torch.float64), x0.clone()
    for g in grads:
        p.grad = g.clone()
        opt.step()
        m = 0.9 * m + 0.1 * g
        x = x - 0.1 * torch.sign(m)
        x_wrong = x_wrong - 0.1 * torch.sign(g)  # sign descent without momentum: a different path
    assert torch.equal(p.detach(), x)
    assert not torch.equal(x_wrong, x)


# -- bad flags ---------------------------------------------------------------------------------------------


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["torch-batch", "--n-examples", "8", "--batch-sizes", "1,9"], "8 examples"),
        (["torch-imbalance", "--n-examples", "40", "--batch-size", "41"], "40 examples"),
        (["torch-batch", "--n-examples", "5000"], "1797"),
        (["torch-batch", "--tasks", "resnet"], "--tasks"),
        (["torch-batch", "--methods", "sgd_m,signum"], "--methods"),
        (["torch-batch", "--n-seeds", "3"], "--n-seeds"),
        (["torch-batch", "--n-boot", "100"], "--n-boot"),
        (["torch-batch", "--batch-sizes", "4"], "--batch-sizes"),
        (["torch-batch", "--epochs", "0"], "--epochs"),
        (["torch-batch", "--device", "tpu"], "--device"),
        (["torch-imbalance", "--groups", "1"], "--groups"),
        (["torch-imbalance", "--checkpoints", "500"], "--checkpoints"),
        (["torch-imbalance", "--lr-scale", "-1"], "--lr-scale"),
    ],
)
def test_bad_flags_exit_2_with_one_line(argv, needle, tmp_path, capsys):
    code, out, err = _run([*argv, "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and needle in err, err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("study", ["torch-batch", "torch-imbalance"])
def test_cuda_without_cuda_exits_2_with_one_line(study, tmp_path, capsys):
    code, out, err = _run([study, "--quick", "--device", "cuda", "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "CUDA is not available" in err


def test_same_seed_gives_bit_identical_cells():
    from synthclip.study.torch_batch import train_cell

    cell = {
        "task": "digits-cnn",
        "method": "signum",
        "batch_size": 2,
        "steps": 3,
        "checkpoints": [3],
        "n_seeds": 2,
        "n_tune_seeds": 1,
        "lr_scale": 1.0,
        "n_examples": 6,
        "epochs": 1,
        "device": "cpu",
        "seed": 3,
        "tune_seed": 4,
    }
    a, b = train_cell(cell), train_cell(cell)
    pd.testing.assert_frame_equal(a["final"], b["final"])
    assert a["runs"]["lr"].iloc[0] == b["runs"]["lr"].iloc[0]
