"""Structure scoring: hand-built two-chain complexes whose contacts and pDockQ are known by
construction (written with gemmi), ColabFold folders, bad input, and the real KLF4 complexes."""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import shared_path
from getx.errors import InputError
from getx.structures.colabfold import find_models
from getx.structures.compare import METRICS, compare, write_comparison
from getx.structures.interface import find_contacts, residue_ranges
from getx.structures.pairs import (
    apply_substitution,
    build_jobs,
    parse_substitution,
    read_manifest,
    read_pair_list,
    read_proteins,
    write_colabfold_input,
)
from getx.structures.read import read_complex, read_pae, read_scores
from getx.structures.scores import ipsae, pdockq, ranking_confidence
from getx.structures.segments import segment_chain, smooth
from getx.structures.tables import ScoreOptions, score_model, score_models, write_tables

KLF4 = "structures/KLF4_high_quality"

# A residue: (name, CA, CB or None, pLDDT). N and C sit beside the CA; only CB/CA matter.
Residue = tuple[str, tuple[float, float, float], tuple[float, float, float] | None, float]


def write_structure(path: Path, chains: dict[str, list[Residue]]) -> Path:
    """A PDB or mmCIF (by suffix; .gz compresses) of the given chains, written by gemmi."""
    import gemmi

    structure = gemmi.Structure()
    model = gemmi.Model(1)
    for name, residues in chains.items():
        chain = gemmi.Chain(name)
        for number, (resname, ca, cb, plddt) in enumerate(residues, start=1):
            residue = gemmi.Residue()
            residue.name, residue.seqid = resname, gemmi.SeqId(number, " ")
            residue.entity_type, residue.het_flag = gemmi.EntityType.Polymer, "A"
            atoms = [("N", "N", np.add(ca, (-1.2, 0.6, 0))), ("CA", "C", ca)]
            atoms += [("C", "C", np.add(ca, (1.2, 0.6, 0)))]
            if cb is not None:
                atoms.append(("CB", "C", cb))
            for atom_name, element, pos in atoms:
                atom = gemmi.Atom()
                atom.name, atom.element = atom_name, gemmi.Element(element)
                atom.pos, atom.b_iso, atom.occ = gemmi.Position(*map(float, pos)), plddt, 1.0
                residue.add_atom(atom)
            chain.add_residue(residue)
        model.add_chain(chain)
    structure.add_model(model)
    structure.setup_entities()
    name = path.name.removesuffix(".gz")
    cif = name.endswith(".cif")
    text = structure.make_mmcif_document().as_string() if cif else structure.make_pdb_string()
    data = text.encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def ala(x: float, y: float, z: float, plddt: float, cb_offset=(0.0, 0.0, 0.0)) -> Residue:
    """An alanine whose CB is at (x, y, z) (its CA 1.5 A away unless told otherwise)."""
    cb = (x, y, z)
    return ("ALA", tuple(np.subtract(cb, (0, 0, 1.5)) + cb_offset), cb, plddt)


def geometry_complex(path: Path) -> Path:
    """Chain A: five residues 20 A apart on x. Chain B opposite them:
    B1 5 A from A1 (contact), B2 7.9 A from A2 (contact), B3 8.1 A from A3 (none),
    B4 a glycine whose CA is 6 A from A4 (contact through CA), B5 an alanine whose CA is 1 A
    from A5's CB but whose CB is 12 A away (no contact: CB counts, not CA)."""
    a = [ala(20.0 * i, 0, 0, plddt) for i, plddt in enumerate((90, 80, 70, 60, 50))]
    b = [
        ala(0, 5, 0, 85),
        ala(20, 7.9, 0, 75),
        ala(40, 8.1, 0, 65),
        ("GLY", (60, 6, 0), None, 55),
        ("ALA", (80, 1, 0), (80, 12, 0), 45),
    ]
    return write_structure(path, {"A": a, "B": b})


def test_contacts_of_a_hand_built_complex(tmp_path):
    a, b = read_complex(geometry_complex(tmp_path / "geometry.pdb"))
    contacts = find_contacts(a, b)
    assert list(zip(contacts.a.tolist(), contacts.b.tolist(), strict=True)) == [
        (0, 0),
        (1, 1),
        (3, 3),
    ]
    np.testing.assert_allclose(contacts.distance, [5.0, 7.9, 6.0], atol=1e-3)
    row = score_model(find_models([tmp_path / "geometry.pdb"])[0]).row
    assert row["n_contacts"] == 3 and row["n_interface_a"] == 3 and row["n_interface_b"] == 3
    assert row["interface_plddt"] == pytest.approx((90 + 80 + 60 + 85 + 75 + 55) / 6)
    assert row["interface_a"] == "1-2,4" and row["interface_b"] == "1-2,4"


def test_contact_at_exactly_the_cutoff_counts(tmp_path):
    path = write_structure(
        tmp_path / "edge.pdb", {"A": [ala(0, 0, 0, 80)], "B": [ala(0, 8, 0, 80)]}
    )
    a, b = read_complex(path)
    assert len(find_contacts(a, b)) == 1
    assert len(find_contacts(a, b, cutoff=7.999)) == 0


def test_pdockq_is_the_sigmoid_midpoint_by_construction(tmp_path):
    """100 contacts (10 x 10 residues all within 8 A) at interface pLDDT 76.3055 give
    x = 76.3055 * log10(100) = 152.611, the sigmoid's midpoint: pDockQ = 0.724 / 2 + 0.018."""
    a = [ala(0.4 * i, 0, 0, 76.3055) for i in range(10)] + [ala(200, 0, 0, 10)]
    b = [ala(0.4 * i, 4, 0, 76.3055) for i in range(10)] + [ala(-200, 0, 0, 99)]
    path = write_structure(tmp_path / "midpoint.cif.gz", {"A": a, "B": b})
    row = score_model(find_models([path])[0]).row
    assert row["n_contacts"] == 100
    assert row["interface_plddt"] == pytest.approx(76.3055, abs=1e-9)
    assert row["pdockq"] == pytest.approx(0.724 / 2 + 0.018, abs=1e-9)
    assert row["mean_plddt_a"] == pytest.approx((10 * 76.3055 + 10) / 11)


def test_pdockq_without_contacts_is_zero_and_grows_with_contacts():
    assert pdockq(float("nan"), 0) == 0.0
    values = [pdockq(80.0, n) for n in (1, 10, 100, 1000)]
    assert values == sorted(values) and values[0] > 0.018 and values[-1] < 0.724 + 0.018


def test_ipsae_cases_known_by_construction():
    n_a, n_b = 30, 40
    pae = np.full((n_a + n_b, n_a + n_b), 30.0)
    assert ipsae(pae, n_a) == (0.0, 0.0)  # nothing under the cut-off
    pae[:n_a, n_a:] = 0.0  # A's rows: every B residue perfectly placed
    assert ipsae(pae, n_a) == (1.0, 0.0)
    # One A residue with one B residue at PAE 1: n = 1 -> d0 floored at 1 A -> 1 / (1 + 1).
    pae[:n_a, n_a:] = 30.0
    pae[3, n_a + 7] = 1.0
    assert ipsae(pae, n_a) == (0.5, 0.0)
    # The cut-off is strict (PAE < cutoff), as in ipsae.py.
    pae[3, n_a + 7] = 10.0
    assert ipsae(pae, n_a, cutoff=10.0) == (0.0, 0.0)
    assert ipsae(pae, n_a, cutoff=10.5)[0] > 0


def test_ranking_confidence():
    assert ranking_confidence(0.5, 1.0) == pytest.approx(0.6)
    assert math.isnan(ranking_confidence(0.5, None))


def test_segments_of_a_step_profile():
    # 50 confident residues, 40 disordered, an 8-residue confident blip, 30 disordered.
    plddt = np.array([90.0] * 50 + [30.0] * 40 + [90.0] * 8 + [30.0] * 30)
    segments = segment_chain(plddt)
    # The 90 -> 30 step: residue 47's window (42-52) holds 8 confident residues,
    # (8 * 90 + 3 * 30) / 11 = 73.6 >= 70; residue 48's holds 7: 68.2 < 70.
    assert [(s.start, s.end, s.kind) for s in segments] == [
        (0, 48, "ordered"),
        (48, 128, "disordered"),  # the blip's ~4 smoothed-ordered residues are merged away
    ]
    assert smooth(plddt)[0] == pytest.approx(90.0)  # the edge window is the 6 residues there
    # Without the minimum length the blip's core survives as its own ordered segment.
    assert len(segment_chain(plddt, min_length=1)) == 4


def test_residue_ranges():
    assert residue_ranges(np.array([5, 1, 2, 3, 9, 10])) == "1-3,5,9-10"
    assert residue_ranges(np.array([], dtype=int)) == ""


def colabfold_folder(folder: Path) -> Path:
    """A ColabFold-named folder for job TFA_TFB: two ranks (rank 1 also relaxed), score JSON
    with PAE for rank 2 only, the PAE v1 JSON (rank 1's PAE)."""
    folder.mkdir()
    a = [ala(0.4 * i, 0, 0, 80) for i in range(5)]
    b = [ala(0.4 * i, 4, 0, 70) for i in range(3)]
    n = len(a) + len(b)
    tag1 = "alphafold2_multimer_v3_model_2_seed_000"
    tag2 = "alphafold2_multimer_v3_model_5_seed_000"
    write_structure(folder / f"TFA_TFB_unrelaxed_rank_001_{tag1}.pdb", {"A": a, "B": b})
    apart = [b[0], ala(100, 0, 0, 70), ala(120, 0, 0, 70)]  # only B1 touches A
    write_structure(folder / f"TFA_TFB_relaxed_rank_001_{tag1}.pdb", {"A": a, "B": apart})
    write_structure(folder / f"TFA_TFB_unrelaxed_rank_002_{tag2}.pdb", {"A": a, "B": apart})
    pae1 = np.full((n, n), 5.0)
    pae1[:5, 5:] = 2.0
    scores1 = {"plddt": [80] * 5 + [70] * 3, "iptm": 0.6, "ptm": 0.7, "max_pae": 31.75}
    scores2 = {"plddt": [80] * 5 + [70] * 3, "iptm": 0.55, "ptm": 0.5}
    scores2["pae"] = np.full((n, n), 12.0).tolist()
    (folder / f"TFA_TFB_scores_rank_001_{tag1}.json").write_text(json.dumps(scores1))
    (folder / f"TFA_TFB_scores_rank_002_{tag2}.json").write_text(json.dumps(scores2))
    pae_v1 = {"predicted_aligned_error": pae1.tolist(), "max_predicted_aligned_error": 31.75}
    (folder / "TFA_TFB_predicted_aligned_error_v1.json").write_text(json.dumps(pae_v1))
    return folder


def test_colabfold_folder(tmp_path):
    folder = colabfold_folder(tmp_path / "colabfold")
    models = find_models([folder])
    assert [(m.job, m.rank, m.structure.name.split("_rank")[0]) for m in models] == [
        ("TFA_TFB", 1, "TFA_TFB_unrelaxed"),  # unrelaxed wins over relaxed
        ("TFA_TFB", 2, "TFA_TFB_unrelaxed"),
    ]
    assert models[0].pae is not None and models[1].pae is None
    tables = score_models(models)
    m = tables.models.set_index("rank")
    assert m.loc[1, "n_contacts"] == 15 and m.loc[2, "n_contacts"] == 5
    assert m.loc[1, "iptm"] == 0.6 and m.loc[1, "ranking_confidence"] == pytest.approx(0.62)
    assert m.loc[1, "min_pae"] == 2.0 and m.loc[1, "interface_pae"] == pytest.approx(3.5)
    assert m.loc[2, "min_pae"] == 12.0 and m.loc[2, "ipsae"] == 0.0  # all PAE above the cut
    # Best: 0.8 * 0.6 + 0.2 * 0.7 = 0.62 beats 0.8 * 0.55 + 0.2 * 0.5 = 0.54.
    assert tables.pairs["rank"].tolist() == [1] and tables.pairs["n_models"].tolist() == [2]
    assert tables.pairs[["protein_a", "protein_b", "pair_key"]].iloc[0].tolist() == [
        "TFA",
        "TFB",
        "TFA|TFB",
    ]


def test_best_model_follows_the_ranking_confidence(tmp_path):
    folder = colabfold_folder(tmp_path / "colabfold")
    path = next(folder.glob("*_scores_rank_002_*.json"))
    scores = json.loads(path.read_text())
    scores["iptm"] = 0.9
    path.write_text(json.dumps(scores))
    tables = score_models(find_models([folder]))
    assert tables.pairs["rank"].tolist() == [2]
    assert tables.models["best"].tolist() == [False, True]


def test_tables_are_written_as_parquet_and_tsv(tmp_path):
    folder = colabfold_folder(tmp_path / "colabfold")
    options = ScoreOptions()
    tables = score_models(find_models([folder]), options)
    out = write_tables(tables, tmp_path / "scores", options)
    meta = json.loads((out / "structures.json").read_text())
    assert meta["schema_version"] == 1 and meta["pairs"] == 1 and meta["models"] == 2
    for name in meta["tables"]:
        parquet = pd.read_parquet(out / f"{name}.parquet")
        tsv = pd.read_csv(out / f"{name}.tsv", sep="\t", keep_default_na=False, na_values=["NA"])
        assert list(parquet.columns) == list(tsv.columns) == list(getattr(tables, name).columns)
        assert len(parquet) == len(tsv) == len(getattr(tables, name))
    contacts = pd.read_parquet(out / "contacts.parquet")
    assert set(contacts.columns) >= {"pair", "model", "residue_a", "residue_b", "pae_ab"}
    assert contacts.query("model.str.contains('model_2')")["pae_ab"].eq(2.0).all()


# -- bad input: each a one-line InputError naming the file or value ---------------------------


def test_one_chain_is_refused(tmp_path):
    path = write_structure(tmp_path / "one.pdb", {"A": [ala(0, 0, 0, 80), ala(0, 4, 0, 80)]})
    with pytest.raises(InputError, match=r"one.pdb: 1 protein chain\(s\) \(A\)"):
        read_complex(path)


def test_empty_and_truncated_files_are_refused(tmp_path):
    full = geometry_complex(tmp_path / "full.pdb")
    text = full.read_text()
    (tmp_path / "empty.pdb").write_text("")
    with pytest.raises(InputError, match=r"empty.pdb: empty file"):
        read_complex(tmp_path / "empty.pdb")
    (tmp_path / "cut.pdb").write_text(text[: text.index("ATOM      9") + 20])  # mid-line
    with pytest.raises(InputError, match=r"cut.pdb: cannot parse structure"):
        read_complex(tmp_path / "cut.pdb")
    lines = text.splitlines(keepends=True)
    cut_at = next(i for i, line in enumerate(lines) if " B   2" in line and " CA " in line)
    (tmp_path / "lines.pdb").write_text("".join(lines[:cut_at]))  # between lines, in residue B2
    with pytest.raises(InputError, match=r"lines.pdb: chain B residue ALA 2 lacks CA, C"):
        read_complex(tmp_path / "lines.pdb")
    (tmp_path / "gz.pdb.gz").write_bytes(gzip.compress(text.encode())[:200])
    with pytest.raises(InputError, match=r"gz.pdb.gz: truncated or corrupt gzip"):
        read_complex(tmp_path / "gz.pdb.gz")


def test_score_json_without_iptm_and_mismatched_sizes(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"plddt": [1.0] * 4, "ptm": 0.5}))
    with pytest.raises(InputError, match=r"s.json: no 'iptm'"):
        read_scores(tmp_path / "s.json", 4)
    (tmp_path / "s.json").write_text(json.dumps({"plddt": [1.0] * 4, "iptm": 0.5}))
    with pytest.raises(InputError, match=r"pLDDT lists 4 residues but the structure has 5"):
        read_scores(tmp_path / "s.json", 5)
    (tmp_path / "s.json").write_text(json.dumps({"iptm": 0.5, "pae": np.zeros((4, 4)).tolist()}))
    with pytest.raises(InputError, match=r"s.json: PAE is 4 x 4 but the structure has 5 residues"):
        read_scores(tmp_path / "s.json", 5)
    (tmp_path / "p.json").write_text(json.dumps([{"predicted_aligned_error": [[0, 1], [1, 0]]}]))
    assert read_pae(tmp_path / "p.json", 2).shape == (2, 2)  # the AlphaFold DB list form
    with pytest.raises(InputError, match=r"p.json: PAE is 2 x 2 but the structure has 3"):
        read_pae(tmp_path / "p.json", 3)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match=r"bad.json: not valid JSON"):
        read_pae(tmp_path / "bad.json", 3)


def test_pae_of_another_prediction_is_refused_through_the_folder(tmp_path):
    folder = colabfold_folder(tmp_path / "colabfold")
    pae = folder / "TFA_TFB_predicted_aligned_error_v1.json"
    pae.write_text(json.dumps({"predicted_aligned_error": np.zeros((9, 9)).tolist()}))
    with pytest.raises(InputError, match=r"predicted_aligned_error_v1.json: PAE is 9 x 9"):
        score_models(find_models([folder]))


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from getx.cli import run

    (tmp_path / "empty.pdb").write_text("")
    out = tmp_path / "scores"
    monkeypatch.setattr(sys, "argv", ["getx", "structures", "score", str(tmp_path), "-o", str(out)])
    with pytest.raises(SystemExit) as exit_info:
        run()
    assert exit_info.value.code == 2
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["empty.pdb"]


# -- ColabFold input for pairs and variants ----------------------------------------------------

FASTA = """>sp|P00001|AAA_HUMAN Protein A OS=Homo sapiens GN=TFA PE=1
MGSKAGHLLA
>sp|P00002|BBB_HUMAN Protein B OS=Homo sapiens GN=TFB PE=1
MKTAYIAKQR
QISFVKSHFS
>TFC some other record
MPEPTIDE
"""


def test_pairs_writes_colabfold_csv_and_fasta(tmp_path):
    (tmp_path / "p.fa").write_text(FASTA)
    proteins = read_proteins(tmp_path / "p.fa")
    assert proteins["TFA"] == proteins["P00001"] == proteins["AAA_HUMAN"] == "MGSKAGHLLA"
    assert proteins["TFB"] == "MKTAYIAKQRQISFVKSHFS" and proteins["TFC"] == "MPEPTIDE"
    (tmp_path / "pairs.tsv").write_text(
        "tf_a\ttf_b\tscore\nTFA\tTFC\t0.2\nTFA\tTFB\t0.9\nTFB\tTFA\t0.5\nTFB\tTFC\t0.1\n"
    )
    pairs = read_pair_list(tmp_path / "pairs.tsv", top=2)
    assert pairs == [("TFA", "TFB", 0.9), ("TFA", "TFC", 0.2)]  # TFB-TFA is the same pair
    subs = [parse_substitution("TFA:p.G2S"), parse_substitution("TFB:p.Lys2Glu")]
    jobs = build_jobs(proteins, pairs, subs)
    assert [j.id for j in jobs] == [
        "TFA_TFB",
        "TFA_TFB_TFA-G2S",
        "TFA_TFB_TFB-K2E",
        "TFA_TFC",
        "TFA_TFC_TFA-G2S",
    ]
    csv, manifest = write_colabfold_input(jobs, tmp_path / "batch.csv")
    # ColabFold's batch CSV: columns id and sequence, chains joined by ':'.
    table = pd.read_csv(csv, dtype=str)
    assert list(table.columns) == ["id", "sequence"]
    first, variant = (row.sequence.split(":") for row in table.head(2).itertuples())
    assert first == ["MGSKAGHLLA", "MKTAYIAKQRQISFVKSHFS"] and variant[0] == "MSSKAGHLLA"
    names = read_manifest(manifest)
    assert names["TFA_TFB_TFB-K2E"].variant == "TFB:p.K2E" and names["TFA_TFC"].protein_b == "TFC"
    fasta, _ = write_colabfold_input(jobs[:1], tmp_path / "batch.fasta")
    assert fasta.read_text() == ">TFA_TFB\nMGSKAGHLLA:MKTAYIAKQRQISFVKSHFS\n"


def test_pairs_bad_input(tmp_path):
    (tmp_path / "p.fa").write_text(FASTA)
    proteins = read_proteins(tmp_path / "p.fa")
    with pytest.raises(InputError, match=r"TFA:p.A2S: TFA has G at 2, not A"):
        apply_substitution(proteins["TFA"], parse_substitution("TFA:p.A2S"))
    with pytest.raises(InputError, match=r"position 99 is outside TFA"):
        apply_substitution(proteins["TFA"], parse_substitution("TFA:p.G99S"))
    for bad in ("TFA:G2S", "TFA:p.G2*", "p.G2S", "TFA:p.G2del", "TFA:p.Xaa2Ser"):
        with pytest.raises(InputError, match=r"mutation"):
            parse_substitution(bad)
    with pytest.raises(InputError, match=r"no sequence named 'TFZ'"):
        build_jobs(proteins, [("TFA", "TFZ", None)], fasta=tmp_path / "p.fa")
    (tmp_path / "nopairs.tsv").write_text("a\tb\nTFA\tTFB\n")
    with pytest.raises(InputError, match=r"needs columns tf_a and tf_b"):
        read_pair_list(tmp_path / "nopairs.tsv")
    (tmp_path / "noscore.csv").write_text("gene_a,gene_b\nTFA,TFB\n")
    assert read_pair_list(tmp_path / "noscore.csv") == [("TFA", "TFB", None)]
    with pytest.raises(InputError, match=r"--top needs a 'score' column"):
        read_pair_list(tmp_path / "noscore.csv", top=1)
    (tmp_path / "badscore.tsv").write_text("tf_a\ttf_b\tscore\nTFA\tTFB\t0.1\nTFA\tTFC\thigh\n")
    with pytest.raises(InputError, match=r"badscore.tsv, line 3: score 'high'"):
        read_pair_list(tmp_path / "badscore.tsv")


# -- the real KLF4 complexes (../shared/data) ---------------------------------------------------


def _text_columns_pdockq(path: Path) -> tuple[int, float]:
    """Contacts and pDockQ from the PDB text by fixed columns and a full numpy distance matrix:
    an implementation that shares nothing with getx's reader."""
    coords: dict[str, list] = {}
    plddt: dict[str, list] = {}
    for line in gzip.decompress(path.read_bytes()).decode().splitlines():
        if line.startswith("ATOM") and (
            line[12:16].strip() == "CB" or (line[12:16].strip() == "CA" and line[17:20] == "GLY")
        ):
            chain = line[21]
            coords.setdefault(chain, []).append([float(line[i : i + 8]) for i in (30, 38, 46)])
            plddt.setdefault(chain, []).append(float(line[60:66]))
    (ca, cb) = (np.array(v) for v in coords.values())
    (pa, pb) = (np.array(v) for v in plddt.values())
    close = np.sqrt(((ca[:, None, :] - cb[None, :, :]) ** 2).sum(-1)) <= 8.0
    n = int(close.sum())
    if n == 0:
        return 0, 0.0
    mean = np.concatenate([pa[close.any(1)], pb[close.any(0)]]).mean()
    return n, 0.724 / (1 + np.exp(-0.052 * (mean * np.log10(n) - 152.611))) + 0.018


def test_real_klf4_complexes():
    folder = shared_path(KLF4)
    models = find_models([folder])
    assert len(models) == 51
    tables = score_models(models)
    pairs = tables.pairs.set_index("pair")
    assert (pairs["length_a"] == 513).all() and (pairs["protein_a"] == "O43474").all()
    # KLF4-MAFG: no CB-CB pair within 8 A (the authors' table lists pDockQ 0.56 for it).
    assert pairs.loc["O43474_O15525", "n_contacts"] == 0
    assert pairs.loc["O43474_O15525", "pdockq"] == 0.0
    assert pairs["pdockq"].between(0, 0.742).all() and (pairs["n_contacts"] > 0).sum() == 50
    for name in ("O43474_Q9UI95", "O43474_P08235", "O43474_O15525"):
        n, value = _text_columns_pdockq(folder / f"{name}.pdb.gz")
        assert pairs.loc[name, "n_contacts"] == n
        assert pairs.loc[name, "pdockq"] == pytest.approx(value, abs=1e-12)
    # KLF4's C-terminal zinc fingers (from residue ~430) are its ordered end in the MAFG model.
    segments = tables.segments.query("pair == 'O43474_O15525' and chain == 'A'")
    assert segments["kind"].tolist() == ["disordered", "ordered"]
    assert 400 < segments["start"].iloc[-1] < 440 and segments["end"].iloc[-1] == 513
    touching = tables.segment_contacts.query("pair == 'O43474_Q9UI95'")
    assert touching["n_contacts"].sum() == pairs.loc["O43474_Q9UI95", "n_contacts"]


def test_real_complex_reads_the_same_as_pdb_mmcif_and_gzip(tmp_path):
    import gemmi

    source = shared_path(f"{KLF4}/O43474_Q9UI95.pdb.gz")
    structure = gemmi.read_structure(str(source))
    plain = tmp_path / "plain" / "O43474_Q9UI95.pdb"
    plain.parent.mkdir()
    plain.write_bytes(gzip.decompress(source.read_bytes()))
    cif = tmp_path / "cif" / "O43474_Q9UI95.cif"
    cif.parent.mkdir()
    cif.write_text(structure.make_mmcif_document().as_string())
    rows = [score_model(find_models([p])[0]).row for p in (source, plain, cif)]
    for key in ("n_contacts", "interface_plddt", "pdockq", "length_b", "interface_b"):
        assert rows[0][key] == rows[1][key] == rows[2][key], key


def test_compare_a_real_complex_with_a_perturbed_copy(tmp_path):
    """The KLF4 data has one model per pair, so the 'mutant' is a copy of KLF4-CDKN2D
    (O43474_P55273) with chain B shifted by 1.5 A and its residue 100 renamed to serine;
    the contacts gained and lost are checked against a brute-force recount."""
    import gemmi

    source = shared_path(f"{KLF4}/O43474_P55273.pdb.gz")
    structure = gemmi.read_structure(str(source))
    chain_b = structure[0]["B"]
    for residue in chain_b:
        for atom in residue:
            atom.pos = gemmi.Position(atom.pos.x + 1.5, atom.pos.y, atom.pos.z)
    renamed = chain_b[99]
    old = gemmi.find_tabulated_residue(renamed.name).one_letter_code.upper()
    renamed.name = "SER"
    (tmp_path / "mut").mkdir()
    (tmp_path / "mut" / "O43474_P55273.pdb").write_text(structure.make_pdb_string())
    result = compare(source, tmp_path / "mut")
    assert result.differences == [f"B:{old}100S"]
    wt_a, wt_b = read_complex(source)
    mut_a, mut_b = read_complex(tmp_path / "mut" / "O43474_P55273.pdb")

    def brute(a, b):
        d = np.sqrt(((a.coords[:, None] - b.coords[None]) ** 2).sum(-1))
        return {(int(i), int(j)) for i, j in zip(*np.nonzero(d <= 8.0), strict=True)}

    before, after = brute(wt_a, wt_b), brute(mut_a, mut_b)
    assert before != after
    contacts = result.contacts
    gained = {
        (int(np.flatnonzero(wt_a.numbers == r.residue_a)[0]), int(r.residue_b) - 1)
        for r in contacts.query("status == 'gained'").itertuples()
    }
    assert gained == after - before
    assert (contacts["status"] == "lost").sum() == len(before - after)
    metrics = result.metrics.set_index("metric")
    assert metrics.loc["n_contacts", "change"] == len(after) - len(before)
    assert metrics.loc["n_contacts", "wild_type"] == len(before)
    # every interface metric, each side as `score` gives it, and the change between them
    assert metrics.index.tolist() == list(METRICS)
    rows = [score_model(find_models([p])[0]).row for p in (source, tmp_path / "mut")]
    for metric in METRICS:
        wild, mutant = (float(row[metric]) for row in rows)
        assert metrics.loc[metric, "wild_type"] == pytest.approx(wild, nan_ok=True), metric
        assert metrics.loc[metric, "mutant"] == pytest.approx(mutant, nan_ok=True), metric
        assert metrics.loc[metric, "change"] == pytest.approx(mutant - wild, nan_ok=True), metric
    assert metrics.loc["pdockq", "change"] != 0 and metrics.loc["interface_plddt", "change"] != 0
    residues = result.residues
    assert (
        residues["change"] == residues["contacts_mutant"] - residues["contacts_wild_type"]
    ).all()
    out = write_comparison(result, tmp_path / "cmp")
    assert sorted(p.name for p in out.iterdir()) == [
        "contacts.tsv",
        "differences.txt",
        "metrics.tsv",
        "residues.tsv",
    ]


def test_compare_refuses_different_residues_and_several_pairs(tmp_path):
    folder = shared_path(KLF4)
    with pytest.raises(InputError, match=r"holds 51 pairs"):
        compare(folder, folder / "O43474_O15525.pdb.gz")
    with pytest.raises(InputError, match=r"chain B has 162 residues in the wild type"):
        compare(folder / "O43474_O15525.pdb.gz", folder / "O43474_P55273.pdb.gz")


def test_compare_picks_jobs_out_of_one_colabfold_folder(tmp_path):
    folder = colabfold_folder(tmp_path / "colabfold")
    a = [ala(0.4 * i, 0, 0, 80) for i in range(5)]
    b = [ala(0.4 * i, 4, 0, 70) for i in range(3)]
    b[0] = ("SER", *b[0][1:])
    tag = "alphafold2_multimer_v3_model_1_seed_000"
    write_structure(folder / f"TFA_TFB_TFB-A1S_unrelaxed_rank_001_{tag}.pdb", {"A": a, "B": b})
    with pytest.raises(InputError, match=r"holds 2 pairs .*e\.g\. .*colabfold/TFA_TFB"):
        compare(folder, folder)
    result = compare(folder / "TFA_TFB", folder / "TFA_TFB_TFB-A1S")
    assert result.differences == ["B:A1S"]
    metrics = result.metrics.set_index("metric")
    assert metrics.loc["n_contacts"].tolist() == [15.0, 15.0, 0.0]
    assert metrics.loc["iptm", "wild_type"] == 0.6 and math.isnan(metrics.loc["iptm", "mutant"])
    assert result.contacts.empty and result.residues.empty
    with pytest.raises(InputError, match="no job 'TFA_TFC'"):
        compare(folder / "TFA_TFC", folder / "TFA_TFB")


def test_pairs_from_real_klf4_sequences(tmp_path):
    klf4, mafg = read_complex(shared_path(f"{KLF4}/O43474_O15525.pdb.gz"))
    (tmp_path / "p.fa").write_text(
        f">sp|O43474|KLF4_HUMAN Krueppel-like factor 4 GN=KLF4\n{klf4.sequence}\n"
        f">sp|O15525|MAFG_HUMAN Transcription factor MafG GN=MAFG\n{mafg.sequence}\n"
    )
    (tmp_path / "pairs.tsv").write_text("tf_a\ttf_b\nKLF4\tMAFG\n")
    glycine = klf4.sequence.index("G") + 1
    other = next(i for i, x in enumerate(klf4.sequence, start=1) if x not in "GS")
    proteins = read_proteins(tmp_path / "p.fa")
    with pytest.raises(InputError, match=rf"KLF4 has {klf4.sequence[other - 1]} at {other}, not G"):
        build_jobs(
            proteins,
            read_pair_list(tmp_path / "pairs.tsv"),
            [parse_substitution(f"KLF4:p.G{other}S")],
        )
    jobs = build_jobs(
        proteins,
        read_pair_list(tmp_path / "pairs.tsv"),
        [parse_substitution(f"KLF4:p.G{glycine}S")],
    )
    csv, _ = write_colabfold_input(jobs, tmp_path / "klf4.csv")
    table = pd.read_csv(csv, dtype=str).set_index("id")
    wild, mutant = (
        table.loc[j, "sequence"].split(":") for j in ("KLF4_MAFG", f"KLF4_MAFG_KLF4-G{glycine}S")
    )
    assert [len(s) for s in wild] == [513, 162] and wild[1] == mutant[1]
    changed = [i + 1 for i, (x, y) in enumerate(zip(wild[0], mutant[0], strict=True)) if x != y]
    assert changed == [glycine] and mutant[0][glycine - 1] == "S"


def test_structures_commands(tmp_path):
    from typer.testing import CliRunner

    from getx.cli import app

    folder = colabfold_folder(tmp_path / "colabfold")
    runner = CliRunner()
    result = runner.invoke(app, ["structures", "score", str(folder), "-o", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "s" / "pairs.tsv", sep="\t")["pair"].tolist() == ["TFA_TFB"]
    (tmp_path / "p.fa").write_text(FASTA)
    (tmp_path / "pairs.tsv").write_text("tf_a\ttf_b\nTFA\tTFB\n")
    args = ["structures", "pairs", "--fasta", str(tmp_path / "p.fa"), "--pairs"]
    args += [
        str(tmp_path / "pairs.tsv"),
        "--mutation",
        "TFA:p.G2S",
        "-o",
        str(tmp_path / "j.fasta"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "j.fasta").read_text().count(">") == 2
    assert (tmp_path / "j.manifest.tsv").exists()
    cmp = ["structures", "compare", "--wt", str(folder), "--mut", str(folder)]
    result = runner.invoke(app, [*cmp, "-o", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "c" / "metrics.tsv", sep="\t")["change"].eq(0).all()


def test_fractional_plddt_is_scaled_to_percent(tmp_path):
    path = write_structure(
        tmp_path / "esm.pdb", {"A": [ala(0, 0, 0, 0.8)], "B": [ala(0, 5, 0, 0.6)]}
    )
    a, b = read_complex(path)
    assert a.plddt.tolist() == [80.0] and b.plddt.tolist() == [60.0]
