"""The interior tuning rule: a grid is extended past an edge optimum, and the result says when it stayed there."""

import math

import numpy as np
import pytest

from synthclip.tuning import MAX_EXTENSIONS, edge_summary, tune_interior


def bowl(center):
    return lambda v: (math.log10(v) - math.log10(center)) ** 2


def test_interior_optimum_needs_no_extension():
    r = tune_interior(bowl(0.3), [0.1, 0.3, 1.0])
    assert r.value == pytest.approx(0.3) and r.interior and r.n_extensions == 0


def test_edge_optimum_is_extended_until_interior():
    # optimum at 3.0: the grid [0.1, 0.3, 1] (mean factor √10) needs two points above its top edge, √10 and 10
    r = tune_interior(bowl(3.0), [0.1, 0.3, 1.0], max_extensions=4)
    assert r.value == pytest.approx(10**0.5) and r.interior
    assert r.n_extensions == 2
    assert list(r.table["extension"]) == [0, 0, 0, 1, 2]


def test_low_edge_extends_downwards():
    r = tune_interior(bowl(0.01), [0.1, 0.3, 1.0], max_extensions=4)
    assert r.value == pytest.approx(0.01) and r.interior


def test_optimum_beyond_the_budget_is_reported_at_edge():
    # negative control: an optimum far beyond max_extensions grid factors must not read 'interior'
    r = tune_interior(bowl(1e4), [0.1, 0.3, 1.0])
    assert not r.interior and r.n_extensions == MAX_EXTENSIONS and r.status == "at edge"
    assert "1 of 1 searches were extended, 1 of 1 stayed at an edge" in edge_summary([r])


def test_failures_score_inf_and_ties_go_to_the_smaller_value():
    r = tune_interior(lambda v: np.nan if v > 0.5 else 1.0, [0.1, 0.3, 1.0])
    # every finite score ties: the smallest value wins, which sits at the low edge after the extensions
    assert r.value == r.table["value"].min() and not r.interior


def test_divergence_above_closes_the_top_edge():
    r = tune_interior(lambda v: math.inf if v > 1.5 else -v, [0.1, 0.3, 1.0])
    assert r.value == pytest.approx(1.0) and r.interior and r.n_extensions == 1


@pytest.mark.parametrize("grid", [[0.1, 0.3], [0.1, 0.2, 1.0], [0.0, 1.0, 2.0], [-1, 1, 3]])
def test_bad_grids_are_refused(grid):
    with pytest.raises(ValueError, match="grid must"):
        tune_interior(bowl(1.0), grid)
