"""Motif sets by name or path (:func:`load_motifs`), and JASPAR from pyjaspar's bundled database.

The default feature set is JASPAR 2024 CORE vertebrates (:func:`load_jaspar`), grouped into
similarity clusters by :mod:`getx.motifs.clustering` (so the granularity matches GET's 282 v1
archetypes), or by its ``tf_family`` annotation on request. GET's v1 set (Vierstra
non-redundant clusters) brings its own clusters (:mod:`getx.motifs.nrmotif`); the text formats
(:mod:`getx.motifs.formats`) make each motif its own cluster.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from getx.cache import cached, entry_path, json_digest, read_json, write_entry
from getx.errors import InputError
from getx.io.files import open_text
from getx.motifs.cluster_io import cached_cluster_motifs
from getx.motifs.clustering import ClusterParams
from getx.motifs.formats import read_gimme_pfm, read_hocomoco, read_jaspar, read_meme
from getx.motifs.genes import motif_genes
from getx.motifs.motifset import BASES, PSEUDOCOUNT, UNIFORM, MotifSet, counts_to_log_odds
from getx.motifs.nrmotif import load_nrmotif_v1

log = logging.getLogger(__name__)

JASPAR_GROUPINGS = ("clusters", "families")
# Bump when what load_jaspar builds from the database changes, so cached sets are rebuilt.
JASPAR_CACHE_VERSION = 2  # 2: TF genes by getx.motifs.genes (JASPAR <= 2020 "(var.2)" names)


def load_jaspar(
    release: str = "JASPAR2024",
    collection: str = "CORE",
    tax_group: str = "vertebrates",
    pseudocount: float = PSEUDOCOUNT,
    grouping: str = "clusters",
    use_cache: bool = True,
) -> MotifSet:
    """JASPAR matrices from pyjaspar's bundled database, ln-odds vs a uniform background.

    ``grouping="clusters"`` (default): similarity clusters by
    :func:`getx.motifs.cluster_io.cached_cluster_motifs` with its defaults (method tomtom2-kl,
    the linkage cut that gives GET's 282 archetypes on the v1 motifs, so the granularity
    matches GET's), cached under ``$GETX_CACHE_DIR/motif_clusters``. Clusters are named after
    their members' most common TF family prefix (``GATA``, ``SOX/2``) and ordered biggest first;
    ``cluster_genes`` lists the members' TFs.

    ``grouping="families"``: JASPAR's own ``tf_family`` annotation (the first family listed); a
    motif without a family is its own cluster, named after its TF; names sorted.
    ``cluster_genes`` lists the upper-cased TF names (dimers "A::B" give A and B).

    The finished set is also kept under ``$GETX_CACHE_DIR/jaspar`` (JSON + npz, no pickle), keyed
    by pyjaspar's database file (path, size, modification time), the query, the pseudocount,
    the grouping and the clustering parameters: a warm load reads neither pyjaspar (~2 s) nor
    the clustering cache. A damaged or mismatched entry is rebuilt with a warning.
    """
    if grouping not in JASPAR_GROUPINGS:
        raise InputError(f"unknown JASPAR grouping {grouping!r}; choose from {JASPAR_GROUPINGS}")
    query = (release, collection, tax_group, float(pseudocount))
    key = _jaspar_cache_key(*query, grouping)
    path = _jaspar_cache_path(key)

    def build() -> MotifSet:
        if grouping == "families":
            return _load_jaspar_families(*query)
        families = load_jaspar(*query, grouping="families", use_cache=use_cache)
        return cached_cluster_motifs(families, use_cache=use_cache)

    return cached(
        path,
        "JASPAR cache",
        lambda: _read_jaspar_cache(path, key),
        build,
        lambda motifs: _write_jaspar_cache(path, key, motifs),
        use_cache,
    )


def _jaspar_db_path(release: str) -> Path:
    """pyjaspar's SQLite file for ``release``, found without importing pyjaspar (~0.3 s) when it
    sits where pyjaspar keeps it (``pyjaspar/data/<release>.sqlite``)."""
    import importlib.util

    spec = importlib.util.find_spec("pyjaspar")
    if spec is None:
        raise InputError("the JASPAR motif sets need the pyjaspar package (pip install pyjaspar)")
    for folder in spec.submodule_search_locations or []:
        path = Path(folder) / "data" / f"{release}.sqlite"
        if path.is_file():
            return path
    from pyjaspar import get_jaspardb_path, jaspar_releases

    if release not in jaspar_releases:
        raise InputError(
            f"unknown JASPAR release {release!r}; pyjaspar has {sorted(jaspar_releases)}"
        )
    return Path(get_jaspardb_path(jaspar_releases[release]))


def _jaspar_cache_key(
    release: str, collection: str, tax_group: str, pseudocount: float, grouping: str
) -> dict:
    db = _jaspar_db_path(release)
    st = db.stat()
    key = {
        "version": JASPAR_CACHE_VERSION,
        "database": str(db.resolve()),
        "database_size": st.st_size,
        "database_mtime_ns": st.st_mtime_ns,
        "release": release,
        "collection": collection,
        "tax_group": tax_group,
        "pseudocount": pseudocount,
        "grouping": grouping,
    }
    if grouping == "clusters":  # cached_cluster_motifs' defaults, as load_jaspar uses them
        key["clustering"] = ClusterParams().cache_key()
    return key


def _jaspar_cache_path(key: dict) -> Path:
    return entry_path("jaspar", json_digest(key), ".json")


def _write_jaspar_cache(path: Path, key: dict, motifs: MotifSet) -> None:
    """KEY.npz (all matrices stacked, one array: fast to read) first, then KEY.json."""
    doc = {
        "description": "JASPAR motif set cache of getx (getx.motifs.databases.load_jaspar)",
        "key": key,
        "checksum": motifs.checksum(),
        "source": motifs.source,
        "names": list(motifs.names),
        "widths": motifs.widths.tolist(),
        "background": motifs.background.tolist(),
        "clusters": list(motifs.clusters),
        "motif_cluster": motifs.motif_cluster.tolist(),
        "cluster_genes": motifs.cluster_genes,
    }
    arrays = {"matrices": np.concatenate(motifs.matrices, axis=0)}
    write_entry(path.with_suffix(".npz"), arrays, path, doc)


def _read_jaspar_cache(path: Path, key: dict) -> MotifSet:
    """The cached set; raises if the files are unreadable, for another key, or inconsistent."""
    doc = read_json(path)
    if doc.get("key") != key:
        raise ValueError("written for another database or query")
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as npz:
        stacked = np.asarray(npz["matrices"], dtype=np.float64)
    widths = np.asarray(doc["widths"], dtype=np.int64)
    if stacked.ndim != 2 or stacked.shape[1] != 4 or stacked.shape[0] != widths.sum():
        raise ValueError("its matrices do not match its motif widths")
    motifs = MotifSet(
        names=tuple(doc["names"]),
        matrices=tuple(np.split(stacked, np.cumsum(widths)[:-1])),
        background=np.asarray(doc["background"], dtype=np.float64),
        clusters=tuple(doc["clusters"]),
        motif_cluster=np.asarray(doc["motif_cluster"], dtype=np.int64),
        cluster_genes={str(c): list(g) for c, g in doc["cluster_genes"].items()},
        source=str(doc["source"]),
    )
    if motifs.checksum() != doc["checksum"]:
        raise ValueError("its contents do not match their checksum")
    return motifs


def _load_jaspar_families(
    release: str, collection: str, tax_group: str, pseudocount: float
) -> MotifSet:
    from pyjaspar import jaspardb

    db = jaspardb(release=release)
    records = db.fetch_motifs(collection=collection, tax_group=[tax_group])
    if not records:
        raise InputError(f"no JASPAR motifs for {release}/{collection}/{tax_group}")
    names, mats, fams, genes = [], [], [], []
    for r in records:
        counts = np.array([r.counts[b] for b in BASES], dtype=np.float64).T
        names.append(f"{r.matrix_id}.{r.name}")
        mats.append(counts_to_log_odds(counts, UNIFORM, pseudocount))
        fams.append(r.tf_family[0] if r.tf_family else r.name)
        genes.append(motif_genes(r.name))
    clusters = tuple(sorted(set(fams)))
    index = {c: i for i, c in enumerate(clusters)}
    cluster_genes: dict[str, list[str]] = {c: [] for c in clusters}
    for fam, gs in zip(fams, genes, strict=True):
        cluster_genes[fam].extend(g for g in gs if g not in cluster_genes[fam])
    return MotifSet(
        names=tuple(names),
        matrices=tuple(mats),
        background=UNIFORM.copy(),
        clusters=clusters,
        motif_cluster=np.array([index[f] for f in fams], dtype=np.int64),
        cluster_genes=cluster_genes,
        source=f"{release}/{collection}/{tax_group} (pyjaspar)",
    )


def load_motifs(spec: str | Path = "jaspar2024") -> MotifSet:
    """A motif set by name or path.

    ``"jaspar2024"`` (default): JASPAR 2024 CORE vertebrates in similarity clusters (see
    :func:`load_jaspar`); ``"jaspar2024-families"``: the same motifs grouped by JASPAR's TF
    family annotation. A directory (or a ``.json``) holding
    ``nrmotif_v1.json`` + ``nrmotif_v1.matrices.npz``: GET's v1 set. Otherwise a file, by suffix:
    ``.meme``/``.txt`` with a MEME header -> MEME, ``.jaspar`` -> JASPAR, ``.pcm``/``.pwm`` ->
    HOCOMOCO, ``.pfm`` -> JASPAR when its rows look like ``A [``, or 4-row blocks, else gimme PFM.
    """
    if str(spec).lower() in ("jaspar2024", "jaspar"):
        return load_jaspar()
    if str(spec).lower() in ("jaspar2024-families", "jaspar-families"):
        return load_jaspar(grouping="families")
    path = Path(spec).expanduser()
    if path.is_dir():
        return load_nrmotif_v1(path / "nrmotif_v1.json", path / "nrmotif_v1.matrices.npz")
    if not path.exists():
        raise InputError(f"no such motif file or known database name: {spec}")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    suffix = suffix.removesuffix(".gz")
    if suffix == ".json":
        npz = path.with_name(path.name.removesuffix(".json") + ".matrices.npz")
        return load_nrmotif_v1(path, npz)
    if suffix == ".jaspar":
        return read_jaspar(path)
    if suffix in (".pcm", ".pwm"):
        return read_hocomoco(path)
    with open_text(path) as fh:
        head = fh.read(20000)
    if "MEME version" in head or "letter-probability" in head:
        return read_meme(path)
    if re.search(r"^\s*[ACGT]\s*\[", head, flags=re.M):
        return read_jaspar(path)
    if suffix == ".pfm":
        blocks = [b.splitlines() for b in re.split(r"^>", head, flags=re.M)[1:]]
        first = [x for x in blocks[0][1:] if x.strip()] if blocks else []
        if len(first) == 4 and len(first[0].split()) != 4:
            return read_jaspar(path)
        return read_gimme_pfm(path)
    raise InputError("cannot tell the motif format (MEME, JASPAR, HOCOMOCO or gimme PFM)", path)
