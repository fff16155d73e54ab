"""`getx prepare` on bad and odd input (issue #14, the input half), through the CLI.

Each case changes one thing in a valid tiny simulated dataset. A bad input ends with exit code 2
and one line naming the file or value at fault, no traceback, nothing at ``--out`` (nor any
temporary file), and the user's files byte for byte as they were. Odd but valid input (CRLF line
endings, a byte-order mark, gzip, ``1`` for ``chr1``, a stale ``.fai``) gives the same store as
the plain input.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

# Imported before any CliRunner call (see test_cli.py): Lightning's log handler keeps the stderr
# it was imported under.
import lightning  # noqa: F401
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from getx.cli import app
from getx.store import open_store

CELL_TYPES = ("ct1", "ct2", "ct3")
MEME = """MEME version 4

ALPHABET= ACGT

Background letter frequencies
A 0.3 C 0.2 G 0.2 T 0.3

MOTIF GATA1 GATA
letter-probability matrix: alength= 4 w= 6 nsites= 20 E= 0
0.1 0.1 0.7 0.1
0.8 0.05 0.05 0.1
0.05 0.05 0.05 0.85
0.85 0.05 0.05 0.05
0.2 0.2 0.5 0.1
0.3 0.2 0.3 0.2

MOTIF CTCF CTCF
letter-probability matrix: alength= 4 w= 8 nsites= 20 E= 0
0.1 0.7 0.1 0.1
0.1 0.7 0.1 0.1
0.1 0.1 0.7 0.1
0.7 0.1 0.1 0.1
0.1 0.1 0.7 0.1
0.1 0.1 0.7 0.1
0.1 0.7 0.1 0.1
0.1 0.1 0.1 0.7
"""
CELLS = {"c1": "ct1", "c2": "ct1", "c3": "ct2", "c4": "ct2"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    """`getx simulate --preset tiny`, plus the extra inputs the other readers take: a MEME file,
    chrom sizes, a motif-hit BED, a genes x cells count matrix with its barcode table and a
    fragments file (cells c1, c2 are ct1; c3, c4 are ct2)."""
    folder = tmp_path_factory.mktemp("inputs") / "sim"
    result = CliRunner().invoke(app, ["simulate", "--out", str(folder), "--preset", "tiny"])
    assert result.exit_code == 0, result.output
    shutil.rmtree(folder / "truth")
    (folder / "manifest.json").unlink()
    (folder / "motifs.meme").write_text(MEME)
    fai = pd.read_csv(folder / "genome.fa.fai", sep="\t", header=None)
    fai[[0, 1]].to_csv(folder / "genome.sizes", sep="\t", header=False, index=False)
    peaks = pd.read_csv(folder / "peaks.ct1.bed", sep="\t", header=None)
    hits = [
        f"{c}\t{s + 10}\t{s + 16}\tGATA1.GATA\t4.5\t+\tGATA1\n"
        for c, s in zip(peaks[0], peaks[1], strict=True)
    ]
    (folder / "hits.bed").write_text("".join(hits))
    rna = {ct: pd.read_csv(folder / f"rna.{ct}.csv") for ct in ("ct1", "ct2")}
    counts = pd.DataFrame(
        {cell: np.round(10 ** rna[ct]["TPM"].to_numpy()).astype(int) for cell, ct in CELLS.items()}
    )
    counts.insert(0, "gene", rna["ct1"]["gene_name"])
    counts.to_csv(folder / "counts.csv", index=False)
    (folder / "barcodes.tsv").write_text("".join(f"{c}\t{t}\n" for c, t in CELLS.items()))
    frags = []
    for cell, ct in CELLS.items():
        table = pd.read_csv(folder / f"peaks.{ct}.bed", sep="\t", header=None)
        frags += [
            f"{c}\t{s}\t{e}\t{cell}\t1\n"
            for c, s, e in zip(table[0], table[1], table[2], strict=True)
        ]
    (folder / "fragments.tsv").write_text("".join(sorted(frags)))
    return folder


def options(folder: Path, kind: str = "files") -> dict[str, list[str]]:
    """The ``getx prepare`` options for the inputs in ``folder``: ``files`` (per cell type BED
    and RNA table), ``sizes`` (chrom sizes, no motifs), ``hits`` (chrom sizes and a motif-hit
    BED), ``counts`` (RNA count matrix + barcodes) or ``fragments`` (fragments + counts)."""
    opts = {
        "--peaks": [folder / "peaks.bed"],
        "--genome": [folder / "genome.fa"],
        "--annotation": [folder / "genes.gtf"],
        "--motifs": [folder / "motifs.meme"],
        "--accessibility": [f"{ct}={folder / f'peaks.{ct}.bed'}" for ct in CELL_TYPES],
        "--expression": [f"{ct}={folder / f'rna.{ct}.csv'}" for ct in CELL_TYPES],
    }
    if kind in ("sizes", "hits"):
        del opts["--genome"]
        opts["--chrom-sizes"] = [folder / "genome.sizes"]
        opts["--motifs"] = ["none"] if kind == "sizes" else opts["--motifs"]
        if kind == "hits":
            opts["--motif-hits"] = [folder / "hits.bed"]
    if kind in ("counts", "fragments"):
        del opts["--expression"]
        opts["--motifs"] = ["none"]
        opts["--rna-counts"] = [folder / "counts.csv"]
        opts["--barcodes"] = [folder / "barcodes.tsv"]
        opts["--accessibility"] = opts["--accessibility"][:2]
        if kind == "fragments":
            del opts["--accessibility"]
            opts["--fragments"] = [folder / "fragments.tsv"]
    return {k: [str(v) for v in vs] for k, vs in opts.items()}


def command(out: Path, opts: dict[str, list[str]]) -> list[str]:
    args = ["prepare", "--out", str(out)]
    for name, values in opts.items():
        for value in values:
            args += [name, value]
    return args


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch, caplog) -> Path:
    """Temporary files (a rebuilt .fai) go under ``tmp_path/tmp``, which must end empty; the
    log, whatever the case, never shows a numpy repr or a repeated prefix."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    caplog.set_level("INFO")
    yield folder
    assert not list(folder.iterdir()), "temporary files left behind"
    assert "np.str_" not in caplog.text and "cell type cell type" not in caplog.text


def run(args: list[str]):
    result = CliRunner().invoke(app, args)
    assert "np.str_" not in result.output and "cell type cell type" not in result.output
    return result


def logged(caplog) -> str:
    """The log's messages, with the test's folders left out of the paths."""
    return re.sub(r"\S*/(in|sim|in\w*)/", "", caplog.text)


def refused(tmp_path: Path, inputs: Path, opts: dict[str, list[str]]) -> str:
    """Run prepare on inputs that must be refused; check the refusal; return the error line."""
    out = tmp_path / "out" / "store.zarr"
    out.parent.mkdir()
    before = digests(inputs)
    result = run(command(out, opts))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    assert not any((tmp_path / "out").iterdir()), "something was written at --out"
    assert digests(inputs) == before, "an input file changed"
    return errors[0]


def copy_inputs(sim: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    shutil.copytree(sim, folder)
    return folder


def edit(path: Path, change: Callable[[str], str]) -> Path:
    path.write_text(change(path.read_text()))
    return path


def fasta_offset(folder: Path, chrom: str, position: int) -> int:
    """Byte offset of 0-based ``position`` of ``chrom`` in the simulated genome.fa."""
    fai = pd.read_csv(folder / "genome.fa.fai", sep="\t", header=None, index_col=0)
    _, offset, bases, width = fai.loc[chrom]
    return int(offset + (position // bases) * width + position % bases)


def put_byte(path: Path, offset: int, byte: bytes) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + 1] = byte
    path.write_bytes(bytes(data))


def first_peak(folder: Path, chrom: str) -> tuple[int, int]:
    peaks = pd.read_csv(folder / "peaks.bed", sep="\t", header=None)
    row = peaks[peaks[0] == chrom].iloc[0]
    return int(row[1]), int(row[2])


# --------------------------------------------------------------------------------------------
# Class 2: nothing silently wrong. Each case: (mutate the inputs, option kind) -> the error
# must contain every expected piece.


def _bad_base(byte: bytes, chrom: str):
    def mutate(folder, opts):
        start, _ = first_peak(folder, chrom)
        put_byte(folder / "genome.fa", fasta_offset(folder, chrom, start + 50), byte)
        return [f"sequence {chrom}, position {start + 51}: {byte.decode()!r} is not a nucleotide"]

    return mutate


def _all_n(folder, opts):
    edit(folder / "genome.fa", lambda t: "".join(
        line if line.startswith(">") else "N" * (len(line) - 1) + "\n"
        for line in t.splitlines(keepends=True)
    ))  # fmt: skip
    return ["genome.fa", "the sequence of all 600 regions is N"]


def _gtf_chroms(folder, opts):
    edit(folder / "genes.gtf", lambda t: t.replace("chr1\t", "NC_000001.11\t").replace(
        "chr2\t", "NC_000002.12\t"))  # fmt: skip
    return ["genes.gtf", "0 of 60 genes of genes.gtf lie on the peaks' chromosomes (chr1, chr2)",
            "NC_000001.11", "other chromosome names"]  # fmt: skip


def _gtf_build(folder, opts):
    def shift(text: str) -> str:
        rows = []
        for line in text.splitlines(keepends=True):
            f = line.split("\t")
            if len(f) == 9:
                f[3], f[4] = str(int(f[3]) + 3_000_000), str(int(f[4]) + 3_000_000)
            rows.append("\t".join(f))
        return "".join(rows)

    edit(folder / "genes.gtf", shift)
    return ["genes.gtf", "no gene of genes.gtf has a TSS inside the span of the 600 peaks",
            "another genome build?"]  # fmt: skip


def _rna_ids(folder, opts):
    edit(folder / "rna.ct2.csv", lambda t: t.replace("SG0", "ENSG0"))
    return ["rna.ct2.csv", "cell type 'ct2'", "0 of 60 measured genes match a gene of the "
            "annotation", "ENSG00001", "other gene ids"]  # fmt: skip


def _rna_value(value: str, message: str):
    def mutate(folder, opts):
        lines = (folder / "rna.ct1.csv").read_text().splitlines(keepends=True)
        gene = lines[4].split(",")[0]
        lines[4] = f"{gene},{value}\n"
        (folder / "rna.ct1.csv").write_text("".join(lines))
        return ["rna.ct1.csv, line 5", message.format(gene=gene, value=value)]

    return mutate


def _acc_chroms(folder, opts):
    edit(folder / "peaks.ct3.bed", lambda t: t.replace("chr", "scaffold_"))
    return ["peaks.ct3.bed", "none of the 599 intervals lies on the peaks' chromosomes "
            "(chr1, chr2); this file has scaffold_1, scaffold_2"]  # fmt: skip


def _acc_zero(folder, opts):
    edit(folder / "peaks.ct2.bed", lambda t: "".join(
        line.rsplit("\t", 1)[0] + "\t0\n" for line in t.splitlines()))  # fmt: skip
    return ["Error: " + str(folder / "peaks.ct2.bed") +
            ": cell type 'ct2': total count over the peaks is zero"]  # fmt: skip


def _pair(option: str, value: str, expected: str):
    def mutate(folder, opts):
        opts[option].append(value.format(folder=folder))
        return [expected]

    return mutate


def _twice_across(folder, opts):
    opts["--expression"] = [f"ct1={folder / 'rna.ct1.csv'}"]
    return ["expression for cell type 'ct1' is given twice", "rna.ct1.csv", "counts.csv"]


def _h5ad_slash(folder, opts):
    edit(folder / "barcodes.tsv", lambda t: t.replace("ct2", "T/NK"))
    return ["cell type name 'T/NK'", "barcodes.tsv", "contains '/'"]


SILENTLY_WRONG = {
    "digit in the genome": (_bad_base(b"7", "chr1"), "files"),
    "punctuation in the genome": (_bad_base(b"*", "chr2"), "files"),
    "space in the genome": (_bad_base(b" ", "chr2"), "files"),
    "all-N genome": (_all_n, "files"),
    "annotation with other chromosome names": (_gtf_chroms, "files"),
    "annotation of another build": (_gtf_build, "files"),
    "expression with other gene ids": (_rna_ids, "files"),
    "negative expression": (_rna_value("-0.5", "TPM -0.5 of gene {gene} is negative"), "files"),
    "NaN expression": (_rna_value("nan", "TPM 'nan' is not a finite number"), "files"),
    "NA expression": (_rna_value("NA", "TPM 'NA' is not a finite number"), "files"),
    "infinite expression": (_rna_value("inf", "TPM 'inf' is not a finite number"), "files"),
    "accessibility on other chromosomes": (_acc_chroms, "files"),
    "accessibility all zero": (_acc_zero, "files"),
    "cell type twice": (
        _pair(
            "--accessibility",
            "ct1={folder}/peaks.ct2.bed",
            "--accessibility: cell type 'ct1' is given twice",
        ),
        "files",
    ),
    "cell type twice in expression": (
        _pair("--expression", "ct3={folder}/rna.ct1.csv", "cell type 'ct3' is given twice"),
        "files",
    ),
    "blank cell type": (
        _pair(
            "--accessibility",
            " ={folder}/peaks.ct1.bed",
            "cell type name ' ' (--accessibility) is blank",
        ),
        "files",
    ),
    "empty cell type": (
        _pair("--expression", "={folder}/rna.ct1.csv", "cell type name '' (--expression) is blank"),
        "files",
    ),
    "cell type with a slash": (
        _pair(
            "--accessibility",
            "a/b={folder}/peaks.ct1.bed",
            "cell type name 'a/b' (--accessibility) contains '/'",
        ),
        "files",
    ),
    "cell type with a newline": (
        _pair(
            "--accessibility",
            "ct\n4={folder}/peaks.ct1.bed",
            "cell type name 'ct\\n4' (--accessibility) contains a control character",
        ),
        "files",
    ),
    "cell type with spaces around": (
        _pair(
            "--expression",
            " ct1={folder}/rna.ct1.csv",
            "cell type name ' ct1' (--expression) has leading",
        ),
        "files",
    ),
    "hidden cell type": (
        _pair(
            "--accessibility",
            ".ct={folder}/peaks.ct1.bed",
            "cell type name '.ct' (--accessibility) starts with '.'",
        ),
        "files",
    ),
    "no path for a cell type": (
        _pair("--accessibility", "ct4=", "--accessibility: expected CELLTYPE=PATH, got 'ct4='"),
        "files",
    ),
    "cell type twice across inputs": (_twice_across, "counts"),
    "cell type with a slash in a barcode table": (_h5ad_slash, "counts"),
}


@pytest.mark.parametrize("case", list(SILENTLY_WRONG), ids=list(SILENTLY_WRONG))
def test_silently_wrong_input_is_refused(sim, tmp_path, case):
    mutate, kind = SILENTLY_WRONG[case]
    inputs = copy_inputs(sim, tmp_path)
    opts = options(inputs, kind)
    expected = mutate(inputs, opts)
    line = refused(tmp_path, inputs, opts)
    for piece in expected:
        assert piece in line, line


# --------------------------------------------------------------------------------------------
# Class 3: no tracebacks. Every input of every reader, damaged five ways.

# input -> (file, option kind, what a file holding only a header or comments looks like)
READERS = {
    "peaks": ("peaks.bed", "files", "chrom\tstart\tend\n"),
    "annotation": ("genes.gtf", "files", "##description: nothing\n##format: gtf\n"),
    "accessibility": ("peaks.ct2.bed", "files", "track type=bedGraph\n"),
    "expression": ("rna.ct3.csv", "files", "gene_name,TPM\n"),
    "genome": ("genome.fa", "files", ">chr1\n>chr2\n"),
    "motifs": ("motifs.meme", "files", "MEME version 4\n\nALPHABET= ACGT\n"),
    "chrom sizes": ("genome.sizes", "sizes", "chrom\tsize\n"),
    "motif hits": ("hits.bed", "hits", "#chrom\tstart\tend\tarchetype\tscore\n"),
    "count matrix": ("counts.csv", "counts", "gene,c1,c2,c3,c4\n"),
    "barcodes": ("barcodes.tsv", "counts", "barcode\tcell_type\n"),
    "fragments": ("fragments.tsv", "fragments", "# fragments\n"),
}


def _truncated_gzip(path: Path) -> Path:
    data = gzip.compress(path.read_bytes())
    target = path.with_name(path.name + ".gz")
    target.write_bytes(data[: len(data) // 2])
    return target


def _binary(path: Path) -> Path:
    path.write_bytes(random.Random(0).randbytes(3000))
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _latin1(path: Path) -> Path:
    """A Latin-1 'é' opening line 4 (or the last line of a shorter file)."""
    lines = path.read_bytes().splitlines(keepends=True)
    k = min(3, len(lines) - 1)
    lines[k] = "\u00e9".encode("latin-1") + lines[k]
    path.write_bytes(b"".join(lines))
    return path


DAMAGE = {
    "truncated gzip": _truncated_gzip,
    "binary": _binary,
    "empty": _empty,
    "header only": None,  # READERS' header text
    "not UTF-8": _latin1,
}


def _retarget(opts: dict[str, list[str]], old: Path, new: Path) -> None:
    for values in opts.values():
        values[:] = [v.replace(str(old), str(new)) for v in values]


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("reader", list(READERS))
def test_damaged_input_is_one_line(sim, tmp_path, reader, damage):
    name, kind, header = READERS[reader]
    inputs = copy_inputs(sim, tmp_path)
    opts = options(inputs, kind)
    path = inputs / name
    if damage == "header only":
        path.write_text(header)
        target = path
    else:
        target = DAMAGE[damage](path)
    _retarget(opts, path, target)
    line = refused(tmp_path, inputs, opts)
    assert target.name in line, line
    if damage == "not UTF-8":
        n_lines = len((sim / name).read_bytes().splitlines())
        assert f"{target.name}, line {min(4, n_lines)}: not UTF-8 text" in line
    if damage == "truncated gzip" and reader != "genome":
        assert "gzip data ends early" in line


# --------------------------------------------------------------------------------------------
# Odd but valid: the same store as from the plain files.


@pytest.fixture(scope="module")
def baseline(sim, tmp_path_factory):
    out = tmp_path_factory.mktemp("baseline") / "store.zarr"
    result = CliRunner().invoke(app, command(out, options(sim)))
    assert result.exit_code == 0, result.output
    return open_store(out)


def assert_same_store(path: Path, baseline) -> None:
    store = open_store(path)
    pd.testing.assert_frame_equal(store.regions, baseline.regions)
    pd.testing.assert_frame_equal(store.genes, baseline.genes)
    np.testing.assert_array_equal(store.read_features(), baseline.read_features())
    assert store.cell_types == baseline.cell_types
    for ct in store.cell_types:
        mine, theirs = store.cell_type(ct), baseline.cell_type(ct)
        np.testing.assert_array_equal(mine.accessibility_raw, theirs.accessibility_raw)
        np.testing.assert_array_equal(mine.expression, theirs.expression)
        np.testing.assert_array_equal(mine.gene_expression, theirs.gene_expression)


def _crlf_bom(folder: Path) -> None:
    for path in folder.iterdir():
        if path.suffix in (".bed", ".csv", ".gtf", ".meme"):
            text = path.read_bytes().replace(b"\n", b"\r\n")
            path.write_bytes(b"\xef\xbb\xbf" + text)


def _gzip_all(folder: Path) -> None:
    for path in folder.iterdir():
        if path.suffix in (".bed", ".csv", ".gtf"):
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
            path.unlink()


def _renamed_chroms(folder: Path) -> None:
    """The accessibility files and the annotation write 1, 2 where the peaks write chr1, chr2."""
    for path in [*folder.glob("peaks.ct*.bed"), folder / "genes.gtf"]:
        edit(path, lambda t: t.replace("chr1\t", "1\t").replace("chr2\t", "2\t"))


def _renamed_peaks(folder: Path) -> None:
    """The peaks write 1, 2; everything else chr1, chr2 (the genome's spelling wins)."""
    edit(folder / "peaks.bed", lambda t: t.replace("chr", ""))


def _stale_index(folder: Path) -> None:
    """The FASTA re-wrapped at 50 bases a line, its .fai (60) left beside it, and newer."""
    text = (folder / "genome.fa").read_text()
    rows = []
    for record in text.split(">")[1:]:
        head, _, body = record.partition("\n")
        seq = body.replace("\n", "")
        rows.append(f">{head}\n" + "".join(seq[i : i + 50] + "\n" for i in range(0, len(seq), 50)))
    (folder / "genome.fa").write_text("".join(rows))
    fai = folder / "genome.fa.fai"
    fai.write_bytes(fai.read_bytes())  # newer than the FASTA: only the layout gives it away


ODD = {
    "CRLF and BOM": (_crlf_bom, []),
    "gzip": (_gzip_all, []),
    "1 for chr1 in accessibility and annotation": (
        _renamed_chroms,
        [
            "peaks.ct1.bed: chromosome names harmonised to the peaks' spelling: 1->chr1, 2->chr2",
            "genes.gtf: chromosome names harmonised to the genome's spelling: 1->chr1",
        ],
    ),
    "1 for chr1 in the peaks": (
        _renamed_peaks,
        ["peaks.bed: chromosome names harmonised to the genome's spelling"],
    ),
    "stale .fai": (
        _stale_index,
        ["genome.fa.fai does not match", "first line is not 60 bases long"],
    ),
}


@pytest.mark.parametrize("case", list(ODD))
def test_odd_but_valid_input_gives_the_same_store(sim, baseline, tmp_path, caplog, case):
    change, expected_log = ODD[case]
    inputs = copy_inputs(sim, tmp_path)
    change(inputs)
    opts = options(inputs)
    for values in opts.values():  # follow renamed (gzipped) files
        values[:] = [v if Path(v.split("=")[-1]).exists() or v == "none" else v + ".gz"
                     for v in values]  # fmt: skip
    out = tmp_path / "store.zarr"
    result = run(command(out, opts))
    assert result.exit_code == 0, result.output
    for piece in expected_log:
        assert piece in logged(caplog), caplog.text
    assert_same_store(out, baseline)


# --------------------------------------------------------------------------------------------
# Class 5: consistency.


def test_every_input_harmonises_chromosome_names(sim, tmp_path, caplog):
    """Motif hits, fragments (and the count matrix beside them): '1' where the peaks say 'chr1'
    gives the same store as 'chr1' everywhere, and each file's renaming is logged."""
    stores = {}
    for spelling in ("chr", ""):
        inputs = tmp_path / f"in{spelling}"
        shutil.copytree(sim, inputs)
        for name in ("hits.bed", "fragments.tsv"):
            edit(inputs / name, lambda t, s=spelling: t.replace("chr", s))
        opts = {
            "--peaks": [inputs / "peaks.bed"],
            "--chrom-sizes": [inputs / "genome.sizes"],
            "--annotation": [inputs / "genes.gtf"],
            "--motifs": [inputs / "motifs.meme"],
            "--motif-hits": [inputs / "hits.bed"],
            "--fragments": [inputs / "fragments.tsv"],
            "--barcodes": [inputs / "barcodes.tsv"],
            "--rna-counts": [inputs / "counts.csv"],
        }
        out = tmp_path / f"store{spelling}.zarr"
        caplog.clear()
        result = run(command(out, {k: [str(v) for v in vs] for k, vs in opts.items()}))
        assert result.exit_code == 0, result.output
        stores[spelling] = open_store(out)
        for name in ("hits.bed", "fragments.tsv"):
            renamed = f"{name}: chromosome names harmonised to the peaks' spelling: 1->chr1"
            assert (renamed in logged(caplog)) == (spelling == ""), caplog.text
    np.testing.assert_array_equal(stores[""].read_features(), stores["chr"].read_features())
    assert stores[""].read_features().sum() > 0
    for ct in ("ct1", "ct2"):
        np.testing.assert_array_equal(
            stores[""].cell_type(ct).accessibility_raw,
            stores["chr"].cell_type(ct).accessibility_raw,
        )
    assert stores[""].cell_type("ct1").accessibility_raw.sum() > 0


def test_peak_width_on_bed3_resizes_around_the_centre(sim, tmp_path, caplog):
    out = tmp_path / "store.zarr"
    opts = options(sim)
    opts["--peak-width"] = ["400"]
    opts["--motifs"] = ["none"]
    result = run(command(out, opts))
    assert result.exit_code == 0, result.output
    text = logged(caplog)
    assert "peaks.bed: no summit column: peaks resized to 400 bp around their centres" in text
    assert "pairs of resized peaks overlapped; each pair was cut at the midpoint" in text
    regions = open_store(out).regions
    width = (regions["end"] - regions["start"]).to_numpy()
    assert (width <= 400).all() and (width == 400).mean() > 0.9
    same = regions["chrom"].to_numpy()[1:] == regions["chrom"].to_numpy()[:-1]
    assert (regions["start"].to_numpy()[1:][same] >= regions["end"].to_numpy()[:-1][same]).all()


def _last_field(line: int, value: str):
    def change(text: str) -> str:
        rows = text.splitlines(keepends=True)
        fields = rows[line - 1].rstrip("\n").split("\t")
        fields[-1] = value
        rows[line - 1] = "\t".join(fields) + "\n"
        return "".join(rows)

    return change


def _score(text: str) -> str:
    return text.replace("\t4.5\t", "\thigh\t", 1)


@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        # the fourth column is "column 4"
        ("peaks.ct1.bed", _last_field(3, "many"),
         "peaks.ct1.bed, line 3: value 'many' in column 4 is not a finite number"),
        ("hits.bed", _score, "hits.bed, line 1: column 5 (score) is not a number: 'high'"),
        # one prefix, not "cell type 'ct1': cell type cell type 0: ..."
        ("peaks.ct1.bed", _last_field(1, "-70"),
         "peaks.ct1.bed: cell type 'ct1': count -70.0 at peak 1 is negative or not finite"),
        ("peaks.ct2.bed", _last_field(2, "inf"),
         "peaks.ct2.bed, line 2: value 'inf' in column 4 is not a finite number"),
    ],
)  # fmt: skip
def test_messages_number_columns_from_one_and_say_things_once(sim, tmp_path, file, change,
                                                              expected):  # fmt: skip
    inputs = copy_inputs(sim, tmp_path)
    edit(inputs / file, change)
    line = refused(tmp_path, inputs, options(inputs, "hits"))
    assert line == f"Error: {inputs / expected}", line


def _genes_in_gaps(folder: Path, keep: int) -> None:
    """Move all but ``keep`` genes of the GTF to gaps between peaks (inside the peaks' span,
    over 300 bp from any peak), as an annotation of another build would mostly be."""
    peaks = pd.read_csv(folder / "peaks.bed", sep="\t", header=None, names=["c", "s", "e"])
    gaps = [
        (c, (e + s2) // 2)
        for (c, e), (c2, s2) in zip(
            peaks[["c", "e"]].itertuples(index=False),
            peaks[["c", "s"]].iloc[1:].itertuples(index=False),
            strict=False,
        )
        if c == c2 and s2 - e > 1000
    ]
    rows, place = [], {}
    for line in (folder / "genes.gtf").read_text().splitlines(keepends=True):
        f = line.split("\t")
        if len(f) == 9:
            gene = f[8].split('"')[1]
            if gene not in place:
                place[gene] = gaps[len(place)] if len(place) >= keep else None
            if place[gene] is not None:
                f[0], mid = place[gene]
                f[3], f[4] = str(mid), str(mid + 10)
        rows.append("\t".join(f))
    (folder / "genes.gtf").write_text("".join(rows))


def test_partial_matches_are_warned_with_counts(sim, tmp_path, caplog):
    """Below 10% matched: a store is written, with a warning that gives the counts."""
    inputs = copy_inputs(sim, tmp_path)
    _genes_in_gaps(inputs, keep=3)
    (inputs / "genes.gtf").rename(inputs / "genes.moved.gtf")
    shutil.copy(sim / "genes.gtf", inputs / "genes.gtf")
    for prefix in ("SG0000", "SG0001", "SG0002", "SG0003", "SG0004", "SG0005"):
        edit(inputs / "rna.ct2.csv", lambda t, p=prefix: t.replace(p, "X" + p[1:]))
    cases = {
        # only 3 genes have their TSS in a peak; every measured gene is known
        ("genes.moved.gtf", "rna.ct1.csv"): "only 3 of 60 genes of genes.moved.gtf inside the "
        "peaks' span (5.0%) have a TSS within 300 bp of a peak: is the annotation of the peaks' "
        "genome build?",
        # every gene has its TSS in a peak; 1 of 60 measured genes is known
        ("genes.gtf", "rna.ct2.csv"): "cell type 'ct1' (rna.ct2.csv): only 1 of 60 measured "
        "genes (1.7%) match the annotation (e.g. not XG00001, XG00002, XG00003): other gene ids?",
    }
    for (annotation, rna), warning in cases.items():
        opts = options(inputs)
        opts.update({"--motifs": ["none"], "--annotation": [str(inputs / annotation)],
                     "--accessibility": opts["--accessibility"][:1],
                     "--expression": [f"ct1={inputs / rna}"]})  # fmt: skip
        caplog.clear()
        out = tmp_path / f"{annotation}.zarr"
        result = run(command(out, opts))
        assert result.exit_code == 0, result.output
        assert warning in logged(caplog), caplog.text
        assert caplog.text.count("WARNING") == 1
        assert open_store(out).genes["gene_id"].nunique() == (3 if "moved" in annotation else 60)
