import os
import sys
from pathlib import Path

import pytest

# Tests import the numpy reference (tests/reference.py) as a plain module.
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def quick_results(tmp_path_factory):
    """Every registered study run with --quick into one results root (what the notebooks read)."""
    from synthclip.harness import cli

    root = tmp_path_factory.mktemp("results")
    assert cli.main(["all", "--quick", "--quiet", "--out", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch tests run single-threaded: small models gain nothing from intra-op threads, and on a loaded
    2-core machine oversubscribed OpenMP barriers make every op tens of times slower."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
