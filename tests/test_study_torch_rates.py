"""torch-rates: the quick run writes its tables, verdicts and figure; the ensemble runs torch optimizers and
momentum-clipping per seed; seeds share their initial weights by default; the ratio bootstrap holds its
level under equal laws and detects a real difference; the verdict rules; bad flags exit 2 with one line."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

torch = pytest.importorskip("torch")

from synthclip.harness import cli  # noqa: E402
from synthclip.harness.base import StudyError  # noqa: E402
from synthclip.study.torch_rates import (  # noqa: E402
    EQUIVALENCE,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TUNED,
    REPRODUCED,
    RUNGS,
    TorchRates,
    claim_rows,
    contrast_verdict,
    ratio_rows,
    rung_verdict,
)
from synthclip.torch import ensemble, models  # noqa: E402
from synthclip.torch.optim import CClip, GClip  # noqa: E402
from synthclip.tuning import MAX_EXTENSIONS  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

VERDICTS = {REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_TUNED, "insufficient data"}


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def rates_folder(tmp_path_factory):
    # a root of its own: the scoreboard test gathers every study folder under the parent
    out = tmp_path_factory.mktemp("torch-rates-root") / "torch-rates"
    assert cli.main(["torch-rates", "--quick", "--quiet", "--out", str(out)]) == 0
    return out


# -- the quick run ---------------------------------------------------------------------------------------


def test_quick_run_writes_tables_report_and_figure(rates_folder):
    for name in ("quantiles", "paths", "tuning", "runs", "ratios", "claims"):
        assert (rates_folder / f"{name}.parquet").exists(), name
    assert (rates_folder / "torch-rates.png").stat().st_size > 0
    runs = pd.read_parquet(rates_folder / "runs.parquet")
    # the comparison on both tasks, the ladder's extra methods on the text task
    assert set(runs[runs["kind"] == "vision"]["method"]) == {
        "sgd",
        "gclip",
        "adam_norm",
        "clip_adam_norm",
        "adam",
        "sgd_m",
    }
    assert set(runs[runs["kind"] == "text"]["method"]) == {
        "sgd",
        "gclip",
        "adam_norm",
        "clip_adam_norm",
        "adam",
        "sgd_m",
        "gclip_m",
        "cclip_m",
        "acclip",
    }
    assert np.all(runs["n_seeds"] == 8) and runs["same_init"].all()
    q = pd.read_parquet(rates_folder / "quantiles.parquet")
    q = q[q["statistic"] == "quantile"]
    assert set(q["metric"]) == {"loss", "grad_norm"}
    assert np.all(np.isfinite(q["value"])) and np.all(q["ci_low"] <= q["value"]) and np.all(q["value"] > 0)
    report = (rates_folder / "report.txt").read_text()
    for claim in ("seed000-clipping", "fig1a-adam-vs-sgd", "fig3a-gclip>sgd_m", "fig3a-acclip>adam"):
        assert claim in report


def test_tuning_picks_one_grid_point_per_run_on_other_seeds(rates_folder):
    tuning = pd.read_parquet(rates_folder / "tuning.parquet")
    runs = pd.read_parquet(rates_folder / "runs.parquet")
    per_run = tuning.groupby(["task", "method"])
    # the study's grid of 3, plus one point per extension past an edge optimum (at most MAX_EXTENSIONS)
    assert per_run.size().between(3, 3 + MAX_EXTENSIONS).all() and (per_run["chosen"].sum() == 1).all()
    assert (per_run.size() == 3 + per_run["n_extensions"].first()).all()
    assert (per_run.apply(lambda t: (t["extension"] == 0).sum()) == 3).all()
    assert np.all(tuning["n_seeds"] == 2)
    for _, r in runs.iterrows():
        part = tuning[(tuning["task"] == r["task"]) & (tuning["method"] == r["method"])]
        chosen = part[part["chosen"]].iloc[0]
        assert chosen["lr"] == r["lr"] and chosen["mean_final"] == part["mean_final"].min()
        # at an edge of the evaluated values after the extensions: the run says so, and so do its claims
        lrs = part["lr"].sort_values().to_numpy()
        assert bool(r["lr_at_grid_edge"]) == (chosen["lr"] in (lrs[0], lrs[-1]))


def test_claims_follow_the_rule_with_insufficient_data_below_36_seeds(rates_folder):
    claims = pd.read_parquet(rates_folder / "claims.parquet")
    assert set(claims["verdict"]) <= VERDICTS
    assert set(claims["quantile"]) == {0.5, 0.9} and set(claims["measure"]) == {"final", "worst"}
    # 8 seeds cannot bound the 0.9-quantile from above: every verdict on it is insufficient data
    assert (claims[claims["quantile"] == 0.9]["verdict"] == "insufficient data").all()
    median = claims[claims["quantile"] == 0.5]
    assert "insufficient data" not in set(median["verdict"])
    runs = pd.read_parquet(rates_folder / "runs.parquet")
    edge = set(zip(runs.loc[runs["lr_at_grid_edge"], "task"], runs.loc[runs["lr_at_grid_edge"], "method"]))
    for _, c in median.iterrows():
        used = {(t, m) for t in (c["text_task"], c["vision_task"]) if t for m in (c["a"], c["b"])}
        if used & edge:  # a comparison resting on a step size at its grid's edge is not judged
            assert c["verdict"] == NOT_TUNED, c.to_dict()
            continue
        if c["claim"] in ("seed000-clipping", "fig1a-adam-vs-sgd"):
            want = contrast_verdict((c["text_low"], c["text_high"]), (c["vision_low"], c["vision_high"]))
        else:
            rule = {name: kind for name, _, _, kind, _ in RUNGS}[c["claim"]]
            want = rung_verdict(rule, c["text_low"], c["text_high"])
        assert c["verdict"] == want, c["claim"]


def test_ratios_are_of_the_stored_quantiles(rates_folder):
    ratios = pd.read_parquet(rates_folder / "ratios.parquet")
    q = pd.read_parquet(rates_folder / "quantiles.parquet")
    final = q[(q["metric"] == "loss") & (q["statistic"] == "quantile") & (q["k"] == q["k"].max())]
    for _, r in ratios[ratios["measure"] == "final"].iterrows():
        qa = final[
            (final["task"] == r["task"]) & (final["method"] == r["a"]) & np.isclose(final["quantile"], r["quantile"])
        ]
        qb = final[
            (final["task"] == r["task"]) & (final["method"] == r["b"]) & np.isclose(final["quantile"], r["quantile"])
        ]
        assert r["ratio"] == pytest.approx(qa["value"].iloc[0] / qb["value"].iloc[0], rel=1e-12)


def test_figure_redraws_and_scoreboard_reads_stored_tables(rates_folder, capsys):
    (rates_folder / "torch-rates.png").unlink()
    code, _, _ = _run(["plot", str(rates_folder)], capsys)
    assert code == 0 and (rates_folder / "torch-rates.png").stat().st_size > 0
    from synthclip.harness.summary import gather

    board = gather(rates_folder.parent)
    rows = board[board["study"] == "torch-rates"]
    claims = pd.read_parquet(rates_folder / "claims.parquet")
    assert len(rows) == len(claims) and set(rows["verdict"]) <= VERDICTS


def test_a_cell_is_bit_identical_when_rerun():
    p = TorchRates().make_params(
        {
            "steps": 12,
            "checkpoints": 3,
            "n_seeds": 6,
            "n_tune_seeds": 1,
            "methods": ["gclip"],
            "no_ladder": True,
            "eval_size": 8,
        },
        quick=True,
    )
    cell = TorchRates().cells(p)[0]
    one, two = TorchRates().run_cell(cell), TorchRates().run_cell(cell)
    pd.testing.assert_frame_equal(one["paths"], two["paths"])
    other = {**cell, "seed": cell["seed"] + 1}  # negative control: other judged seeds, other minibatches
    assert not np.array_equal(TorchRates().run_cell(other)["paths"]["loss"], one["paths"]["loss"])


# -- the ensemble: torch optimizers per seed, shared initial weights, gradient norms -----------------------


@pytest.fixture(scope="module")
def task64():
    return models.make_task("digits-mlp", dtype=torch.float64, hidden=16)


def _plain(task, make, key, init_key, steps, batch):
    """One model, the optimizer class, seed ``key``'s minibatches: its final full loss and ‖∇f‖."""
    model = task.build_model(init_key)
    opt = make(model.parameters())
    for k in range(1, steps + 1):
        x, y = task.data.batch(key, k, batch)
        opt.zero_grad()
        task.loss_fn(model(x), y).backward()
        opt.step()
    model.zero_grad()
    x_full, y_full = task.data.take(task.data.reference_indices())
    loss = task.loss_fn(model(x_full), y_full)
    loss.backward()
    return loss.item(), float(torch.sqrt(sum((p.grad**2).sum() for p in model.parameters())))


GCLIP = {"lr": 0.3, "lr_schedule": "constant", "clip": 0.1, "clip_schedule": "constant", "clip_power": 0.0}
CCLIP = {"lr": 0.3, "lr_schedule": "constant", "clip": 0.01, "clip_schedule": "constant", "clip_power": 0.0}
SEEDWISE = {
    "adam": ({"lr": 1e-2}, None, lambda ps: torch.optim.Adam(ps, lr=1e-2)),
    "torch-sgd": ({"lr": 0.1, "momentum": 0.9}, None, lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
    "gclip": (GCLIP, {"momentum": 0.9}, lambda ps: GClip(ps, lr=0.3, clip=0.1, momentum=0.9)),
    "cclip": (
        CCLIP,
        {"momentum": 0.9, "weight_decay": 1e-3},
        lambda ps: CClip(ps, lr=0.3, clip=0.01, momentum=0.9, weight_decay=1e-3),
    ),
}


@pytest.mark.parametrize("method", list(SEEDWISE))
def test_seedwise_optimizers_equal_the_plain_loop_per_seed(task64, method):
    params, options, make = SEEDWISE[method]
    res = ensemble.train_ensemble(
        task64,
        method,
        n_seeds=3,
        steps=10,
        batch_size=16,
        seed=2,
        method_params=params,
        optimizer_options=options,
        checkpoints=[10],
        grad_norms=True,
        init_key=77,
    )
    for i in range(3):
        loss, norm = _plain(task64, make, res.keys[i], 77, 10, 16)
        assert res.losses[i, -1] == pytest.approx(loss, rel=1e-12)
        assert res.grad_norms[i, -1] == pytest.approx(norm, rel=1e-10)
    assert abs(res.losses[0, -1] - res.losses[1, -1]) > 1e-6  # the seeds' minibatches differ, so this can fail


def test_seedwise_gclip_norm_is_per_seed(task64):
    # with momentum GClip runs as the class with one param group per seed: seed 0 alone = seed 0 among three
    kw = dict(
        steps=8,
        batch_size=16,
        seed=5,
        method_params=GCLIP,
        optimizer_options={"momentum": 0.9},
        checkpoints=[4, 8],
        init_key=3,
    )
    one = ensemble.train_ensemble(task64, "gclip", n_seeds=1, **kw)
    three = ensemble.train_ensemble(task64, "gclip", n_seeds=3, **kw)
    np.testing.assert_allclose(three.losses[0], one.losses[0], rtol=1e-12)
    # negative control: one param group over all seeds would clip by the norm of all three, which differs
    assert not np.allclose(three.losses[1], three.losses[0])


def test_init_key_gives_every_seed_the_same_weights(task64):
    # lr = 0 (valid, as in torch.optim): the loss stays at the initial weights' loss
    kw = dict(
        n_seeds=4, steps=3, batch_size=16, seed=1, method_params={"lr": 0.0, "lr_schedule": "constant"}, checkpoints=[3]
    )
    shared = ensemble.train_ensemble(task64, "sgd", init_key=11, **kw)
    assert np.all(shared.losses == shared.losses[0, 0]) and shared.init_key == 11
    own = ensemble.train_ensemble(task64, "sgd", **kw)  # negative control: each seed its own initialisation
    assert np.unique(own.losses).size == 4 and own.init_key is None
    with pytest.raises(ValueError, match="init_key"):
        ensemble.train_ensemble(task64, "sgd", init_key=-1, **kw)


def test_torch_only_options_are_still_refused_as_method_parameters(task64):
    with pytest.raises(ValueError, match="unknown parameter"):
        ensemble.train_ensemble(task64, "gclip", method_params={**GCLIP, "momentum": 0.9})
    with pytest.raises(ValueError, match="momentum"):
        ensemble.train_ensemble(task64, "gclip", method_params=GCLIP, optimizer_options={"momentum": -1.0})


# -- the ratio bootstrap and the verdict rules ------------------------------------------------------------


def _paired(rng, n, n_k, shift):
    common = rng.standard_normal((n, 1))
    a = np.exp(1.0 + 0.8 * common + 0.3 * rng.standard_normal((n, n_k)))
    b = np.exp(1.0 + shift + 0.8 * common + 0.3 * rng.standard_normal((n, n_k)))
    return a, b


@pytest.mark.parametrize("q", [0.5, 0.9])
def test_ratio_intervals_hold_their_level_under_equal_laws_and_detect_a_difference(q):
    # Under equal laws the 95% interval misses 1 with probability <= 0.05 (measured 0.00 to 0.05 at these
    # settings); the test fails only if the misses exceed the binomial 1 - 1e-4 bound for 0.05.
    rng = np.random.default_rng(7)
    k = np.array([1, 3, 10, 30, 100])
    reps, n = 150, 40
    limit = sps.binom.ppf(1 - 1e-4, reps, 0.05)
    misses = {"final": 0, "worst": 0}
    for r in range(reps):
        a, b = _paired(rng, n, len(k), 0.0)
        for measure, (_, lo, hi) in ratio_rows(a, b, k, q, n_boot=400, confidence=0.95, seed=r).items():
            misses[measure] += (lo > 1) or (hi < 1)
    assert max(misses.values()) <= limit, misses
    # negative control: b half of a (the seeds' log-ratio spread is 0.42) is seen above 1 in 93% (q = 0.9) to
    # 100% (q = 0.5) of replicates as measured; fewer than 30 of 40 is over 4 standard deviations below that
    found = {"final": 0, "worst": 0}
    for r in range(40):
        a, b = _paired(rng, n, len(k), np.log(0.5))
        for measure, (_, lo, _) in ratio_rows(a, b, k, q, n_boot=400, confidence=0.95, seed=r).items():
            found[measure] += lo > 1
    assert min(found.values()) >= 30, found


def test_failed_seeds_make_a_ratio_infinite_or_undefined():
    k = np.array([1, 10, 100])
    a = np.ones((10, 3))
    b = np.full((10, 3), 2.0)
    b[:, -1] = np.inf  # every b seed failed
    out = ratio_rows(a, b, k, 0.5, n_boot=400, confidence=0.95, seed=0)
    assert out["final"][0] == 0.0  # finite / inf
    both = ratio_rows(b, b, k, 0.5, n_boot=400, confidence=0.95, seed=0)["final"]
    assert np.isnan(both[0]) and np.isnan(both[1])


def test_verdict_rules():
    # magnitude claims ("largely", "far") against the band's edge E = 1.05, on both tasks
    assert contrast_verdict((1.1, 1.3), (0.95, 1.04)) == REPRODUCED
    assert contrast_verdict((1.1, 1.3), (0.8, 0.9)) == REPRODUCED  # clipping not better on vision
    assert contrast_verdict((1.1, 1.3), (1.06, 1.2)) == NOT_REPRODUCED  # it helps materially on vision too
    assert contrast_verdict((1.1, 1.3), (1.01, 1.2)) == INCONCLUSIVE  # vision's gain may or may not be material
    assert contrast_verdict((0.8, 0.95), (0.9, 1.1)) == NOT_REPRODUCED  # it hurts on text
    assert contrast_verdict((1.01, 1.04), (0.9, 1.0)) == NOT_REPRODUCED  # a real but small gain is not "largely"
    assert contrast_verdict((0.95, 1.2), (0.9, 1.04)) == INCONCLUSIVE
    assert rung_verdict("far", 1.06, 1.2) == REPRODUCED
    assert rung_verdict("far", 1.01, 1.04) == NOT_REPRODUCED
    assert rung_verdict("far", 1.01, 1.2) == INCONCLUSIVE
    assert rung_verdict("better", 1.01, 1.2) == REPRODUCED
    assert rung_verdict("better", 0.7, 0.99) == NOT_REPRODUCED
    assert rung_verdict("better", 0.99, 1.2) == INCONCLUSIVE
    e = EQUIVALENCE
    assert rung_verdict("comparable", 1 / e + 1e-3, e - 1e-3) == REPRODUCED
    assert rung_verdict("comparable", e + 1e-3, 2.0) == NOT_REPRODUCED
    assert rung_verdict("comparable", 0.9, 1.01) == INCONCLUSIVE


# -- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--n-seeds", "1"], "--n-seeds"),
        (["--n-seeds", "-1"], "--n-seeds"),
        (["--batch-size", "100000"], "--batch-size"),
        (["--text-task", "digits-cnn"], "--text-task"),
        (["--vision-task", "text-transformer"], "--vision-task"),
        (["--methods", "bogus"], "--methods"),
        (["--methods", "sgd,sgd"], "--methods"),
        (["--steps", "5"], "--steps"),
        (["--steps", "ten"], "--steps"),
        (["--checkpoints", "30", "--steps", "20"], "--checkpoints"),
        (["--n-boot", "10"], "--n-boot"),
        (["--lr-scale", "0"], "--lr-scale"),
        (["--lr-scale", "1e40"], "--lr-scale"),
        (["--quantiles", "0.5,1.5"], "--quantiles"),
        (["--device", "tpu"], "--device"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv, flag, tmp_path, capsys):
    code, out, err = _run(["torch-rates", "--quick", *argv, "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and flag in err, err
    assert not list(tmp_path.glob("*.parquet"))


def test_empty_methods_without_the_ladder_is_refused():
    with pytest.raises(StudyError, match="nothing to run"):
        TorchRates().make_params({"methods": [], "no_ladder": True}, quick=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_exits_2_with_one_line(tmp_path, capsys):
    code, out, err = _run(["torch-rates", "--quick", "--device", "cuda", "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "CUDA is not available" in err


def test_missing_torch_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    code, out, err = _run(["torch-rates", "--quick", "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "needs PyTorch" in err


def test_huge_step_sizes_fail_every_seed_and_are_counted(tmp_path, capsys):
    # every grid point × 1e30 overflows float32 within a few steps, clipped or not (a clipped step is still
    # lr·τ): failures are counted and +inf, and two failed runs have no ratio: insufficient data, no verdict
    code, out, _ = _run(
        [
            "torch-rates",
            "--quick",
            "--quiet",
            "--out",
            str(tmp_path),
            "--methods",
            "sgd,gclip",
            "--no-ladder",
            "--lr-scale",
            "1e30",
            "--steps",
            "10",
            "--checkpoints",
            "3",
        ],
        capsys,
    )
    assert code == 0
    runs = pd.read_parquet(tmp_path / "runs.parquet")
    assert len(runs) == 4 and (runs["n_failed"] == 8).all() and (runs["p_fail"] == 1.0).all()
    assert ((runs["first_fail_step"] >= 1) & (runs["first_fail_step"] <= 10)).all()
    q = pd.read_parquet(tmp_path / "quantiles.parquet")
    assert np.isposinf(q[q["statistic"] == "quantile"]["value"]).all()
    claims = pd.read_parquet(tmp_path / "claims.parquet")
    assert len(claims) == 4 and (claims["verdict"] == "insufficient data").all()
    assert "8/8" in out


def test_worst_at_first_checkpoint_counts_decreasing_runs_only():
    from synthclip.study.torch_rates import worst_at_first_checkpoint

    steps = [1, 10, 50, 100]
    rows = [{"task": "t", "method": "m", "seed": 0, "step": k, "loss": 5.0 / k} for k in steps]  # decreasing
    rows += [{"task": "t", "method": "m", "seed": 1, "step": k, "loss": 3.0 if k == 100 else 1.0} for k in steps]
    rows += [{"task": "t", "method": "m", "seed": 2, "step": k, "loss": 1.0 if k < 50 else np.nan} for k in steps]
    first, total, k0 = worst_at_first_checkpoint(pd.DataFrame(rows))
    # seed 1's spike at k = 100 is its worst, seed 2 failed at k = 50 (NaN): neither is counted
    assert (first, total, k0) == (1, 3, 10)


def test_same_paths_flags_a_rung_that_never_clipped():
    """A clipping method whose clip level never binds has the unclipped method's losses: the report says so
    (relative difference < SAME_PATH); a method that differs by a few per cent somewhere is not flagged."""
    from synthclip.study.torch_rates import SAME_PATH, same_paths

    base = pd.DataFrame(
        {
            "task": "t",
            "seed": np.repeat([0, 1], 3),
            "step": np.tile([1, 2, 4], 2),
            "loss": [3.0, 2.5, 2.0, 3.1, 2.6, 2.1],
        }
    )
    paths = pd.concat(
        [
            base.assign(method="sgd_m"),
            base.assign(method="acclip", loss=base["loss"] * (1 + 1e-6)),
            base.assign(method="gclip_m", loss=base["loss"].where(base["step"] != 4, 2.1)),
        ]
    )
    assert same_paths(paths, "acclip", "sgd_m") < SAME_PATH
    assert same_paths(paths, "gclip_m", "sgd_m") > SAME_PATH  # negative control
    assert np.isnan(same_paths(paths, "cclip_m", "sgd_m"))


def test_a_comparison_with_an_untuned_method_reads_not_tuned():
    # one contrast row pair that would be judged; the same rows with sgd's step size at its grid's edge
    base = {
        "claim": "seed000-clipping",
        "statement": "s",
        "source": "src",
        "a": "sgd",
        "b": "gclip",
        "rule": "contrast",
        "quantile": 0.5,
        "measure": "final",
        "n_seeds": 40,
        "n_failed_a": 0,
        "n_failed_b": 0,
        "reason": "",
    }
    ratios = pd.DataFrame(
        [
            {**base, "task": "text-transformer", "kind": "text", "ratio": 1.5, "ci_low": 1.2, "ci_high": 1.8},
            {**base, "task": "digits-cnn", "kind": "vision", "ratio": 0.9, "ci_low": 0.8, "ci_high": 0.95},
        ]
    )
    assert claim_rows(ratios)["verdict"].iloc[0] == REPRODUCED
    row = claim_rows(ratios, frozenset({("digits-cnn", "sgd")})).iloc[0]
    assert row["verdict"] == NOT_TUNED and "sgd on digits-cnn" in row["reason"], row.to_dict()
