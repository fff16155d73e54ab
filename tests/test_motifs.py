"""Motif databases and exact p-value thresholds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import shared_path
from getx.errors import InputError
from getx.motifs import (
    load_jaspar,
    load_motifs,
    read_gimme_pfm,
    read_hocomoco,
    read_jaspar,
    read_meme,
    threshold_from_p,
    with_background,
)
from getx.motifs.motifset import reverse_complement
from getx.motifs.pvalues import PRECISION, discretise, strand_thresholds


@pytest.fixture(scope="module")
def v1():
    shared_path("motifs/nrmotif_v1.json")
    return load_motifs(shared_path("motifs/nrmotif_v1.json").parent)


def test_jaspar2024_has_879_vertebrate_core_matrices():
    j = load_jaspar()
    assert len(j) == 879
    assert j.widths.min() >= 5 and j.widths.max() == 33
    # Probabilities implied by the ln-odds are proper distributions.
    for m in j.matrices[:50]:
        np.testing.assert_allclose((0.25 * np.exp(m)).sum(axis=1), 1.0, atol=1e-12)
    # Dimers contribute both genes to their family's cluster.
    ahr = [n for n in j.names if n.endswith(".Ahr::Arnt")]
    assert ahr
    c = j.clusters[j.motif_cluster[j.names.index(ahr[0])]]
    assert {"AHR", "ARNT"} <= set(j.cluster_genes[c])


def test_nrmotif_v1_matches_get(v1):
    order = shared_path("motifs/human_motif_cluster_id").read_text().split("\n")
    order = [x for x in order if x]
    assert len(v1) == 2174 and len(v1.clusters) == 282
    assert list(v1.clusters) == order
    bg = v1.background
    np.testing.assert_allclose(bg, [0.2977, 0.2023, 0.2023, 0.2977])
    for m in v1.matrices:
        np.testing.assert_allclose((bg[None, :] * np.exp(m)).sum(axis=1), 1.0, atol=1e-12)
    assert "CTCF" in v1.cluster_genes["CTCF"]
    assert len(v1.checksum()) == 64


def test_with_background_keeps_probabilities(v1):
    new = with_background(v1, np.array([0.2, 0.3, 0.3, 0.2]))
    for a, b in zip(v1.matrices[:20], new.matrices[:20], strict=True):
        np.testing.assert_allclose(v1.background * np.exp(a), new.background * np.exp(b))
    assert new.checksum() != v1.checksum()


def test_gimme_pfm_real_files():
    j = read_gimme_pfm(shared_path("motifs/JASPAR2022_vertebrates.pfm"))
    h = read_gimme_pfm(shared_path("motifs/HOCOMOCOv11_HUMAN.pfm"))
    assert len(j) == 838 and len(h) == 401
    assert len(j.clusters) == 838  # no clustering in this format: one cluster per motif
    assert j.cluster_genes["MA0006.1_MA0006.1.Ahr::Arnt"] == ["AHR", "ARNT"]
    assert h.cluster_genes["AHR_HUMAN.H11MO.0.B"] == ["AHR"]


MEME = """MEME version 4

ALPHABET= ACGT

strands: + -

Background letter frequencies
A 0.3 C 0.2 G 0.2 T 0.3

MOTIF M1 GATA
letter-probability matrix: alength= 4 w= 3 nsites= 10 E= 0
 0.0 0.0 1.0 0.0
 1.0 0.0 0.0 0.0
 0.1 0.1 0.1 0.7

MOTIF M2
letter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0
 0.25 0.25 0.25 0.25
 0.5 0.0 0.5 0.0
"""


def test_meme_reader(tmp_path):
    p = tmp_path / "x.meme"
    p.write_text(MEME)
    m = read_meme(p)
    assert m.names == ("M1.GATA", "M2")
    np.testing.assert_allclose(m.background, [0.3, 0.2, 0.2, 0.3])
    # counts = prob * nsites, total pseudocount 1 spread by background
    expected = np.log((np.array([0, 0, 10, 0]) + m.background) / 11 / m.background)
    np.testing.assert_allclose(m.matrices[0][0], expected)
    assert load_motifs(p).names == m.names
    bad = tmp_path / "bad.meme"
    bad.write_text(MEME.replace(" 1.0 0.0 0.0 0.0", " 1.0 0.0 oops 0.0"))
    with pytest.raises(InputError, match=r"bad\.meme, line 13"):
        read_meme(bad)


@pytest.mark.parametrize(
    "name, genes",
    [
        ("MA0035.5.GATA1", ["GATA1"]),  # JASPAR
        ("MA0006.1.Ahr::Arnt", ["AHR", "ARNT"]),
        ("Ahr::Arnt", ["AHR", "ARNT"]),  # a JASPAR TF name alone
        ("MA1546.1.PAX3(var.2)", ["PAX3"]),  # JASPAR <= 2020 variant tags
        ("MA0489.1.JUN (var.2)", ["JUN"]),
        ("ALX3_homeodomain_1", ["ALX3"]),  # GET v1
        ("Vdr.mouse_nuclearreceptor_1", ["VDR"]),
        ("ARNT+HIF1A_MA0259.1", ["ARNT", "HIF1A"]),
        ("MAF+NFE2_MA0501.1", ["MAF", "NFE2"]),
        ("MAFB_HUMAN.H11MO.0.B", ["MAFB"]),  # HOCOMOCO, a symbol starting "MA"
        ("AHR.H12CORE.0.P.B", ["AHR"]),  # HOCOMOCO v12
        ("MA0004.1_MA0004.1.Arnt", ["ARNT"]),  # gimmemotifs' JASPAR names
        ("MA0035.5", []),  # an id without a TF name
    ],
)
def test_motif_genes_reads_every_database_naming(name, genes):
    from getx.motifs.genes import motif_genes

    assert motif_genes(name) == genes


def test_jaspar_reader(tmp_path):
    p = tmp_path / "x.jaspar"
    p.write_text(">MA0001.1 FOO::BAR\nA [ 1 2 ]\nC [ 0 0 ]\nG [ 3 1 ]\nT [ 0 1 ]\n")
    m = read_jaspar(p)
    assert m.names == ("MA0001.1.FOO::BAR",) and m.matrices[0].shape == (2, 4)
    assert m.cluster_genes["MA0001.1.FOO::BAR"] == ["FOO", "BAR"]
    variant = tmp_path / "v.jaspar"
    variant.write_text(">MA0002.1 PAX3(var.2)\nA [ 1 2 ]\nC [ 0 0 ]\nG [ 3 1 ]\nT [ 0 1 ]\n")
    assert read_jaspar(variant).cluster_genes == {"MA0002.1.PAX3(var.2)": ["PAX3"]}
    np.testing.assert_allclose(m.matrices[0][0], np.log((np.array([1, 0, 3, 0]) + 0.25) / 5 / 0.25))
    plain = tmp_path / "y.pfm"
    plain.write_text(">MA0002.1 X\n1 2\n0 0\n3 1\n0 1\n")
    np.testing.assert_allclose(load_motifs(plain).matrices[0], m.matrices[0])
    bad = tmp_path / "bad.jaspar"
    bad.write_text(">MA0001.1 FOO\nA [ 1 2 ]\nC [ 0 x ]\nG [ 3 1 ]\nT [ 0 1 ]\n")
    with pytest.raises(InputError, match=r"bad\.jaspar, line 3"):
        read_jaspar(bad)


def test_hocomoco_reader(tmp_path):
    pcm = tmp_path / "a.pcm"
    pcm.write_text(">FOO_HUMAN.H11MO.0.A\n10 0 0 0\n0 0 10 0\n")
    m = read_hocomoco(pcm)
    assert m.cluster_genes["FOO_HUMAN.H11MO.0.A"] == ["FOO"]
    pwm = tmp_path / "a.pwm"
    pwm.write_text(">FOO\n1.0 -2.0 -2.0 -2.0\n-1 -1 0.5 -1\n")
    np.testing.assert_allclose(read_hocomoco(pwm).matrices[0], [[1, -2, -2, -2], [-1, -1, 0.5, -1]])
    bad = tmp_path / "b.pcm"
    bad.write_text(">FOO\n10 0 0 0\n0 0 10\n")
    with pytest.raises(InputError, match=r"b\.pcm, line 3"):
        read_hocomoco(bad)


def test_gimme_pfm_errors(tmp_path):
    bad = tmp_path / "bad.pfm"
    bad.write_text("# comment\n>M1\n1\t2\t3\t4\n1\t2\t3\n")
    with pytest.raises(InputError, match=r"bad\.pfm, line 4"):
        read_gimme_pfm(bad)
    with pytest.raises(InputError, match="no such motif file"):
        load_motifs(tmp_path / "missing.meme")


def _brute_force(matrix: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer (discretised) score, real score and probability of every one of the 4^W words."""
    W = matrix.shape[0]
    words = np.array(list(itertools.product(range(4), repeat=W)))
    ints = discretise(matrix)
    cols = np.arange(W)
    int_score = ints[cols, words].sum(axis=1)
    real = matrix[cols, words].sum(axis=1)
    prob = bg[words].prod(axis=1)
    return int_score, real, prob


@pytest.mark.parametrize("p", [1e-2, 1e-3, 1e-4])
def test_thresholds_match_brute_force(v1, p):
    j = load_jaspar()
    cases = [(m, v1.background) for m in v1.matrices if m.shape[0] <= 7][:4]
    cases += [(m, j.background) for m in j.matrices if m.shape[0] <= 8][:4]
    assert len(cases) == 8
    for matrix, bg in cases:
        for mat in (matrix, reverse_complement(matrix)):
            t = threshold_from_p(mat, bg, p)
            int_score, _, prob = _brute_force(mat, bg)
            k = round(t * PRECISION)
            if abs(t * PRECISION - k) > 1e-6:  # only the best word(s) (max - min_delta / 2)
                assert prob[int_score == int_score.max()].sum() > p
                continue
            assert prob[int_score >= k].sum() <= p * (1 + 1e-12)
            assert prob[int_score >= k - 1].sum() > p


def test_best_word_threshold_when_p_is_tiny(v1):
    m = next(x for x in v1.matrices if x.shape[0] == 6)
    t = threshold_from_p(m, v1.background, 1e-12)
    _, real, _ = _brute_force(m, v1.background)
    assert (real >= t).sum() == (np.isclose(real, real.max())).sum()


def test_thresholds_cached(v1, tmp_path, monkeypatch):
    monkeypatch.setenv("GETX_CACHE_DIR", str(tmp_path))
    from getx.motifs import select

    sub = select(v1, names=list(v1.names[:5]))
    first = strand_thresholds(sub, 1e-4)
    files = list((tmp_path / "thresholds").glob("*.npz"))
    assert len(files) == 1
    with np.load(files[0], allow_pickle=False) as z:
        np.testing.assert_array_equal(z["thresholds"], first)
    np.testing.assert_array_equal(strand_thresholds(sub, 1e-4), first)
    # GET's AT-rich background: some motifs match every position-ish word (threshold <= 0).
    assert first.shape == (5, 2)


def test_damaged_threshold_cache_is_rebuilt(v1, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("GETX_CACHE_DIR", str(tmp_path))
    from getx.motifs import select

    sub = select(v1, names=list(v1.names[:3]))
    first = strand_thresholds(sub, 1e-4)
    (path,) = (tmp_path / "thresholds").glob("*.npz")
    wrong_shape = tmp_path / "other.npz"
    np.savez(wrong_shape, thresholds=np.zeros((2, 2)))
    for damage, why in [(b"not a zip", "rebuilding"), (wrong_shape.read_bytes(), "(2, 2)")]:
        path.write_bytes(damage)
        caplog.clear()
        np.testing.assert_array_equal(strand_thresholds(sub, 1e-4), first)
        assert "rebuilding the threshold cache" in caplog.text and why in caplog.text
        assert path.read_bytes() != damage  # rewritten
        with np.load(path, allow_pickle=False) as z:
            np.testing.assert_array_equal(z["thresholds"], first)
