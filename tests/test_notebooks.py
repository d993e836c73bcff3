"""Every paper_figures notebook executes on --quick results and saves its figure."""

import shutil
from pathlib import Path

import pytest

FIGURES = Path(__file__).resolve().parent.parent / "paper_figures"
NOTEBOOKS = sorted(FIGURES.glob("*.py"))


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(source, quick_results, tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    work = tmp_path / "paper_figures"
    work.mkdir()
    shutil.copy(source, work / source.name)
    monkeypatch.setenv("SYNTHCLIP_RESULTS", str(quick_results))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = jupytext.read(work / source.name)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()
    assert (work / f"{source.stem}.png").stat().st_size > 0


def test_ipynb_files_match_their_jupytext_source():
    jupytext = pytest.importorskip("jupytext")
    for source in NOTEBOOKS:
        ipynb = source.with_suffix(".ipynb")
        assert ipynb.exists(), f"{ipynb.name} missing: run `jupytext --to ipynb paper_figures/*.py`"
        want = [c.source for c in jupytext.read(source).cells]
        have = [c.source for c in jupytext.read(ipynb).cells]
        assert want == have, f"{ipynb.name} is stale: run `jupytext --to ipynb {source}`"
