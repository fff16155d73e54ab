"""Motif databases: one in-memory form (``MotifSet``) and loaders for the formats people bring.

Every matrix is stored as (W, 4) natural-log odds against ``MotifSet.background`` (columns A, C, G,
T). Count or probability matrices are converted with :func:`counts_to_log_odds`:

    p[j, b] = (n[j, b] + ps * bg[b]) / (N_j + ps),   M[j, b] = ln(p[j, b] / bg[b])

with a total pseudocount ``ps`` per column (default :data:`PSEUDOCOUNT` = 1.0), spread over the
bases in proportion to the background (the MOODS/Biopython convention). Probability matrices
(columns summing to ~1, e.g. MEME) are first scaled to counts with their ``nsites`` (MEME) or
:data:`DEFAULT_NSITES`.

Clusters are the model's feature axis. GET's v1 set (Vierstra non-redundant clusters, 282
archetypes) brings its own; JASPAR (the default set) is grouped into similarity clusters by
:mod:`getx.motifs.clustering` (cached on disk), or by its ``tf_family`` annotation on request;
formats without clusters make each motif its own cluster.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from getx.errors import InputError
from getx.io.files import open_text

log = logging.getLogger(__name__)

PSEUDOCOUNT = 1.0
DEFAULT_NSITES = 20.0
UNIFORM = np.full(4, 0.25)
BASES = "ACGT"


@dataclass(frozen=True, eq=False)
class MotifSet:
    """Motifs as (W, 4) ln-odds matrices against ``background``, grouped into feature clusters."""

    names: tuple[str, ...]
    matrices: tuple[np.ndarray, ...]
    background: np.ndarray
    clusters: tuple[str, ...]
    motif_cluster: np.ndarray
    cluster_genes: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.names) != len(self.matrices) or len(self.names) != len(self.motif_cluster):
            raise ValueError("names, matrices and motif_cluster must have the same length")
        bg = np.asarray(self.background, dtype=np.float64)
        if bg.shape != (4,) or np.any(bg <= 0) or abs(bg.sum() - 1) > 1e-6:
            raise ValueError(f"background must be 4 positive probabilities summing to 1, got {bg}")
        object.__setattr__(self, "background", bg)
        object.__setattr__(self, "motif_cluster", np.asarray(self.motif_cluster, dtype=np.int64))
        for name, m in zip(self.names, self.matrices, strict=True):
            if m.ndim != 2 or m.shape[1] != 4 or m.shape[0] < 1 or not np.all(np.isfinite(m)):
                raise ValueError(f"motif {name}: matrix must be finite (W, 4), got {m.shape}")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def widths(self) -> np.ndarray:
        return np.array([m.shape[0] for m in self.matrices], dtype=np.int64)

    def checksum(self) -> str:
        """sha256 over matrices, background, motif names and cluster assignment (hex)."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.background, dtype="<f8").tobytes())
        for name, m, c in zip(self.names, self.matrices, self.motif_cluster, strict=True):
            h.update(name.encode() + b"\0")
            h.update(np.asarray(m.shape, dtype="<i8").tobytes())
            h.update(np.ascontiguousarray(m, dtype="<f8").tobytes())
            h.update(int(c).to_bytes(8, "little", signed=True))
        for c in self.clusters:
            h.update(c.encode() + b"\0")
        return h.hexdigest()


def select(
    motifs: MotifSet, clusters: list[str] | None = None, names: list[str] | None = None
) -> MotifSet:
    """The motifs of the given clusters and/or names; clusters keep their original order."""
    keep = np.ones(len(motifs), dtype=bool)
    if clusters is not None:
        unknown = set(clusters) - set(motifs.clusters)
        if unknown:
            raise InputError(f"unknown clusters: {sorted(unknown)[:5]}")
        wanted = {motifs.clusters.index(c) for c in clusters}
        keep &= np.isin(motifs.motif_cluster, list(wanted))
    if names is not None:
        unknown = set(names) - set(motifs.names)
        if unknown:
            raise InputError(f"unknown motifs: {sorted(unknown)[:5]}")
        keep &= np.isin(np.array(motifs.names, dtype=object), list(names))
    idx = np.flatnonzero(keep)
    used = sorted({int(motifs.motif_cluster[i]) for i in idx})
    remap = {old: new for new, old in enumerate(used)}
    new_clusters = tuple(motifs.clusters[i] for i in used)
    return MotifSet(
        names=tuple(motifs.names[i] for i in idx),
        matrices=tuple(motifs.matrices[i] for i in idx),
        background=motifs.background,
        clusters=new_clusters,
        motif_cluster=np.array([remap[int(motifs.motif_cluster[i])] for i in idx], dtype=np.int64),
        cluster_genes={
            c: motifs.cluster_genes[c] for c in new_clusters if c in motifs.cluster_genes
        },
        source=motifs.source,
    )


def counts_to_log_odds(
    counts: np.ndarray, background: np.ndarray = UNIFORM, pseudocount: float = PSEUDOCOUNT
) -> np.ndarray:
    """(W, 4) counts -> (W, 4) ln-odds vs ``background`` (total pseudocount per column)."""
    counts = np.asarray(counts, dtype=np.float64)
    bg = np.asarray(background, dtype=np.float64)
    p = (counts + pseudocount * bg) / (counts.sum(axis=1, keepdims=True) + pseudocount)
    return np.log(p / bg)


def gc_background(gc: float) -> np.ndarray:
    """Strand-symmetric background [A, C, G, T] with the given GC fraction."""
    if not 0.0 < gc < 1.0:
        raise InputError(f"GC fraction must be in (0, 1), got {gc}")
    return np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])


def background_from_sequence(sequence: str | np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """Strand-symmetric GC-aware background from a sequence's (or code array's) GC content.

    Only A/C/G/T count (N and other letters are ignored); a pseudocount keeps it off 0 and 1.
    """
    if isinstance(sequence, str):
        s = sequence.upper()
        at = s.count("A") + s.count("T")
        gc = s.count("C") + s.count("G")
    else:
        counts = np.bincount(np.asarray(sequence, dtype=np.uint8), minlength=5)
        at, gc = int(counts[0] + counts[3]), int(counts[1] + counts[2])
    return gc_background((gc + pseudocount) / (at + gc + 2 * pseudocount))


def with_background(motifs: MotifSet, background: np.ndarray) -> MotifSet:
    """Re-express every matrix as ln-odds against a new background.

    p = bg_old * exp(M) (renormalised per column, so slightly unnormalised inputs stay valid
    probabilities), M' = ln(p / bg_new).
    """
    new_bg = np.asarray(background, dtype=np.float64)
    mats = []
    for m in motifs.matrices:
        p = motifs.background[None, :] * np.exp(m)
        p /= p.sum(axis=1, keepdims=True)
        mats.append(np.log(p / new_bg[None, :]))
    return MotifSet(
        names=motifs.names,
        matrices=tuple(mats),
        background=new_bg,
        clusters=motifs.clusters,
        motif_cluster=motifs.motif_cluster,
        cluster_genes=motifs.cluster_genes,
        source=motifs.source,
    )


def _singletons(
    names: list[str],
    mats: list[np.ndarray],
    background: np.ndarray,
    source: str,
    genes: dict[str, list[str]] | None = None,
) -> MotifSet:
    """Each motif its own cluster (formats without clustering)."""
    genes = genes or {}
    return MotifSet(
        names=tuple(names),
        matrices=tuple(mats),
        background=background,
        clusters=tuple(names),
        motif_cluster=np.arange(len(names), dtype=np.int64),
        cluster_genes={n: genes[n] for n in names if n in genes},
        source=source,
    )


def _genes_from_tf_name(name: str) -> list[str]:
    return [g.strip().upper() for g in name.split("::") if g.strip()]


# --- JASPAR via pyjaspar (offline SQLite shipped in the wheel) ---------------------------------


JASPAR_GROUPINGS = ("clusters", "families")
# Bump when what load_jaspar builds from the database changes, so cached sets are rebuilt.
JASPAR_CACHE_VERSION = 1


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
    :func:`getx.motifs.clustering.cached_cluster_motifs` with its defaults (method tomtom2-kl,
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
    if use_cache and path.exists():
        try:
            return _read_jaspar_cache(path, key)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
            log.warning("rebuilding the JASPAR cache %s (%s)", path, e)
    if grouping == "families":
        out = _load_jaspar_families(*query)
    else:
        from getx.motifs.clustering import cached_cluster_motifs

        families = load_jaspar(*query, grouping="families", use_cache=use_cache)
        out = cached_cluster_motifs(families, use_cache=use_cache)
    if use_cache:
        try:
            _write_jaspar_cache(path, key, out)
        except OSError as e:  # a read-only cache must not stop the caller
            log.warning("could not write the JASPAR cache %s: %s", path, e)
    return out


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
        from getx.motifs.clustering import ClusterParams

        key["clustering"] = ClusterParams().cache_key()
    return key


def _jaspar_cache_path(key: dict) -> Path:
    from getx.motifs.pvalues import cache_dir

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    return cache_dir() / "jaspar" / f"{digest}.json"


def _write_jaspar_cache(path: Path, key: dict, motifs: MotifSet) -> None:
    """KEY.npz (all matrices stacked, one array: fast to read) first, then KEY.json."""
    from getx.io.files import atomic_output

    npz = path.with_suffix(".npz")
    with atomic_output(npz) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, matrices=np.concatenate(motifs.matrices, axis=0))
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
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(doc) + "\n")


def _read_jaspar_cache(path: Path, key: dict) -> MotifSet:
    """The cached set; raises if the files are unreadable, for another key, or inconsistent."""
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
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
        genes.append(_genes_from_tf_name(r.name))
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


# --- GET's v1 set (Vierstra non-redundant clusters) --------------------------------------------


def load_nrmotif_v1(json_path: str | Path, npz_path: str | Path) -> MotifSet:
    """GET's motif set: 2,174 Vierstra v1.0 PWMs in 282 clusters (GET's feature order).

    The npz holds (4, W) ln-odds against bg A/T 0.2977, C/G 0.2023 (kept as is, transposed);
    clusters follow ``cluster_names`` exactly, which is GET's model input order.
    """
    json_path, npz_path = Path(json_path), Path(npz_path)
    try:
        meta = json.loads(json_path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg}", json_path, e.lineno) from e
    for key in ("matrix_names", "cluster_names", "motif_to_cluster", "background"):
        if key not in meta:
            raise InputError(f"missing key {key!r}", json_path)
    bg = np.array([meta["background"][b] for b in BASES], dtype=np.float64)
    clusters = tuple(meta["cluster_names"])
    index = {c: i for i, c in enumerate(clusters)}
    mats, assign = [], []
    with np.load(npz_path, allow_pickle=False) as npz:
        for name in meta["matrix_names"]:
            if name not in npz.files:
                raise InputError(f"motif {name!r} listed in {json_path} has no matrix", npz_path)
            m = np.asarray(npz[name], dtype=np.float64)
            if m.ndim != 2 or m.shape[0] != 4:
                raise InputError(
                    f"motif {name!r}: expected a (4, W) matrix, got {m.shape}", npz_path
                )
            cluster = meta["motif_to_cluster"].get(name)
            if cluster not in index:
                raise InputError(f"motif {name!r} has unknown cluster {cluster!r}", json_path)
            mats.append(np.ascontiguousarray(m.T))
            assign.append(index[cluster])
    genes = {c: list(meta.get("cluster_gene_list", {}).get(c, [])) for c in clusters}
    return MotifSet(
        names=tuple(meta["matrix_names"]),
        matrices=tuple(mats),
        background=bg,
        clusters=clusters,
        motif_cluster=np.array(assign, dtype=np.int64),
        cluster_genes=genes,
        source=f"nrmotif_v1 ({json_path.name})",
    )


# --- text formats ------------------------------------------------------------------------------


def _numbers(text: str, path: Path, lineno: int) -> list[float]:
    try:
        return [float(x) for x in text.split()]
    except ValueError:
        raise InputError(f"expected numbers, got {text.strip()[:60]!r}", path, lineno) from None


def _finish_counts(
    rows: list[list[float]], name: str, path: Path, lineno: int, nsites: float | None = None
) -> np.ndarray:
    """Rows of (W, 4) numbers -> counts; probability rows are scaled to ``nsites``."""
    if not rows:
        raise InputError(f"motif {name!r} has no matrix rows", path, lineno)
    m = np.array(rows, dtype=np.float64)
    if np.any(m < 0):
        raise InputError(f"motif {name!r} has negative counts", path, lineno)
    sums = m.sum(axis=1)
    if np.any(sums <= 0):
        raise InputError(f"motif {name!r} has an empty column", path, lineno)
    if np.all(np.abs(sums - 1.0) < 0.02):
        m = m / sums[:, None] * (nsites or DEFAULT_NSITES)
    return m


def read_meme(path: str | Path, pseudocount: float = PSEUDOCOUNT) -> MotifSet:
    """MEME text format: ``MOTIF id [alt]`` + ``letter-probability matrix: ... nsites= N``.

    Log-odds against the file's ``Background letter frequencies`` (uniform if absent).
    """
    path = Path(path)
    bg = UNIFORM.copy()
    names, mats = [], []
    with open_text(path) as fh:
        lines = fh.read().splitlines()
    i = 0
    seen_header = False
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("MEME version"):
            seen_header = True
        elif line.startswith("ALPHABET") and "ACGT" not in line.replace(" ", ""):
            raise InputError(f"only DNA (ACGT) alphabets are supported: {line!r}", path, i + 1)
        elif line.startswith("Background letter frequencies"):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            toks = lines[j].split()
            try:
                freqs = dict(zip(toks[0::2], (float(x) for x in toks[1::2]), strict=False))
                bg = np.array([freqs[b] for b in BASES])
                bg = bg / bg.sum()
            except (KeyError, ValueError):
                raise InputError(f"bad background line {lines[j]!r}", path, j + 1) from None
            i = j
        elif line.startswith("MOTIF"):
            parts = line.split()
            if len(parts) < 2:
                raise InputError("MOTIF line without a name", path, i + 1)
            name = parts[1] if len(parts) == 2 else f"{parts[1]}.{parts[2]}"
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("letter-probability"):
                if lines[j].strip().startswith("MOTIF"):
                    raise InputError(f"motif {name!r} has no letter-probability matrix", path, j)
                j += 1
            if j == len(lines):
                raise InputError(f"motif {name!r} has no letter-probability matrix", path, i + 1)
            header = lines[j]
            w_match = re.search(r"w=\s*(\d+)", header)
            n_match = re.search(r"nsites=\s*([0-9.eE+-]+)", header)
            width = int(w_match.group(1)) if w_match else None
            nsites = float(n_match.group(1)) if n_match else DEFAULT_NSITES
            rows = []
            k = j + 1
            while k < len(lines) and (width is None or len(rows) < width):
                s = lines[k].strip()
                if not s:
                    if rows and width is None:
                        break
                    k += 1
                    continue
                if s[0].isalpha():
                    break
                vals = _numbers(s, path, k + 1)
                if len(vals) != 4:
                    raise InputError(f"expected 4 probabilities, got {len(vals)}", path, k + 1)
                rows.append(vals)
                k += 1
            if width is not None and len(rows) != width:
                raise InputError(f"motif {name!r}: w={width} but {len(rows)} rows", path, j + 1)
            counts = _finish_counts(rows, name, path, j + 1, nsites)
            names.append(name)
            mats.append(counts_to_log_odds(counts, bg, pseudocount))
            i = k - 1
        i += 1
    if not names:
        raise InputError("no MOTIF entries found" + ("" if seen_header else " (not MEME?)"), path)
    return _singletons(names, mats, bg, f"MEME {path.name}")


def _read_headed_blocks(path: Path) -> list[tuple[str, int, list[tuple[int, str]]]]:
    """Split a ">"-headed file into (header, line no, [(line no, text)]), skipping "#" lines."""
    blocks: list[tuple[str, int, list[tuple[int, str]]]] = []
    with open_text(path) as fh:
        for n, raw in enumerate(fh, start=1):
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            if s.startswith(">"):
                blocks.append((s[1:].strip(), n, []))
            elif not blocks:
                raise InputError("expected a '>' motif header first", path, n)
            else:
                blocks[-1][2].append((n, s))
    if not blocks:
        raise InputError("no '>' motif headers found", path)
    return blocks


def read_jaspar(path: str | Path, pseudocount: float = PSEUDOCOUNT) -> MotifSet:
    """JASPAR .jaspar / .pfm: ``>ID NAME`` then 4 rows A, C, G, T (``A [ ... ]`` or bare)."""
    path = Path(path)
    names, mats, genes = [], [], {}
    for header, hline, body in _read_headed_blocks(path):
        if not header:
            raise InputError("empty motif header", path, hline)
        parts = header.split(None, 1)
        name = f"{parts[0]}.{parts[1].strip()}" if len(parts) == 2 else parts[0]
        if len(body) != 4:
            raise InputError(
                f"motif {name!r}: expected 4 rows (A C G T), got {len(body)}", path, hline
            )
        rows = {}
        for k, (n, s) in enumerate(body):
            letter = BASES[k]
            m = re.match(r"^([ACGTacgt])\s*\[(.*)\]\s*$", s)
            if m:
                letter, s = m.group(1).upper(), m.group(2)
            elif s[0].isalpha():
                raise InputError(f"bad matrix row {s[:40]!r}", path, n)
            rows[letter] = _numbers(s, path, n)
        if set(rows) != set(BASES):
            raise InputError(f"motif {name!r}: rows must be A, C, G, T", path, hline)
        widths = {len(v) for v in rows.values()}
        if len(widths) != 1:
            raise InputError(f"motif {name!r}: rows have different lengths {widths}", path, hline)
        counts = _finish_counts(
            [list(c) for c in zip(*(rows[b] for b in BASES), strict=True)], name, path, hline
        )
        names.append(name)
        mats.append(counts_to_log_odds(counts, UNIFORM, pseudocount))
        if len(parts) == 2:
            genes[name] = _genes_from_tf_name(parts[1])
    return _singletons(names, mats, UNIFORM.copy(), f"JASPAR {path.name}", genes)


def _read_row_matrices(path: Path) -> list[tuple[str, int, np.ndarray]]:
    """'>NAME' headers followed by W rows of 4 numbers (HOCOMOCO, gimmemotifs PFM)."""
    out = []
    for header, hline, body in _read_headed_blocks(path):
        name = header.split()[0] if header else ""
        if not name:
            raise InputError("empty motif header", path, hline)
        rows = []
        for n, s in body:
            vals = _numbers(s, path, n)
            if len(vals) != 4:
                raise InputError(f"motif {name!r}: expected 4 columns, got {len(vals)}", path, n)
            rows.append(vals)
        if not rows:
            raise InputError(f"motif {name!r} has no matrix rows", path, hline)
        out.append((name, hline, np.array(rows, dtype=np.float64)))
    return out


def read_hocomoco(
    path: str | Path, kind: str | None = None, pseudocount: float = PSEUDOCOUNT
) -> MotifSet:
    """HOCOMOCO ``.pcm`` (counts) or ``.pwm`` (ln-odds vs uniform, kept as is): '>NAME' + W x 4.

    ``kind`` ("pcm"/"pwm") defaults to the suffix, else to "pwm" when any value is negative.
    """
    path = Path(path)
    entries = _read_row_matrices(path)
    if kind is None:
        suffix = path.suffix.lower().lstrip(".")
        if suffix in ("pcm", "pwm"):
            kind = suffix
        else:
            kind = "pwm" if any(np.any(m < 0) for _, _, m in entries) else "pcm"
    names, mats = [], []
    for name, hline, m in entries:
        if kind == "pwm":
            mats.append(m)
        else:
            mats.append(
                counts_to_log_odds(
                    _finish_counts(m.tolist(), name, path, hline), UNIFORM, pseudocount
                )
            )
        names.append(name)
    genes = {n: [n.split("_")[0].upper()] for n in names if ".H1" in n}
    return _singletons(names, mats, UNIFORM.copy(), f"HOCOMOCO {path.name}", genes)


def _factor_gene(factor: str) -> str:
    # gimmemotifs' JASPAR tables prefix the first factor with the matrix id ("MA0004.1.Arnt").
    return re.sub(r"^MA\d{4}\.\d+\.", "", factor.strip()).upper()


def read_motif2factors(path: str | Path) -> dict[str, list[str]]:
    """gimmemotifs motif2factors table (Motif, Factor, ...) -> motif -> gene symbols."""
    path = Path(path)
    out: dict[str, list[str]] = {}
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
        if header[:2] != ["Motif", "Factor"]:
            raise InputError(f"expected header 'Motif<TAB>Factor...', got {header[:2]}", path, 1)
        for n, raw in enumerate(fh, start=2):
            if not raw.strip():
                continue
            cols = raw.rstrip("\r\n").split("\t")
            if len(cols) < 2:
                raise InputError("expected at least 2 tab-separated columns", path, n)
            gene = _factor_gene(cols[1])
            genes = out.setdefault(cols[0], [])
            if gene and gene not in genes:
                genes.append(gene)
    return out


def read_gimme_pfm(
    path: str | Path,
    motif2factors: str | Path | None = None,
    pseudocount: float = PSEUDOCOUNT,
) -> MotifSet:
    """gimmemotifs PFM ('#' comments, '>NAME', W rows of 4 counts A C G T), each motif a cluster.

    ``motif2factors`` (default: ``<stem>.motif2factors.txt`` beside the file when present) gives
    ``cluster_genes``.
    """
    path = Path(path)
    if motif2factors is None:
        guess = path.with_name(path.stem + ".motif2factors.txt")
        motif2factors = guess if guess.exists() else None
    genes = read_motif2factors(motif2factors) if motif2factors is not None else {}
    names, mats = [], []
    for name, hline, m in _read_row_matrices(path):
        names.append(name)
        mats.append(
            counts_to_log_odds(_finish_counts(m.tolist(), name, path, hline), UNIFORM, pseudocount)
        )
    return _singletons(names, mats, UNIFORM.copy(), f"gimme PFM {path.name}", genes)


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
