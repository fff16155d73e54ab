"""Every input reader on damaged, odd and random input (issue #14, the input half).

A damaged file (random bytes, a truncated gzip, a Latin-1 byte, a folder, nothing) is one
``InputError`` naming the file; CRLF line endings and a UTF-8 byte-order mark read the same as
the plain file; property tests feed random and mutated text to the BED, GTF, table and MEME
readers: a result or an ``InputError``, never another exception (60 examples each; more with
GETX_PROPERTY_EXAMPLES=N: 3,000 each found nothing more). The genome: a stale index is
found and replaced, a base that is no IUPAC code is named, N-only sequence is refused.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from getx.errors import InputError
from getx.interpret.variants import read_variants
from getx.io.accessibility import counts_from_bed, counts_from_fragments, counts_from_h5ad
from getx.io.annotation import load_annotation, read_gene_bed, read_gtf, read_tss_table
from getx.io.cells import read_cell_type_table
from getx.io.expression import read_gene_table, read_pseudobulk
from getx.io.files import open_text
from getx.io.genome import open_genome, read_chrom_sizes
from getx.io.peaks import read_peaks
from getx.motifs.formats import read_gimme_pfm, read_hocomoco, read_jaspar, read_meme
from getx.motifs.hits import aggregate_hit_bed
from getx.prepare import check_region_sequence
from test_genome import write_2bit

PEAKS = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "start": [100, 500, 50],
                      "end": [200, 650, 90]})  # fmt: skip

# reader -> (file name, valid text, how to read it)
TEXT: dict[str, tuple[str, str, Callable[[Path], object]]] = {
    "BED peaks": ("p.bed", "chr1\t100\t200\tp1\t5\nchr1\t500\t650\tp2\t7\nchr2\t50\t90\tp3\t1\n",
                  read_peaks),
    "narrowPeak": ("p.narrowPeak",
                   "chr1\t100\t200\tp1\t5\t.\t2.0\t3.0\t1.0\t40\nchr2\t50\t90\tp2\t1\t.\t2\t3\t1\t5\n",
                   lambda p: read_peaks(p, width=20)),
    "GTF": ("g.gtf",
            '##format: gtf\nchr1\tx\tgene\t101\t900\t.\t+\t.\tgene_id "G1.1"; gene_name "A";\n'
            'chr1\tx\ttranscript\t101\t900\t.\t+\t.\tgene_id "G1.1"; transcript_id "T1";\n'
            'chr2\tx\tgene\t20\t80\t.\t-\t.\tgene_id "G2"; gene_name "B";\n', read_gtf),
    "gene-bounds BED": ("g.bed", "#chr\tstart\tend\tname\tscore\tstrand\tEnsembl_ID\tgene_type\n"
                        "chr1\t100\t900\tA\t0\t+\tG1\tprotein_coding\n"
                        "chr2\t20\t80\tB\t0\t-\tG2\tlncRNA\n", read_gene_bed),
    "TSS table": ("t.tsv", "chrom\ttss\tstrand\tgene_name\nchr1\t100\t+\tA\nchr2\t79\t-\tB\n",
                  read_tss_table),
    "annotation by content": ("genes.txt.gz", "chrom\ttss\tstrand\tgene_name\nchr1\t100\t+\tA\n",
                              load_annotation),
    "bedGraph counts": ("c.bedgraph", "track type=bedGraph\nchr1\t100\t200\t3\nchr1\t500\t650\t4\n"
                        "chr2\t40\t60\t2.5\n", lambda p: counts_from_bed(p, PEAKS)),
    "fragments": ("f.tsv", "# header\nchr1\t100\t150\tAAA-1\t1\nchr1\t520\t600\tCCC-1\t2\n",
                  lambda p: counts_from_fragments(p, {"AAA-1": "b", "CCC-1": "t"}, PEAKS)),
    "gene table CSV": ("e.csv", "gene_name,TPM\nA,1.5\nB,0\nC,2\n", read_gene_table),
    "gene table TSV": ("e.tsv", "gene_id\tvalue\nENSG00000000001.2\t3\nENSG00000000002\t1\n",
                       read_gene_table),
    "count matrix": ("m.csv", "gene,c1,c2\nA,1,0\nB,3,4\n",
                     lambda p: read_pseudobulk(p, {"c1": "x", "c2": "y"}).counts),
    "barcode table": ("b.tsv", "barcode\tcell_type\nc1\tx\nc2\ty\n", read_cell_type_table),
    "chrom sizes": ("s.sizes", "chr1\t1000\nchr2\t500\n", read_chrom_sizes),
    "MEME": ("m.meme", "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF M1 alt\n"
             "letter-probability matrix: alength= 4 w= 2 nsites= 10\n0.7 0.1 0.1 0.1\n"
             "0.1 0.1 0.1 0.7\n", read_meme),
    "JASPAR": ("m.jaspar", ">MA0001.1 AGL3\nA [ 0 3 79 ]\nC [ 94 75 4 ]\nG [ 1 0 3 ]\n"
               "T [ 2 19 11 ]\n", read_jaspar),
    "HOCOMOCO": ("m.pcm", ">M1\n10 2 3 5\n1 1 15 3\n", read_hocomoco),
    "gimme PFM": ("m.pfm", "# c\n>M1\n10\t2\t3\t5\n1\t1\t15\t3\n", read_gimme_pfm),
    "motif hits": ("h.bed", "chr1\t110\t120\tM1\t4.0\t+\tM1\nchr2\t55\t60\tM1\t2.0\t-\tM1\n",
                   lambda p: aggregate_hit_bed(p, PEAKS, ["M1"])),
    "variant table": ("v.tsv", "chrom\tpos\tref\talt\nchr1\t101\tA\tG\n", read_variants),
    "VCF": ("v.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL"
            "\tFILTER\tINFO\nchr1\t101\trs1\tA\tG\t.\t.\t.\n", read_variants),
    "FASTA": ("g.fa", ">chr1\nACGTNACGTA\nCCGG\n>chr2\nTTTT\n",
              lambda p: open_genome(p).fetch("chr1", 0, 14)),
}  # fmt: skip


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def result_of(read: Callable[[Path], object], path: Path):
    value = read(path)
    return value.close() or value.chrom_sizes if hasattr(value, "close") else value


def same(a, b) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
    elif hasattr(a, "names"):  # a MotifSet
        assert a.names == b.names
        for x, y in zip(a.matrices, b.matrices, strict=True):
            np.testing.assert_array_equal(x, y)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("reader", list(TEXT))
def test_text_readers_take_crlf_bom_and_gzip(tmp_path, reader):
    name, text, read = TEXT[reader]
    plain = read(write(tmp_path, name, text))
    crlf = write(tmp_path / "crlf", name, b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    if reader not in ("VCF", "FASTA"):  # htslib and .fai offsets cannot skip a BOM: refused
        same(plain, read(crlf))
    else:
        with pytest.raises(InputError, match="byte-order mark"):
            read(crlf)
        same(plain, read(write(tmp_path / "crlf", name, text.replace("\n", "\r\n"))))
    if reader not in ("FASTA", "VCF"):  # plain gzip: the genome asks for bgzip; VCF: below
        same(plain, read(write(tmp_path / "gz", name + ".gz", text)))


def _binary(path: Path) -> Path:
    path.write_bytes(random.Random(1).randbytes(2000))
    return path


def _truncated(path: Path) -> Path:
    data = gzip.compress(path.read_bytes() * 50)
    target = path.with_name(path.name + ".gz")
    target.write_bytes(data[: len(data) * 2 // 3])
    return target


def _corrupt_gzip(path: Path) -> Path:
    data = bytearray(gzip.compress(path.read_bytes() * 50))
    data[len(data) // 2] ^= 0xFF
    target = path.with_name(path.name + ".gz")
    target.write_bytes(bytes(data))
    return target


def _latin1(path: Path) -> Path:
    gzipped = path.name.endswith(".gz")
    data = gzip.decompress(path.read_bytes()) if gzipped else path.read_bytes()
    lines = data.splitlines(keepends=True)
    lines[-1] = b"\xe9" + lines[-1]
    data = b"".join(lines)
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


def _folder(path: Path) -> Path:
    path.unlink()
    path.mkdir()
    return path


def _xlsx(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04" + random.Random(2).randbytes(200))
    return path


DAMAGE = {
    "binary": (_binary, ""),
    "truncated gzip": (_truncated, "gzip data ends early"),
    "corrupt gzip": (_corrupt_gzip, "gzip data is corrupt"),
    "not UTF-8": (_latin1, "not UTF-8 text"),
    "a folder": (_folder, "is a folder"),
    "a zip archive": (_xlsx, "is a zip archive"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("reader", list(TEXT))
def test_damaged_text_input_is_an_input_error(tmp_path, reader, damage):
    name, text, read = TEXT[reader]
    make, message = DAMAGE[damage]
    path = make(write(tmp_path, name, text))
    with pytest.raises(InputError) as error:
        read(path)
    assert path.name in str(error.value)
    if (reader, damage) == ("count matrix", "a folder"):
        message = "10x MTX directory lacks matrix.mtx"  # a folder is a 10x matrix there
    if reader != "FASTA" or damage in ("a folder", "not UTF-8"):
        assert message in str(error.value)


@pytest.mark.parametrize("reader", list(TEXT))
def test_empty_input_is_an_input_error_or_nothing(tmp_path, reader):
    name, _, read = TEXT[reader]
    for content in ("", "\n\n", "# only a comment\n"):
        path = write(tmp_path, name, content)
        try:
            value = result_of(read, path)
        except InputError as error:
            assert path.name in str(error)
        else:  # readers of optional tables give an empty result; prepare refuses it
            assert len(value) == 0, (reader, content, value)


def test_truncated_gzip_names_the_last_whole_line(tmp_path):
    lines = "".join(f"chr1\t{i * 10}\t{i * 10 + 5}\n" for i in range(20000))
    data = gzip.compress(lines.encode())
    path = tmp_path / "p.bed.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"p\.bed\.gz: gzip data ends early after line \d+"):
        read_peaks(path)
    with open_text(tmp_path / "p.bed.gz") as handle, pytest.raises(InputError):
        handle.read()


# --- binary formats: AnnData, 10x, motif matrices, feather, 2bit ---------------------------


def _h5ad(path: Path) -> None:
    import anndata

    obs = pd.DataFrame({"cell_type": ["x", "y"]}, index=["c1", "c2"])
    adata = anndata.AnnData(X=np.array([[1.0, 2.0], [3.0, 4.0]]), obs=obs)
    adata.var_names = ["chr1:100-200", "chr1:500-650"]
    adata.write_h5ad(path)


def _tenx_h5(path: Path) -> None:
    import h5py

    with h5py.File(path, "w") as h5:
        m = h5.create_group("matrix")
        m["data"], m["indices"], m["indptr"] = [1, 2], [0, 1], [0, 1, 2]
        m["shape"] = np.array([2, 2])
        m["barcodes"] = np.array(["c1", "c2"], dtype="S")
        f = m.create_group("features")
        f["id"], f["name"] = np.array(["G1", "G2"], dtype="S"), np.array(["A", "B"], dtype="S")


def _mtx(folder: Path) -> None:
    folder.mkdir()
    (folder / "matrix.mtx").write_text(
        "%%MatrixMarket matrix coordinate integer general\n2 2 2\n1 1 3\n2 2 4\n"
    )
    (folder / "features.tsv").write_text("G1\tA\tGene Expression\nG2\tB\tGene Expression\n")
    (folder / "barcodes.tsv").write_text("c1\nc2\n")


def _nrmotif(folder: Path) -> None:
    folder.mkdir()
    meta = {"matrix_names": ["m1"], "cluster_names": ["C1"], "motif_to_cluster": {"m1": "C1"},
            "background": {"A": 0.3, "C": 0.2, "G": 0.2, "T": 0.3}}  # fmt: skip
    (folder / "nrmotif_v1.json").write_text(json.dumps(meta))
    np.savez_compressed(folder / "nrmotif_v1.matrices.npz", m1=np.ones((4, 5)))


def _feather(path: Path) -> None:
    pd.DataFrame({"Chromosome": ["chr1"], "Start": [100], "End": [100], "Strand": ["+"],
                  "gene_name": ["A"]}).to_feather(path)  # fmt: skip


def _twobit(path: Path) -> None:
    write_2bit(path, {"chr1": "ACGTNNNNACGT" * 50})


def _read_2bit(path: Path):
    with open_genome(path) as genome:
        return genome.fetch("chr1", 0, 600)


def _motif_dir(path: Path):
    from getx.motifs.databases import load_motifs

    return load_motifs(path)


# reader -> (path name, writer of a valid file, reader, file damaged inside a folder)
BINARY = {
    "ATAC h5ad": ("a.h5ad", _h5ad, lambda p: counts_from_h5ad(p, "cell_type", PEAKS), None),
    "RNA h5ad": ("r.h5ad", _h5ad, lambda p: read_pseudobulk(p, cell_type_column="cell_type"),
                 None),
    "10x h5": ("m.h5", _tenx_h5, lambda p: read_pseudobulk(p, name="all"), None),
    "10x MTX matrix": ("mtx", _mtx, lambda p: read_pseudobulk(p, name="all"), "matrix.mtx"),
    "10x MTX features": ("mtx", _mtx, lambda p: read_pseudobulk(p, name="all"), "features.tsv"),
    "10x MTX barcodes": ("mtx", _mtx, lambda p: read_pseudobulk(p, name="all"), "barcodes.tsv"),
    "motif JSON": ("v1", _nrmotif, _motif_dir, "nrmotif_v1.json"),
    "motif matrices": ("v1", _nrmotif, _motif_dir, "nrmotif_v1.matrices.npz"),
    "TSS feather": ("t.feather", _feather, read_tss_table, None),
    "2bit": ("g.2bit", _twobit, _read_2bit, None),
}  # fmt: skip


@pytest.mark.parametrize("damage", ["random bytes", "truncated", "empty"])
@pytest.mark.parametrize("reader", list(BINARY))
def test_damaged_binary_input_is_an_input_error(tmp_path, reader, damage):
    name, make, read, inner = BINARY[reader]
    path = tmp_path / name
    make(path)
    read(path)  # valid as written
    target = path / inner if inner else path
    data = target.read_bytes()
    if damage == "random bytes":
        keep = 4 if reader == "2bit" else 0  # a 2bit signature, then garbage
        target.write_bytes(data[:keep] + random.Random(3).randbytes(len(data)))
    else:
        target.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    with pytest.raises(InputError) as error:
        read(path)
    assert target.name in str(error.value) or path.name in str(error.value)


def test_atac_h5ad_peak_names_are_harmonised(tmp_path, caplog):
    path = tmp_path / "a.h5ad"
    _h5ad(path)
    expected = counts_from_h5ad(path, "cell_type", PEAKS)
    import anndata

    adata = anndata.read_h5ad(path)
    adata.var_names = [name.removeprefix("chr") for name in adata.var_names]
    adata.write_h5ad(path)
    caplog.set_level(logging.INFO)
    pd.testing.assert_frame_equal(counts_from_h5ad(path, "cell_type", PEAKS), expected)
    assert "a.h5ad: chromosome names harmonised to the peaks' spelling: 1->chr1" in caplog.text
    assert expected.to_numpy().sum() == 10


# --- the genome ------------------------------------------------------------------------------

SEQ = {"chr1": "ACGTTGCA" * 40 + "ACG", "chr2": "TTGGCCAA" * 20, "chr3": "GATTACA" * 9}


def fasta(path: Path, width: int = 60, records: dict[str, str] = SEQ, eol: str = "\n") -> Path:
    text = "".join(
        f">{name} some description{eol}"
        + "".join(seq[i : i + width] + eol for i in range(0, len(seq), width))
        for name, seq in records.items()
    )
    path.write_text(text, newline="")
    return path


def index_beside(path: Path) -> None:
    """A .fai for ``path`` as it is now (built by pyfaidx, like samtools faidx)."""
    import pyfaidx

    pyfaidx.Faidx(str(path)).close()


def stale(path: Path, change: Callable[[Path], None]) -> None:
    """Index ``path``, then change it, keeping the index newer than the change."""
    index_beside(path)
    fai = Path(str(path) + ".fai")
    saved = fai.read_bytes()
    change(path)
    fai.write_bytes(saved)  # written after the FASTA: its time does not give it away


STALE = {
    "re-wrapped narrower": lambda p: fasta(p, width=50),
    "re-wrapped wider": lambda p: fasta(p, width=70),
    "CRLF line endings": lambda p: fasta(p, eol="\r\n"),
    "a base inserted": lambda p: fasta(p, records={**SEQ, "chr1": "A" + SEQ["chr1"]}),
    "last record shorter": lambda p: fasta(p, records={**SEQ, "chr3": SEQ["chr3"][:-5]}),
    "a record appended": lambda p: fasta(p, records={**SEQ, "chr4": "ACGT" * 30}),
    "records reordered": lambda p: fasta(p, records=dict(reversed(SEQ.items()))),
    "a record renamed": lambda p: fasta(
        p, records={("chrX" if k == "chr2" else k): v for k, v in SEQ.items()}
    ),
}


@pytest.mark.parametrize("case", list(STALE))
def test_stale_fai_is_replaced_and_named(tmp_path, caplog, case):
    path = fasta(tmp_path / "g.fa")
    stale(path, STALE[case])
    caplog.set_level(logging.WARNING)
    with open_genome(path) as genome:
        for name in genome.chrom_sizes:
            assert genome.fetch(name, 0, genome.chrom_sizes[name]) == _records(path)[name]
    assert f"{path}.fai does not match {path} (" in caplog.text
    assert Path(str(path) + ".fai").read_bytes(), "the user's index was left as it was"


def _records(path: Path) -> dict[str, str]:
    text = path.read_text().replace("\r", "")
    return {
        block.split("\n", 1)[0].split()[0]: block.split("\n", 1)[1].replace("\n", "")
        for block in text.split(">")[1:]
    }


def test_fai_older_than_the_fasta_is_replaced(tmp_path, caplog):
    path = fasta(tmp_path / "g.fa")
    index_beside(path)
    past = time.time() - 100
    os.utime(Path(str(path) + ".fai"), (past, past))
    caplog.set_level(logging.WARNING)
    with open_genome(path) as genome:
        assert genome.fetch("chr2", 0, 8) == "TTGGCCAA"
    assert "g.fa.fai does not match" in caplog.text and "older than the FASTA" in caplog.text


def test_matching_fai_is_used_silently(tmp_path, caplog):
    path = fasta(tmp_path / "g.fa")
    index_beside(path)
    caplog.set_level(logging.INFO)
    with open_genome(path) as genome:
        assert genome._index == f"{path}.fai"
        assert genome.fetch("chr3", 7, 14) == "GATTACA"
    assert not caplog.text


def test_stale_gzi_beside_a_recompressed_fasta(tmp_path, caplog):
    from Bio import bgzf

    plain = fasta(tmp_path / "plain.fa", width=60)
    path = tmp_path / "g.fa.gz"
    records = {"chr1": "ACGT" * 30000, "chr2": "GGCA" * 20000}
    for width in (60, 80):  # the second compression leaves the first's .fai/.gzi behind
        fasta(plain, width=width, records=records)
        with bgzf.BgzfWriter(str(path), "wb") as handle:
            handle.write(plain.read_bytes())
        if width == 60:
            index_beside(path)
            saved = {s: Path(f"{path}{s}").read_bytes() for s in (".fai", ".gzi")}
    for suffix, data in saved.items():
        Path(f"{path}{suffix}").write_bytes(data)
    caplog.set_level(logging.WARNING)
    with open_genome(path) as genome:
        assert genome.fetch("chr2", 40000, 40008) == "GGCAGGCA"
    assert f"{path}.fai and {path}.gzi do not match {path}" in caplog.text


@pytest.mark.parametrize("char", ["7", "*", "-", ".", " ", "\t", "@"])
def test_non_iupac_base_is_named_with_record_and_position(tmp_path, char):
    records = {**SEQ, "chr2": SEQ["chr2"][:97] + char + SEQ["chr2"][98:]}
    path = fasta(tmp_path / "g.fa", records=records)
    with open_genome(path) as genome:
        assert genome.fetch("chr2", 0, 97) == SEQ["chr2"][:97]  # only fetched bases count
        with pytest.raises(InputError) as error:
            genome.fetch("chr2", 90, 100)
    assert str(error.value) == (
        f"{path}: sequence chr2, position 98: {char!r} is not a nucleotide (IUPAC) code"
    )


def test_iupac_ambiguity_codes_and_lower_case_are_sequence(tmp_path):
    path = fasta(tmp_path / "g.fa", records={"chr1": "acgtRYSWKMBDHVNUacgt"})
    with open_genome(path) as genome:
        assert genome.fetch("chr1", 0, 20) == "ACGTRYSWKMBDHVNUACGT"


def test_headers_only_fasta_is_refused(tmp_path):
    path = tmp_path / "g.fa"
    path.write_text(">chr1\n>chr2\n")
    with pytest.raises(InputError, match="holds no sequence"):
        open_genome(path)


@pytest.mark.parametrize("kind", ["fasta", "2bit"])
def test_n_fraction_is_logged_and_all_n_refused(tmp_path, caplog, kind):
    records = {"chr1": "ACGT" * 50 + "N" * 400, "chr2": "N" * 300}
    path = tmp_path / ("g.fa" if kind == "fasta" else "g.2bit")
    if kind == "fasta":
        fasta(path, records=records)
    else:
        write_2bit(path, records)
    regions = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "start": [0, 200, 0],
                            "end": [200, 600, 300]})  # fmt: skip
    caplog.set_level(logging.INFO)
    with open_genome(path) as genome:
        check_region_sequence(genome, regions.iloc[:1])  # no N: no warning
        assert "WARNING" not in caplog.text and "0.00% of the regions' 200 bp are N" in caplog.text
        check_region_sequence(genome, regions)
        assert "77.8% of the regions' bases are N (700 of 900 bp; 2 of 3 regions entirely N)" in (
            caplog.text
        )
        with pytest.raises(InputError, match=r"the sequence of all 2 regions is N"):
            check_region_sequence(genome, regions.iloc[1:])


def test_truncated_2bit_is_named(tmp_path):
    path = tmp_path / "g.2bit"
    write_2bit(path, {"chr1": "ACGT" * 1000, "chr2": "GGCC" * 1000})
    path.write_bytes(path.read_bytes()[:1200])
    with pytest.raises(InputError, match=r"g\.2bit"), open_genome(path) as genome:
        genome.fetch("chr2", 0, 4000)


def test_sequence_index_offsets_survive_a_long_header(tmp_path):
    """A header longer than the 4 kB the layout check reads back still gives a valid index."""
    path = tmp_path / "g.fa"
    path.write_text(">chr1 " + "x" * 6000 + "\nACGTACGTAC\nGT\n")
    index_beside(path)
    with open_genome(path) as genome:
        assert genome._index == f"{path}.fai"
        assert genome.fetch("chr1", 8, 12) == "ACGT"


# --- property tests: random and mutated text --------------------------------------------------


def _mutations(text: str) -> st.SearchStrategy[bytes]:
    """``text`` changed: bytes flipped, lines truncated or dropped, columns dropped or swapped,
    random text inserted, or random text and bytes alone."""
    lines = text.splitlines(keepends=True)

    def flip(data: tuple[int, int]) -> bytes:
        raw = bytearray(text.encode())
        raw[data[0] % len(raw)] ^= data[1] or 1
        return bytes(raw)

    def truncate(k: tuple[int, int]) -> bytes:
        i = k[0] % len(lines)
        return "".join([*lines[:i], lines[i][: k[1] % max(len(lines[i]), 1)]]).encode()

    def columns(k: tuple[int, int, bool]) -> bytes:
        out = []
        for line in lines:
            sep = "\t" if "\t" in line else ","
            fields = line.rstrip("\n").split(sep)
            i, j = k[0] % len(fields), k[1] % len(fields)
            if k[2]:
                fields[i], fields[j] = fields[j], fields[i]
            else:
                del fields[i]
            out.append(sep.join(fields) + "\n")
        return "".join(out).encode()

    def insert(k: tuple[int, str]) -> bytes:
        i = k[0] % (len(lines) + 1)
        return "".join([*lines[:i], k[1], *lines[i:]]).encode()

    printable = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
    return st.one_of(
        st.tuples(st.integers(0, 10_000), st.integers(0, 255)).map(flip),
        st.tuples(st.integers(0, 100), st.integers(0, 100)).map(truncate),
        st.tuples(st.integers(0, 20), st.integers(0, 20), st.booleans()).map(columns),
        st.tuples(st.integers(0, 100), printable).map(insert),
        st.lists(st.integers(0, 50), max_size=8).map(
            lambda drop: "".join(x for i, x in enumerate(lines) if i not in drop).encode()
        ),
        printable.map(str.encode),
        st.binary(max_size=200),
    )


PROPERTY_READERS = {
    "BED": ("BED peaks", lambda df: bool((df["start"] < df["end"]).all())),
    "narrowPeak": ("narrowPeak", lambda df: bool((df["start"] >= 0).all())),
    "GTF": ("GTF", lambda df: set(df["strand"]) <= {"+", "-"}),
    "CSV table": ("gene table CSV", lambda s: bool(np.isfinite(s.to_numpy()).all())),
    "TSV table": ("gene table TSV", lambda s: bool((s.to_numpy() >= 0).all())),
    "count matrix": ("count matrix", lambda df: bool((df.to_numpy() >= 0).all())),
    "bedGraph": ("bedGraph counts", lambda a: len(a) == len(PEAKS)),
    "MEME": ("MEME", lambda m: all(np.isfinite(x).all() for x in m.matrices)),
}


@pytest.mark.parametrize("kind", list(PROPERTY_READERS))
def test_readers_on_random_and_mutated_input(tmp_path_factory, kind):
    """A valid result (checked) or an InputError; never another exception."""
    reader, valid = PROPERTY_READERS[kind]
    name, text, read = TEXT[reader]
    folder = tmp_path_factory.mktemp("prop")

    @settings(
        max_examples=int(os.environ.get("GETX_PROPERTY_EXAMPLES", 60)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(data=_mutations(text))
    @example(data=b"\t")
    @example(data=b" \n\t\n,\n")
    @example(data=text.replace("\n", "\t\n").encode())
    @example(data=text.replace("\t", "\t\t").encode())
    def check(data: bytes) -> None:
        path = folder / name
        path.write_bytes(data)
        try:
            value = read(path)
        except InputError as error:
            assert str(path) in str(error) or name in str(error)
            return
        assert valid(value), value

    check()
