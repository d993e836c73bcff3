"""The documentation follows the code: every study has a page, every theory statement is on the theory sheet,
the nav and the README point at files that exist. (The build itself, with warnings as errors, is
``mkdocs build --strict`` in ``.ci/run``; these checks need no mkdocs.)"""

import re
from pathlib import Path

import pytest

from synthclip import theory
from synthclip.study import STUDIES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def nav_pages(mkdocs_yml: str) -> list[str]:
    """The page paths named in mkdocs.yml's nav (lines such as ``- Title: path.md``)."""
    nav = mkdocs_yml[mkdocs_yml.index("\nnav:") :]
    return re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w./-]+\.md)\s*$", nav, flags=re.M)


def statements_missing(sheet: str, keys) -> list[str]:
    """The statement keys that the sheet does not name in backticks."""
    return sorted({k for k in keys if f"`{k}`" not in sheet})


def test_every_study_has_a_page():
    missing = [name for name in STUDIES if not (DOCS / "studies" / f"{name}.md").is_file()]
    assert not missing, f"studies without a page in docs/studies/: {missing}"


def test_every_nav_page_exists():
    pages = nav_pages((ROOT / "mkdocs.yml").read_text())
    assert "theory.md" in pages and "api.md" in pages
    assert [p for p in pages if not (DOCS / p).is_file()] == []
    # every study page is reachable from the nav
    assert sorted(f"studies/{n}.md" for n in STUDIES if f"studies/{n}.md" not in pages) == []


def test_theory_sheet_names_every_statement():
    sheet = (DOCS / "theory.md").read_text()
    assert statements_missing(sheet, {c.statement for c in theory.CLAIMS}) == []
    # negative control: a statement the sheet does not have is reported
    assert statements_missing(sheet, {"no-such-statement"}) == ["no-such-statement"]


def test_theory_sheet_keeps_one_rule_block():
    sheet = (DOCS / "theory.md").read_text()
    assert sheet.count("<!-- rule:begin -->") == 1 and sheet.count("<!-- rule:end -->") == 1
    assert sheet.index("<!-- rule:begin -->") < sheet.index("<!-- rule:end -->")


@pytest.mark.parametrize("doc", ["README.md", "CHANGELOG.md"])
def test_relative_links_exist(doc):
    text = (ROOT / doc).read_text()
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]
    assert [t for t in targets if t and not (ROOT / t).exists()] == []


def test_readme_keeps_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "pip install -e . && python -m synthclip.study rates --alpha 1.5" in readme
    assert 'pip install torch==2.13.0 -e ".[test,torch]" && python -m pytest' in readme
