"""Gene id versions: one rule for annotations and expression tables, PAR_Y copies kept apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from getx.io.annotation import read_gtf
from getx.io.expression import match_genes, read_gene_table
from getx.io.gene_ids import strip_version, strip_versions
from getx.labels import gene_index, gene_values


def test_strip_version():
    assert strip_version("ENSG00000223972.5") == "ENSG00000223972"
    assert strip_version("ENSG00000182378.14_PAR_Y") == "ENSG00000182378_PAR_Y"
    assert strip_version("ENSG00000223972") == "ENSG00000223972"


def test_strip_versions_keeps_par_y_and_names():
    ids = [
        "ENSG00000223972.4",
        "ENSG00000182378.14_PAR_Y",
        "ENSGR0000182378.8",
        "GATA1",
        "AC1.2",
        "AL627309.1",  # a clone-based gene name: .1 and .3 are different genes
        "ENSMUSG00000064842.3",
        "SIMG00000001.1",
    ]
    # ENSGR (old GENCODE PAR_Y ids) stays distinct from its ENSG twin, and so does _PAR_Y.
    expected = [
        "ENSG00000223972",
        "ENSG00000182378_PAR_Y",
        "ENSGR0000182378",
        "GATA1",
        "AC1.2",
        "AL627309.1",
        "ENSMUSG00000064842",
        "SIMG00000001",
    ]
    assert strip_versions(ids).tolist() == expected
    # An annotation's gene_id field holds ids only, so there any .N is a version; on stable
    # ids both functions agree, so an expression row meets its annotation gene.
    stable = [1, 2, 6, 7]
    assert [strip_version(ids[i]) for i in stable] == [expected[i] for i in stable]
    assert strip_version("G1.3") == "G1"


_GTF_LINES = [
    # GENCODE writes a pseudo-autosomal gene twice: the chrX copy and the chrY copy (_PAR_Y).
    ("chrX", 1_000, 2_000, "+", "ENSG00000182378.14", "PLCXD1"),
    ("chrY", 1_000, 2_000, "+", "ENSG00000182378.14_PAR_Y", "PLCXD1"),
    ("chrX", 9_000, 9_500, "-", "ENSG00000000003.15", "TSPAN6"),
]


def test_par_y_expression_row_is_matched_to_the_chry_gene(tmp_path):
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(
        "".join(
            f"{chrom}\tHAVANA\tgene\t{start}\t{end}\t.\t{strand}\t.\t"
            f'gene_id "{gene_id}"; gene_type "protein_coding"; gene_name "{name}";\n'
            for chrom, start, end, strand, gene_id, name in _GTF_LINES
        )
    )
    table = tmp_path / "expression.tsv"
    table.write_text(
        "gene_id\tTPM\n"
        "ENSG00000182378.14\t5.0\n"
        "ENSG00000182378.14_PAR_Y\t0.5\n"
        "ENSG00000000003.15\t2.0\n"
    )
    annotation = read_gtf(gtf)
    assert set(annotation["gene_id"]) == {
        "ENSG00000182378",
        "ENSG00000182378_PAR_Y",
        "ENSG00000000003",
    }
    expression = read_gene_table(table)
    # Both copies survive the version stripping (the old stripper merged them into one row).
    assert expression.to_dict() == {
        "ENSG00000182378": 5.0,
        "ENSG00000182378_PAR_Y": 0.5,
        "ENSG00000000003": 2.0,
    }
    report = match_genes(expression.index, annotation)
    assert report.n_by_id == 3
    assert report.mapping.to_dict() == {
        "ENSG00000182378": "ENSG00000182378",
        "ENSG00000182378_PAR_Y": "ENSG00000182378_PAR_Y",
        "ENSG00000000003": "ENSG00000000003",
    }
    # On regions, each chromosome's promoter carries its own copy's value.
    regions = pd.DataFrame({"chrom": ["chrX", "chrY"], "start": [800, 800], "end": [1_200, 1_200]})
    genes = gene_index(regions, annotation)
    values, matched = gene_values(genes, expression)
    by_chrom = dict(zip(regions["chrom"][genes["region"]], values.tolist(), strict=True))
    assert matched == 2 and by_chrom == {"chrX": 5.0, "chrY": 0.5}
    assert np.isfinite(values).all()
