"""``synthclip.testing``: a researcher's own rate checks and claims.

The known answer: studies/examples/sgd_harmonic.py (SGD with η_k = 1/k on x²/2) is the running mean of the
noise, so on symmetric α-stable noise every quantile of f(x_k) is exactly c_q·k^(−2(α−1)/α). The positive
checks use it; each has a negative control that must fail: the exponent off by the rule's resolution 0.1, in
both directions. Those are the verdicts on fixed seeds; the rates over seeds (false failures, power) are
measured by studies/check_rate_power.py and stated in docs/testing.md.

Stated false-failure rate of the seeded checks: the rule's 95 % interval misses the exact exponent on one side
with probability 2.5 %, so a positive check here fails on a fresh seed with probability about 5 % (measured:
docs/testing.md); the seeds are fixed, so the suite is deterministic. A near-miss control passes wrongly with
probability ≤ 2.5 % by construction (docs/theory.md, "Resolution").
"""

import subprocess
import sys
from pathlib import Path

import pytest

from synthclip import methods, testing, verdict
from synthclip.harness import cli
from synthclip.theory import Claim

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "studies" / "examples"
ALPHA = 1.5
EXACT = -2 * (ALPHA - 1) / ALPHA
SIZE = {"n_traj": 10_000, "steps": 2_000}
# the exact exponent, as a Claim a researcher writes (kind upper: within (tight) / (not tight) / violates)
UPPER = Claim(
    "my-rate",
    "sgd_harmonic",
    "strongly_convex",
    "f",
    "k^(−2(α−1)/α)",
    "the running mean's law",
    "upper",
    exponent=lambda a: -2 * (a - 1) / a,
    noise=("symmetric",),
)


@pytest.fixture(scope="module")
def harmonic():
    """The example plugin registered for this module, and the registry restored afterwards."""
    saved, plugins = dict(methods.METHODS), dict(methods._PLUGINS)
    methods.load_plugin(EXAMPLES / "sgd_harmonic.py")
    yield
    methods.METHODS.clear()
    methods.METHODS.update(saved)
    methods._PLUGINS.clear()
    methods._PLUGINS.update(plugins)


@pytest.fixture(scope="module")
def run(harmonic):
    import synthclip
    from synthclip.harness.rate_methods import rate_checkpoints

    return synthclip.simulate(
        "sgd_harmonic", noise="stable", alpha=ALPHA, seed=3, checkpoints=rate_checkpoints(2000), **SIZE
    )


def test_exact_exponent_is_consistent_and_near_misses_are_not(run):
    row = testing.check_run(run, exponent=EXACT, metric="f")
    assert row.verdict == "consistent", row.message()
    assert row.ci_high - row.ci_low <= verdict.RULE.resolution and row.kmax == 2000 and row.kmin == 200
    # negative controls: a claim off by the resolution, either way, gets the word of its side
    assert testing.check_run(run, exponent=EXACT + 0.1, metric="f").verdict == "faster"
    assert testing.check_run(run, exponent=EXACT - 0.1, metric="f").verdict == "slower"


def test_the_same_seed_gives_the_same_row(harmonic):
    a = testing.check_rate("sgd_harmonic", exponent=EXACT, metric="f", n_traj=500, steps=300, seed="s")
    b = testing.check_rate("sgd_harmonic", exponent=EXACT, metric="f", n_traj=500, steps=300, seed="s")
    assert a == b
    assert a.ci != testing.check_rate("sgd_harmonic", exponent=EXACT, metric="f", n_traj=500, steps=300, seed="t").ci


def test_a_claim_is_judged_in_its_kinds_words_and_only_inside_its_scope(run):
    assert testing.check_run(run, claim=UPPER).verdict == "within (tight)"
    loose = Claim(
        "loose", "sgd_harmonic", "strongly_convex", "f", "k^(−1/3)", "x", "upper", exponent=lambda a: EXACT + 0.1
    )
    assert testing.check_run(run, claim=loose).verdict == "within (not tight)"
    with pytest.raises(ValueError, match="does not cover this run: metric 'f_avg' is not the claim's 'f'"):
        testing.check_run(run, claim=UPPER, metric="f_avg")
    onesided = Claim(
        "one",
        "sgd_harmonic",
        "strongly_convex",
        "f",
        "k^t",
        "x",
        "upper",
        exponent=lambda a: EXACT,
        noise=("asymmetric",),
    )
    with pytest.raises(ValueError, match="noise family 'symmetric' is not among"):
        testing.check_run(run, claim=onesided)
    other = Claim("other", "gclip", "strongly_convex", "f", "k^t", "x", "upper", exponent=lambda a: EXACT)
    with pytest.raises(ValueError, match="method 'sgd_harmonic' is not the claim's 'gclip'"):
        testing.check_run(run, claim=other)


def test_assert_rate_message_is_one_line_with_slope_interval_exponent_and_verdict(harmonic):
    with pytest.raises(AssertionError) as err:
        testing.assert_rate("sgd_harmonic", exponent=EXACT - 0.1, metric="f", seed=3, **SIZE)
    text = str(err.value)
    assert "\n" not in text and "slope -0.6" in text and "exponent -0.767" in text and "verdict 'slower'" in text
    assert "[-0.6" in text
    # a loose upper bound passes only when the caller accepts its word
    loose = Claim("loose", "sgd_harmonic", "strongly_convex", "f", "k^t", "x", "upper", exponent=lambda a: EXACT + 0.1)
    with pytest.raises(AssertionError, match="within \\(not tight\\)"):
        testing.assert_rate("sgd_harmonic", claim=loose, seed=3, **SIZE)
    assert (
        testing.assert_rate("sgd_harmonic", claim=loose, seed=3, accept=("within (not tight)",), **SIZE).verdict
        == "within (not tight)"
    )


def test_too_few_runs_is_insufficient_data_not_a_pass(harmonic):
    row = testing.check_rate("sgd_harmonic", exponent=EXACT, metric="f", quantile=0.99, n_traj=100, steps=200)
    assert row.verdict == verdict.INSUFFICIENT and "cannot bound the 0.99-quantile" in row.reason


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({}, "give exactly one of exponent= "),
        ({"exponent": -1.0, "claim": UPPER}, "give exactly one of exponent= "),
        ({"exponent": float("nan")}, "exponent must be a finite number"),
        ({"exponent": "fast"}, "exponent must be a finite number"),
        ({"claim": "thm4"}, "claim must be a synthclip.theory.Claim"),
        (
            {"claim": Claim("q", "sgd_harmonic", "strongly_convex", "f", "polylog", "x", "qualitative")},
            "kind must be one of",
        ),
        ({"exponent": -1.0, "quantile": 0.7}, "quantile must be one of 0.5, 0.9, 0.99"),
        ({"exponent": -1.0, "steps": 50}, "steps must be an integer >= 100"),
        ({"exponent": -1.0, "confidence": 1.0}, "confidence must lie in (0, 1)"),
        ({"exponent": -1.0, "metric": "clip_frac"}, "metric must be one of"),
        ({"exponent": -1.0, "problem": "rosenbrock"}, "problem must be one of"),
        ({"exponent": -1.0, "n_traj": 0}, "n_traj"),
        ({"exponent": -1.0, "bogus": 1}, "unknown parameter 'bogus'"),
        ({"exponent": -1.0, "accept": ("great",)}, "accept must hold words of a 'exact' claim"),
    ],
)
def test_bad_input_is_one_line_valueerror(harmonic, kwargs, needle):
    with pytest.raises(ValueError) as err:
        testing.assert_rate("sgd_harmonic", **{"steps": 200, "n_traj": 200, **kwargs})
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_unknown_method_is_one_line():
    with pytest.raises(ValueError, match="unknown method 'nosuch'"):
        testing.check_rate("nosuch", exponent=-1.0)


# -- the example file a researcher copies ----------------------------------------------------------------


def _copy_and_run(folder: Path, edit=lambda text: text) -> subprocess.CompletedProcess:
    """The two example files copied into ``folder`` (a researcher's repository), the test file through
    ``edit``, and pytest run there in a fresh process."""
    folder.mkdir()
    (folder / "sgd_harmonic.py").write_text((EXAMPLES / "sgd_harmonic.py").read_text())
    (folder / "test_my_method.py").write_text(edit((EXAMPLES / "test_my_method.py").read_text()))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_method.py"],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=600,
    )


def test_the_example_test_file_passes_and_fails_with_one_line_on_a_wrong_exponent(tmp_path):
    ok = _copy_and_run(tmp_path / "ok")
    assert ok.returncode == 0 and "2 passed" in ok.stdout, ok.stdout + ok.stderr
    right = "EXPONENT = -2 * (ALPHA - 1) / ALPHA"
    assert right in (EXAMPLES / "test_my_method.py").read_text()
    bad = _copy_and_run(tmp_path / "bad", lambda text: text.replace(right, right + " - 0.1"))
    assert bad.returncode == 1 and "1 failed, 1 passed" in bad.stdout, bad.stdout + bad.stderr
    lines = [ln for ln in bad.stdout.splitlines() if ln.startswith("E ") and "AssertionError" in ln]
    assert len(lines) == 1, bad.stdout
    assert "slope -0.6" in lines[0] and "exponent -0.767" in lines[0] and "verdict 'slower'" in lines[0]


# -- a researcher's claims file, through the rates study's --claims ----------------------------------------

CLAIMS_FILE = """
from synthclip.theory import Claim

CLAIMS = (
    Claim("exact-mean", "sgd_harmonic", "strongly_convex", "f", "k^(-2(a-1)/a)", "running mean", "exact",
          exponent=lambda a: -2 * (a - 1) / a, noise=("symmetric",)),
    Claim("too-fast", "sgd_harmonic", "strongly_convex", "f", "k^(-2(a-1)/a - 0.1)", "a near miss", "exact",
          exponent=lambda a: -2 * (a - 1) / a - 0.1, noise=("symmetric",)),
    Claim("elsewhere", "gclip", "nonconvex", "f", "k^-1", "out of scope", "upper", exponent=lambda a: -1.0),
)
"""


def test_rates_judges_a_claims_file_by_the_same_rule(tmp_path, capsys):
    claims = tmp_path / "my_claims.py"
    claims.write_text(CLAIMS_FILE)
    out = tmp_path / "rates"
    args = [
        "rates",
        "--quiet",
        "--jobs",
        "1",
        "--plugin",
        str(EXAMPLES / "sgd_harmonic.py"),
        "--methods",
        "sgd_harmonic,gclip",
        "--n-traj",
        "10000",
        "--steps",
        "2000",
        "--noise-alpha",
        "1.5",
        "--quantiles",
        "0.5",
        "--claims",
        str(claims),
        "--out",
        str(out),
    ]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert f"your claims ({claims})" in text
    import pandas as pd

    c = pd.read_parquet(out / "alpha=1.5" / "claims.parquet")
    by = {s: set(c[c["statement"] == s]["verdict"]) for s in c["statement"].unique()}
    assert by == {"exact-mean": {"consistent"}, "too-fast": {"slower"}}, c  # only sgd_harmonic's f rows
    assert set(c["method"]) == {"sgd_harmonic"} and set(c["metric"]) == {"f"}
    s = pd.read_parquet(out / "alpha=1.5" / "slopes.parquet")
    assert "exact-mean" not in set(s["statement"])  # the package's own verdicts are untouched


@pytest.mark.parametrize(
    "body,needle",
    [
        (None, "no such file"),
        ("x = 1\n", "defines no synthclip.theory.Claim"),
        ("raise RuntimeError('oops')\n", "RuntimeError while loading: oops"),
        ("CLAIMS = (1,)\n", "CLAIMS must be a tuple of synthclip.theory.Claim"),
    ],
)
def test_a_bad_claims_file_exits_2_with_one_line(tmp_path, capsys, body, needle):
    path = tmp_path / "c.py"
    if body is not None:
        path.write_text(body)
    assert cli.main(["rates", "--quick", "--quiet", "--claims", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--claims: claims" in err and needle in err, err
