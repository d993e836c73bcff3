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
    from synthclip.study import cli

    root = tmp_path_factory.mktemp("results")
    assert cli.main(["all", "--quick", "--quiet", "--out", str(root)]) == 0
    return root
