"""The catalog's parquet schema (version 1; docs/format.md, "The catalog") and the check that a
file is a catalog of this version."""

from __future__ import annotations

import json
from pathlib import Path

from getx.errors import InputError
from getx.io.files import OutputKind

FORMAT = "getx-catalog"
SCHEMA_VERSION = 1
METADATA_KEY = b"getx_catalog"

# (name, arrow type) in file order; list<...> columns are aligned lists.
COLUMNS = (
    ("cell_type", "string"),
    ("rank", "int64"),
    ("cluster_a", "string"),
    ("cluster_b", "string"),
    ("tfs_a", "list<string>"),
    ("tfs_b", "list<string>"),
    ("importance_a", "float64"),
    ("importance_b", "float64"),
    ("specificity_a", "float64"),
    ("specificity_b", "float64"),
    ("co_importance", "float64"),
    ("stability", "float64"),
    ("direction", "string"),
    ("edge_weight", "float64"),
    ("tf_expression_a", "list<float64>"),
    ("tf_expression_b", "list<float64>"),
    ("expression_a", "float64"),
    ("expression_b", "float64"),
    ("structure_pair", "string"),
    ("n_structures", "int64"),
    ("pdockq", "float64"),
    ("iptm", "float64"),
    ("ipsae", "float64"),
    ("interface_plddt", "float64"),
    ("n_contacts", "float64"),
    ("regulatory_score", "float64"),
    ("score", "float64"),
)


def arrow_schema():
    """The pyarrow schema of :data:`COLUMNS`."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "list<string>": pa.list_(pa.string()),
        "list<float64>": pa.list_(pa.float64()),
    }
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS])


def read_metadata(path: str | Path) -> dict:
    """The metadata of a catalog file, checking its format and schema version."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise InputError("no such catalog file (build one with `getx catalog build`)", path)
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError) as error:
        raise InputError(f"not a parquet file ({' '.join(str(error).split())})", path) from None
    try:
        info = json.loads(meta[METADATA_KEY])
    except (KeyError, ValueError):
        raise InputError("not a getx catalog (no getx_catalog metadata)", path) from None
    if info.get("format") != FORMAT:
        raise InputError(f"not a getx catalog (format {info.get('format')!r})", path)
    if info.get("schema_version") != SCHEMA_VERSION:
        raise InputError(
            f"catalog schema version {info.get('schema_version')} is not {SCHEMA_VERSION}; "
            "rebuild it with this getx version",
            path,
        )
    return info


def _is_catalog(path: Path) -> bool:
    try:
        read_metadata(path)
    except InputError:
        return False
    return True


CATALOG_KIND = OutputKind("getx catalog", recognise=_is_catalog)
"""A catalog parquet file: getx replaces one of its own, never another file."""
