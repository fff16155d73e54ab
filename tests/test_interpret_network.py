"""The causal motif network: DirectLiNGAM orientation, bootstrap stability, graph files, queries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from getx.errors import InputError
from getx.interpret.directlingam import adjacency_edges, causal_order, direct_lingam
from getx.interpret.network import (
    causal_network,
    motif_matrix,
    neighbours,
    read_network,
    write_network,
)


def _two_variables(n: int = 1000, seed: int = 0) -> np.ndarray:
    """B = 0.8 A + noise with uniform (non-Gaussian) noise: A -> B, columns (B, A)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, n)
    b = 0.8 * a + rng.uniform(-1, 1, n)
    return np.column_stack([b, a])


def test_two_variables_orient_cause_to_effect():
    X = _two_variables()
    order, B = direct_lingam(X)
    assert order == [1, 0]  # A (column 1) first: it is exogenous
    # B[effect, cause]: B = 0.8 A sits at B[0, 1]; nothing points back
    assert B[0, 1] == pytest.approx(0.8, abs=0.05)
    assert B[1, 0] == 0.0
    assert list(adjacency_edges(B)) == [(1, 0, pytest.approx(B[0, 1]))]
    # the same data with the columns swapped gives the same graph
    order, B = direct_lingam(X[:, ::-1])
    assert order == [0, 1] and B[1, 0] != 0 and B[0, 1] == 0


def test_chain_order_and_gaussian_sanity():
    rng = np.random.default_rng(1)
    e = rng.laplace(size=(2000, 3))
    x0 = e[:, 0]
    x1 = 0.9 * x0 + e[:, 1]
    x2 = -0.7 * x1 + e[:, 2]
    assert causal_order(np.column_stack([x2, x0, x1])) == [1, 2, 0]


def test_network_edges_parents_children_and_files(tmp_path):
    rng = np.random.default_rng(2)
    n = 600
    a = rng.uniform(-1, 1, n)
    b = a + 0.5 * rng.uniform(-1, 1, n)
    c = b + 0.5 * rng.uniform(-1, 1, n)
    d = rng.uniform(-1, 1, n)  # unrelated
    matrix = pd.DataFrame({"B": b, "D": d, "A": a, "C": c, "K": np.ones(n)})
    net = causal_network(matrix, runs=4, seed=0, cell_type="ct1")
    graph = net.graph(min_stability=0.75)
    assert set(graph.edges) == {("A", "B"), ("B", "C")}
    assert graph.nodes["K"] == {} and graph.degree("K") == 0  # constant column: no edges
    edges = net.edges()
    top = edges.iloc[:2].set_index("cause")
    assert top.loc["A", "effect"] == "B" and top.loc["B", "effect"] == "C"
    assert (top["stability"] == 1.0).all() and (top["weight"] > 0.5).all()
    for suffix in (".graphml", ".json"):
        path = write_network(graph, tmp_path / f"net{suffix}")
        back = read_network(path)
        assert set(back.edges) == set(graph.edges)
        parents = neighbours(back, "B", "parents")
        children = neighbours(back, "B", "children")
        assert parents["motif"].tolist() == ["A"] and children["motif"].tolist() == ["C"]
        both = neighbours(back, "B")
        assert sorted(both["relation"]) == ["child", "parent"]
        assert back.edges["A", "B"]["stability"] == pytest.approx(1.0)
    with pytest.raises(InputError, match=r"motif 'b' is not in the network \(did you mean B"):
        neighbours(graph, "b")


def test_bootstrap_runs_draw_at_most_max_samples_rows():
    rng = np.random.default_rng(3)
    n = 3000
    a = rng.uniform(-1, 1, n)
    matrix = pd.DataFrame({"A": a, "B": a + 0.5 * rng.uniform(-1, 1, n)})
    full = causal_network(matrix, runs=2, seed=0)
    # without a cap (or a cap above the rows) every run draws all rows: the same networks
    same = causal_network(matrix, runs=2, seed=0, max_samples=n + 5)
    np.testing.assert_array_equal(full.weight, same.weight)
    capped = causal_network(matrix, runs=3, seed=0, max_samples=500)
    assert capped.stability[1, 0] == 1.0 and capped.stability[0, 1] == 0.0  # A -> B
    assert not np.array_equal(capped.weight, full.weight)
    with pytest.raises(InputError, match="max_samples 2 must exceed the 2 motifs"):
        causal_network(matrix, max_samples=2)


def test_motif_matrix_picks_genes_or_regions():
    class Result:
        def gene_motif(self):
            return "genes"

        def region_motif(self):
            return "regions"

    assert motif_matrix(Result()) == "genes"
    assert motif_matrix(Result(), "regions") == "regions"
    with pytest.raises(InputError, match="samples 'cells' is not one of genes, regions"):
        motif_matrix(Result(), "cells")


def test_network_refuses_too_few_genes_and_bad_files(tmp_path):
    matrix = pd.DataFrame(np.random.default_rng(0).normal(size=(5, 6)))
    with pytest.raises(InputError, match="5 rows for 6 varying motif columns"):
        causal_network(matrix)
    with pytest.raises(InputError, match=r"must end in \.graphml or \.json"):
        write_network(causal_network(matrix.iloc[:, :2], runs=1).graph(), tmp_path / "n.txt")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match=r"bad\.json: not a network file"):
        read_network(bad)
