"""Queries on catalog files through duckdb, so they scale to every pair of every cell type.

A query reads one or more catalog files at once (files, folders of ``*.parquet`` files, glob
patterns): catalogs built separately, say one per batch of cell types, are queried together.
duckdb reads only the columns and row groups a query needs.
"""

from __future__ import annotations

import difflib
import glob
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from getx.catalog.schema import read_metadata
from getx.errors import InputError


def catalog_files(paths: Sequence[str | Path]) -> list[Path]:
    """The catalog files named by ``paths`` (files, folders holding ``*.parquet``, globs),
    each checked to be a catalog of this schema version."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(path.glob("*.parquet"))
            if not found:
                raise InputError("no .parquet catalog files in this folder", path)
        elif any(c in str(given) for c in "*?["):
            found = [Path(p) for p in sorted(glob.glob(str(given)))]
            if not found:
                raise InputError(f"no catalog file matches {str(given)!r}")
        else:
            found = [path]
        files += found
    if not files:
        raise InputError("no catalog file given")
    for file in files:
        read_metadata(file)
    return list(dict.fromkeys(files))


def _connect(files: list[Path]):
    import duckdb

    con = duckdb.connect()
    # a view cannot take parameters: the file names go in as quoted SQL strings
    names = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    con.execute(f"CREATE VIEW catalog AS SELECT * FROM read_parquet([{names}])")
    return con


def _require(con, first: str, second: str, value: str, label: str, where: str) -> None:
    """An InputError naming ``label`` unless ``value`` is among the catalog's values of the
    expressions ``first`` and ``second``, with the closest values as a hint."""
    known = {
        row[0]
        for row in con.execute(
            f"SELECT DISTINCT {first} FROM catalog UNION SELECT DISTINCT {second} FROM catalog"
        ).fetchall()
    }
    if value not in known:
        close = difflib.get_close_matches(value, sorted(known), n=5, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise InputError(f"{label} is not in the catalog{hint}", where)


def query_catalog(
    paths: Sequence[str | Path],
    tf: str | None = None,
    cell_type: str | None = None,
    min_score: float | None = None,
    cluster: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Catalog rows whose clusters hold the TF gene ``tf`` (any case) and/or are ``cluster``,
    in ``cell_type``, with ``score >= min_score``; best score first. An unknown TF, cluster or
    cell type is an error naming it, with the closest names."""
    files = catalog_files(paths)
    where = ", ".join(str(f) for f in files[:3]) + (" ..." if len(files) > 3 else "")
    con = _connect(files)
    conditions, params = [], {}
    if cell_type is not None:
        _require(con, "cell_type", "cell_type", cell_type, f"cell type {cell_type!r}", where)
        conditions.append("cell_type = $cell_type")
        params["cell_type"] = cell_type
    if tf is not None:
        symbol = tf.strip().upper()
        _require(con, "unnest(tfs_a)", "unnest(tfs_b)", symbol, f"TF {tf!r}", where)
        conditions.append("(list_contains(tfs_a, $tf) OR list_contains(tfs_b, $tf))")
        params["tf"] = symbol
    if cluster is not None:
        _require(con, "cluster_a", "cluster_b", cluster, f"motif cluster {cluster!r}", where)
        conditions.append("(cluster_a = $cluster OR cluster_b = $cluster)")
        params["cluster"] = cluster
    if min_score is not None:
        conditions.append("score >= $min_score")
        params["min_score"] = float(min_score)
    sql = "SELECT * FROM catalog"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += " ORDER BY score DESC, cell_type, rank"
    if limit is not None:
        if limit < 1:
            raise InputError(f"limit must be positive (got {limit})")
        sql += f" LIMIT {int(limit)}"
    return con.execute(sql, params).df()
