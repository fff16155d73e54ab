"""bench/mpra.py: orientation pairing, splits that keep a pair together, the ridge baseline, and a
quick run of the whole benchmark on a slice of the real lentiMPRA files."""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_path
from getx.errors import InputError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: bench/
from bench import mpra


def _random_elements(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), mpra.ELEMENT_LEN)) for _ in range(n)]


def test_reverse_complement_pairs_share_an_id_and_never_split():
    elements = _random_elements(300, 0)
    palindrome = "ACGT" * 50  # its own reverse complement: one row, a singleton
    rows = elements + [mpra.reverse_complement(e) for e in elements[:250]] + [palindrome]
    order = np.random.default_rng(1).permutation(len(rows))
    rows = [rows[i] for i in order]
    pairs = mpra.pair_ids(rows)
    index = {seq: i for i, seq in enumerate(rows)}
    for seq in elements[:250]:
        assert pairs[index[seq]] == pairs[index[mpra.reverse_complement(seq)]]
    assert len(np.unique(pairs)) == 301  # 250 pairs + 50 singletons + the palindrome
    for seed in range(5):
        for fraction in (0.1, 0.5):
            train, held = mpra.grouped_split(pairs, fraction, seed)
            assert len(train) + len(held) == len(rows)
            assert not set(pairs[train]) & set(pairs[held])
            assert abs(len(np.unique(pairs[held])) - fraction * 301) <= 1


def test_grouped_ridge_cv_does_not_leak_through_pairs():
    """Both rows of a pair share features and activity: a split that cuts pairs lets ridge
    look the held-out row up through its twin; grouped CV cannot."""
    n_pairs = 200
    rng = np.random.default_rng(2)
    pairs = np.repeat(np.arange(n_pairs), 2)
    x = np.eye(n_pairs)[pairs]  # a pair's one-hot identity: memorisable, not generalisable
    y = rng.normal(size=n_pairs)[pairs]
    grouped = mpra.fit_ridge(x, y, pairs)
    leaky = mpra.fit_ridge(x, y, np.arange(len(y)))
    assert leaky.inner_pearson > 0.9
    assert not grouped.inner_pearson > 0.3


@pytest.mark.parametrize("n_rows", [300, 40])  # more rows than features, and fewer
def test_ridge_path_equals_scaler_plus_ridge(n_rows):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    x = rng.poisson(1.0, size=(n_rows + 20, 60)).astype(np.float64)
    x[:, 5] = 2.0  # a constant column
    y = x[:, 0] - x[:, 1] + rng.normal(size=n_rows + 20)
    alphas = np.array([0.3, 30.0])
    ours = mpra.ridge_path(x[:n_rows], y[:n_rows], x[n_rows:], alphas)
    for alpha, row in zip(alphas, ours, strict=True):
        ref = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(x[:n_rows], y[:n_rows])
        np.testing.assert_allclose(row, ref.predict(x[n_rows:]), rtol=1e-6, atol=1e-8)
        one = mpra.ridge_path(x[:n_rows], y[:n_rows], x[n_rows:], np.array([alpha]))[0]
        np.testing.assert_allclose(one, row, rtol=1e-6, atol=1e-8)


def test_pairing_of_the_real_files():
    counts = {}
    for (cell, fold), _ in mpra.fold_paths().items():
        table = mpra.read_fold(shared_path(f"mpra/lentiMPRA_Agarwal2025.{fold}_{cell}.tsv.gz"))
        summary = mpra.pairing_summary(table)
        assert summary["pairs whose ids disagree"] == 0 and summary["larger groups"] == 0
        assert 2 * summary["pairs"] + summary["singletons"] == summary["rows"] == len(table)
        counts[(cell, fold)] = (summary["pairs"], summary["singletons"])
    assert counts[("HepG2", "val")] == (6146, 0)
    assert counts[("WTC11", "val")] == (2306, 5)  # dinucleotide-shuffled controls, one row each


def test_element_alone_features_are_blind_to_orientation():
    """What the docs say a CNN has and these inputs lack: an element and its reverse
    complement scanned alone get the same features (both strands, merged hits); in the
    construct, the window order and the edges differ."""
    from getx.motifs import load_motifs, select, sequence_features

    v1 = load_motifs(shared_path("motifs/nrmotif_v1.json").parent)
    motifs = select(v1, names=list(v1.names[::10]))
    table = mpra.read_fold(shared_path("mpra/lentiMPRA_Agarwal2025.val_WTC11.tsv.gz"), rows=16)
    both = table.groupby("pair").filter(lambda g: len(g) == 2).sort_values("pair")
    alone = sequence_features(both["element"].tolist(), motifs)[:, 0]
    np.testing.assert_allclose(alone[0::2], alone[1::2], rtol=1e-5, atol=1e-4)
    windows = sequence_features(
        [mpra.construct(o) for o in both["oligo"]], motifs, mpra.construct_windows()
    )
    forward, reverse = windows[0::2, 1:-1], windows[1::2, 1:-1]
    assert not np.allclose(forward, reverse)  # GET with positions can tell them apart
    # Reversed window order matches, except where hits reach into the adaptors at the edges.
    np.testing.assert_allclose(forward[:, 2:-2], reverse[:, ::-1][:, 2:-2], rtol=1e-5, atol=1e-4)
    assert not np.allclose(forward, reverse[:, ::-1])


def test_a_bad_oligo_is_named(tmp_path):
    good = "AGGACCGGATCAACT" + "A" * 200 + "CATTGCGTGAACCGA"
    path = tmp_path / "fold.tsv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(f"seq_id\tseq\tmean_value\nok\t{good}\t0.1\nbad\t{good[:-1]}C\t0.2\n")
    with pytest.raises(InputError, match=r"fold\.tsv\.gz: row 3 \(bad\): not a 230-nt oligo"):
        mpra.read_fold(path)


@pytest.mark.slow
def test_quick_run_has_the_contract_shape(tmp_path):
    for relative in ("mpra", "motifs/nrmotif_v1.json"):
        shared_path(relative)
    assert mpra.available() is None
    result = mpra.run(tmp_path, quick=True)
    json.dumps(result)  # serialisable as it stands
    assert isinstance(result["summary"], str) and "6-mer" in result["summary"]
    assert len(result["tables"]) == 4  # two cell lines x two directions
    for table, (cell, train) in zip(
        result["tables"], [(c, f) for c in mpra.CELL_LINES for f in ("val", "test")], strict=True
    ):
        assert table["title"].startswith(f"{cell}, train on the {train} fold")
        assert table["columns"][:4] == ["model", "Pearson", "Spearman", "n"]
        test_fold = "test" if train == "val" else "val"
        n_test = len(mpra.read_fold(mpra.fold_paths()[(cell, test_fold)], mpra.QUICK_ROWS))
        labels = [row[0] for row in table["rows"]]
        assert sum("(ours)" in x for x in labels) == 2
        assert sum("(baseline)" in x for x in labels) == len(labels) - 2
        assert any("6-mer" in x for x in labels)
        for row in table["rows"]:
            assert len(row) == len(table["columns"])
            assert all(math.isfinite(v) and -1 <= v <= 1 for v in row[1:3]), row
            assert row[3] == n_test
            low, high = row[4]  # the contract's interval cell
            assert -1 <= low <= high <= 1
        kmer_r = next(row[1] for row in table["rows"] if "6-mer" in row[0])
        for row in table["rows"]:
            if "6-mer" in row[0]:
                assert row[5:7] == ["n/a", "n/a"]
            else:
                assert row[5] == pytest.approx(row[1] - kmer_r, abs=2e-4)
                d_low, d_high = row[6]
                assert -2 <= d_low <= d_high <= 2
    assert {p["figure"] for p in result["published"]} == {"Pearson HepG2", "Pearson WTC11"}
    assert all(p["source"] for p in result["published"])
    assert any("folds 9 and 10" in note for note in result["notes"])


def test_paired_difference_interval():
    rng = np.random.default_rng(0)
    pairs = np.repeat(np.arange(300), 2)
    observed = rng.normal(size=600)
    good = observed + rng.normal(scale=0.5, size=600)
    poor = observed + rng.normal(scale=2.0, size=600)
    # A model against itself differs by exactly 0 on every resample.
    assert mpra.pair_bootstrap(observed, good, pairs, 200, seed=1, baseline=good) == (0.0, 0.0)
    low, high = mpra.pair_bootstrap(observed, good, pairs, 200, seed=1, baseline=poor)
    difference = mpra.pearson(observed, good) - mpra.pearson(observed, poor)
    assert 0 < low < difference < high
    low, high = mpra.pair_bootstrap(observed, poor, pairs, 200, seed=1, baseline=good)
    assert low < -difference < high < 0
