"""``sequence_features``: GET's region features of windows of short sequences (reporter
constructs), against the independent archetype-track reference on real DNA."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from getx.errors import InputError
from getx.motifs import load_motifs, scan_hits, select, sequence_features
from test_motifs_scan import reference_features


@pytest.fixture(scope="module")
def motifs():
    v1 = load_motifs(shared_path("motifs/nrmotif_v1.json").parent)
    return select(v1, names=list(v1.names[::8]))


@pytest.fixture(scope="module")
def sequences() -> list[str]:
    """Twelve 300-nt pieces of real hg38 chr22 (upper and lower case, as FASTA has them)."""
    path = shared_path("genome/hg38_chr22_32000000_32300000.fa")
    seq = "".join(x.strip() for x in path.read_text().splitlines() if not x.startswith(">"))
    pieces = [seq[i : i + 300] for i in range(50_000, 50_000 + 12 * 7_000, 7_000)]
    pieces[3] = pieces[3].lower()
    return pieces


def test_windows_equal_the_reference(motifs, sequences):
    windows = [(0, 300), (0, 40), (130, 180), (260, 300)]
    ours = sequence_features(sequences, motifs, windows)
    assert ours.shape == (12, 4, len(motifs.clusters)) and ours.dtype == np.float32
    frame = pd.DataFrame(windows, columns=["start", "end"])
    for i, seq in enumerate(sequences):
        # Hits of this sequence alone: nothing outside it exists to extend a merged hit.
        ref = reference_features(scan_hits(seq, motifs), frame, motifs.clusters)
        np.testing.assert_allclose(ours[i], ref, rtol=1e-5, atol=1e-4)
    assert (ours[:, 0] != 0).sum() > 50


def test_default_window_is_each_whole_sequence(motifs, sequences):
    mixed = [sequences[0], sequences[1][:120], sequences[2][:57]]
    whole = sequence_features(mixed, motifs)
    assert whole.shape == (3, 1, len(motifs.clusters))
    for i, seq in enumerate(mixed):
        one = sequence_features([seq], motifs, [(0, len(seq))])
        np.testing.assert_array_equal(whole[i], one[0])


def test_a_sequence_alone_is_blind_to_its_surroundings(motifs, sequences):
    """The middle 100 nt scanned alone and as a window of the whole piece differ only by the
    hits that span its edges: alone, no hit can run past them."""
    alone = sequence_features([s[100:200] for s in sequences], motifs)[:, 0]
    embedded = sequence_features(sequences, motifs, [(100, 200)])[:, 0]
    frame = pd.DataFrame({"start": [100], "end": [200]})
    for i, seq in enumerate(sequences):
        ref = reference_features(scan_hits(seq, motifs), frame, motifs.clusters)[0]
        np.testing.assert_allclose(embedded[i], ref, rtol=1e-5, atol=1e-4)
    differs = [not np.allclose(a, e) for a, e in zip(alone, embedded, strict=True)]
    assert 0 < sum(differs) < len(sequences)


def test_bad_windows_name_the_problem(motifs, sequences):
    with pytest.raises(InputError, match="sequence 1 is 50 bp, shorter than the window end 60"):
        sequence_features([sequences[0], sequences[1][:50]], motifs, [(0, 60)])
    with pytest.raises(InputError, match="empty or starts before 0"):
        sequence_features(sequences, motifs, [(10, 10)])
    with pytest.raises(InputError, match="no sequences"):
        sequence_features([], motifs)
