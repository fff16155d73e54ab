"""lentiMPRA element activity (Agarwal et al. 2025): GET on motif features vs ridge baselines.

Data: ``../shared/data/mpra/lentiMPRA_Agarwal2025.{val,test}_{HepG2,WTC11}.tsv.gz`` (MPRA-MNIST's
packaging of the study's cross-validation folds 9 and 10; see PROVENANCE.md). Each row is one
230-nt oligo (15-nt 5' adaptor + 200-nt element + 15-nt 3' adaptor) and its activity, the mean
log2(RNA/DNA) over replicates. Most elements were tested in both orientations, as two rows; the
two rows of an element are one *pair* (matched by the canonical element sequence, min(element,
reverse complement)), and every split inside a training fold keeps a pair on one side.

Splits are the files: train on one fold, test on the other (both directions, both cell lines).
Everything chosen (ridge alpha, GET's early-stopping epoch, the motif set) is chosen on the
training fold alone, by splits grouped by pair.

Features, from getx's own scanner (:func:`getx.motifs.sequence_features`, GET's definition: the
summed score of the merged archetype hits of each motif cluster that overlap a region):

- *element alone*: the 200-nt element scanned on its own;
- *element in its construct*: the element as a region of the whole reporter construct, the
  vector sequence left of the oligo + the oligo + the vector sequence right of it, which holds
  the minimal promoter (both taken from the MPRALegNet training code, autosome-ru/human_legnet
  ``dataset.py``, where they pad its shift augmentation). Hits that span an element's edge
  into the adaptors count, as they would in the cell.
- *sub-regions*: 9 windows of 40 nt, 20 nt apart, over the element in its construct, and the
  promoter (the vector right of the oligo) as one more region.

Models: GET's region model (:class:`getx.model.GETModel`, expression head) on (a) one region per
element and (b) the element's sub-regions with the promoter region, read out at the promoter
(as GET reads a gene's expression at its TSS region) with GET's optional absolute positions so
attention knows the windows' order; ridge on the same motif features, on the sub-region
features side by side, and on 6-mer counts of the oligo.

Run: ``python -m bench --only mpra`` (the runner), or ``python bench/mpra.py [--quick]``, which
writes ``bench/results/mpra.json`` itself.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GETX_SHARED_DATA", ROOT.parent / "shared" / "data"))
DATA = SHARED / "mpra"

NAME = "mpra"
TITLE = "lentiMPRA element activity (Agarwal et al. 2025)"

CELL_LINES = ("HepG2", "WTC11")
FOLDS = ("val", "test")
ADAPTOR_5 = "AGGACCGGATCAACT"
ADAPTOR_3 = "CATTGCGTGAACCGA"
# The reporter's vector sequence on either side of the oligo (the right one holds the minimal
# promoter's TATA box); autosome-ru/human_legnet dataset.py (forward_side / reverse_side).
VECTOR_5 = "GGCCCGCTCTAGACCTGCAGG"
VECTOR_3 = "CACTAGAGGGTATATAATGGAAGCTCGACTTCCAGCTTGGCAATCCGGTACTGT"
ELEMENT_LEN = 200
OLIGO_LEN = ELEMENT_LEN + len(ADAPTOR_5) + len(ADAPTOR_3)
SUB_WIDTH, SUB_STEP = 40, 20
MOTIF_SETS = {"jaspar2024": "jaspar2024", "GET v1": str(SHARED / "motifs")}
P_VALUE = 1e-4
KMER = 6
RIDGE_ALPHAS = np.logspace(-1, 5, 13)
INNER_FOLDS = 5
INNER_VAL = 0.1  # share of the training fold's pairs held out for GET's early stopping
QUICK_ROWS = 100  # rows per file in quick mode (whole pairs)

log = logging.getLogger(__name__)
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def available() -> str | None:
    """None when the four fold files exist; else why not."""
    missing = [p.name for p in fold_paths().values() if not p.exists()]
    if missing:
        return f"{DATA} lacks {', '.join(missing)}"
    return None


def fold_paths() -> dict[tuple[str, str], Path]:
    return {
        (cell, fold): DATA / f"lentiMPRA_Agarwal2025.{fold}_{cell}.tsv.gz"
        for cell in CELL_LINES
        for fold in FOLDS
    }


# --- data and pairing ----------------------------------------------------------------------------


def reverse_complement(seq: str) -> str:
    return seq.translate(_COMPLEMENT)[::-1]


def pair_ids(elements: list[str]) -> np.ndarray:
    """One integer per row: rows whose elements are each other's reverse complement (or equal)
    share it. Keyed by the canonical sequence min(element, reverse complement)."""
    canonical = [min(e, reverse_complement(e)) for e in elements]
    return pd.factorize(pd.Series(canonical))[0].astype(np.int64)


def grouped_split(groups: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, held out): about ``fraction`` of the groups held out, whole."""
    unique = np.unique(groups)
    rng = np.random.default_rng(seed)
    n_out = max(1, round(fraction * len(unique)))
    held = np.zeros(int(groups.max()) + 1, dtype=bool)
    held[rng.choice(unique, size=n_out, replace=False)] = True
    out = held[groups]
    return np.flatnonzero(~out), np.flatnonzero(out)


def read_fold(path: Path, rows: int | None = None) -> pd.DataFrame:
    """One fold file: seq_id, oligo (230 nt), element (its 200-nt core), activity, pair.

    ``rows``: keep about this many rows, whole pairs only (quick mode).
    """
    from getx.errors import InputError

    table = pd.read_csv(path, sep="\t")
    missing = {"seq_id", "seq", "mean_value"} - set(table.columns)
    if missing:
        raise InputError(f"lacks the column(s) {sorted(missing)}", path)
    oligo = table["seq"].str.upper()
    bad = ~oligo.str.fullmatch(f"{ADAPTOR_5}[ACGT]{{{ELEMENT_LEN}}}{ADAPTOR_3}")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"row {i + 2} ({table['seq_id'].iloc[i]}): not a {OLIGO_LEN}-nt oligo of A/C/G/T "
            "between the lentiMPRA adaptors",
            path,
        )
    element = oligo.str.slice(len(ADAPTOR_5), len(ADAPTOR_5) + ELEMENT_LEN)
    out = pd.DataFrame(
        {
            "seq_id": table["seq_id"].astype(str),
            "oligo": oligo,
            "element": element,
            "activity": table["mean_value"].astype(np.float64),
        }
    )
    out["pair"] = pair_ids(out["element"].tolist())
    if rows is not None:
        out = out[out["pair"] < rows // 2].reset_index(drop=True)
    return out


def pairing_summary(table: pd.DataFrame) -> dict[str, int]:
    """Rows, pairs (both orientations present) and singletons, with a check that the ids agree:
    the two rows of a pair carry one id stem (HepG2: X / X_Reversed:, WTC11: seqN_F / seqN_R)."""
    sizes = table.groupby("pair").size()
    stem = table["seq_id"].str.replace(r"(_Reversed:|_[FR])$", "", regex=True)
    stems_per_pair = stem.groupby(table["pair"]).nunique()
    pairs_per_stem = table["pair"].groupby(stem).nunique()
    return {
        "rows": len(table),
        "pairs": int((sizes == 2).sum()),
        "singletons": int((sizes == 1).sum()),
        "larger groups": int((sizes > 2).sum()),
        "pairs whose ids disagree": int((stems_per_pair > 1).sum() + (pairs_per_stem > 1).sum()),
    }


# --- features -------------------------------------------------------------------------------------


def construct(oligo: str) -> str:
    return VECTOR_5 + oligo + VECTOR_3


def construct_windows() -> list[tuple[int, int]]:
    """[element, its sub-windows..., promoter] in construct coordinates."""
    e0 = len(VECTOR_5) + len(ADAPTOR_5)
    subs = [(e0 + s, e0 + s + SUB_WIDTH) for s in range(0, ELEMENT_LEN - SUB_WIDTH + 1, SUB_STEP)]
    p0 = len(VECTOR_5) + OLIGO_LEN
    return [(e0, e0 + ELEMENT_LEN), *subs, (p0, p0 + len(VECTOR_3))]


@dataclass
class FoldFeatures:
    alone: np.ndarray  # (n, F) element scanned on its own
    element: np.ndarray  # (n, F) element in its construct
    regions: np.ndarray  # (n, S + 1, F) sub-windows, then the promoter, in the construct


def motif_features(table: pd.DataFrame, motifs, cache: Path | None) -> FoldFeatures:
    """The three feature sets of one fold file (cached as .npz under ``cache``)."""
    from getx.motifs import sequence_features

    if cache is not None and cache.exists():
        with np.load(cache) as z:
            return FoldFeatures(z["alone"], z["element"], z["regions"])
    alone = sequence_features(table["element"].tolist(), motifs, p_value=P_VALUE)[:, 0]
    windows = sequence_features(
        [construct(o) for o in table["oligo"]], motifs, construct_windows(), p_value=P_VALUE
    )
    feats = FoldFeatures(alone, windows[:, 0], windows[:, 1:])
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.stem + ".tmp.npz")
        np.savez_compressed(tmp, alone=alone, element=feats.element, regions=feats.regions)
        tmp.replace(cache)
    return feats


def kmer_counts(seqs: list[str], k: int = KMER) -> np.ndarray:
    """(n, 4**k) float32 counts of every k-mer (both strands not merged: orientation matters)."""
    index = {"".join(p): i for i, p in enumerate(itertools.product("ACGT", repeat=k))}
    out = np.zeros((len(seqs), 4**k), dtype=np.float32)
    for row, seq in enumerate(seqs):
        codes = [index[seq[j : j + k]] for j in range(len(seq) - k + 1)]
        np.add.at(out[row], codes, 1.0)
    return out


# --- models ---------------------------------------------------------------------------------------


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def ridge_path(
    x_train: np.ndarray, y_train: np.ndarray, x_eval: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """(len(alphas), n_eval) ridge predictions, features standardised on ``x_train`` (as
    sklearn's StandardScaler + Ridge, to rounding). One eigendecomposition serves every alpha:
    of X'X (p x p) or, with fewer rows than features, of XX' (n x n)."""
    x_train = np.asarray(x_train, np.float64)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    a = (x_train - mean) / std
    b = (np.asarray(x_eval, np.float64) - mean) / std
    y_mean = float(y_train.mean())
    yc = y_train - y_mean
    if len(alphas) == 1:  # one alpha: one linear solve, far cheaper than the eigenvectors
        if a.shape[0] >= a.shape[1]:
            gram = a.T @ a + alphas[0] * np.eye(a.shape[1])
            return (b @ np.linalg.solve(gram, a.T @ yc) + y_mean)[None]
        gram = a @ a.T + alphas[0] * np.eye(a.shape[0])
        return ((b @ a.T) @ np.linalg.solve(gram, yc) + y_mean)[None]
    if a.shape[0] >= a.shape[1]:
        lam, vec = np.linalg.eigh(a.T @ a)
        proj, basis = vec.T @ (a.T @ yc), b @ vec
    else:
        lam, vec = np.linalg.eigh(a @ a.T)
        proj, basis = vec.T @ yc, (b @ a.T) @ vec
    lam = np.clip(lam, 0.0, None)
    return np.stack([basis @ (proj / (lam + alpha)) + y_mean for alpha in alphas])


@dataclass
class RidgeFit:
    x: np.ndarray
    y: np.ndarray
    alpha: float
    inner_pearson: float

    def predict(self, x_new: np.ndarray) -> np.ndarray:
        return ridge_path(self.x, self.y, x_new, np.array([self.alpha]))[0]


def fit_ridge(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int = INNER_FOLDS
) -> RidgeFit:
    """Ridge on standardised features; alpha (of RIDGE_ALPHAS) by grouped K-fold CV on the
    training rows (pooled out-of-fold Pearson; a pair never on both sides)."""
    from sklearn.model_selection import GroupKFold

    t0 = time.perf_counter()
    oof = np.zeros((len(RIDGE_ALPHAS), len(y)))
    for tr, va in GroupKFold(min(folds, len(np.unique(groups)))).split(x, y, groups):
        oof[:, va] = ridge_path(x[tr], y[tr], x[va], RIDGE_ALPHAS)
    inner = [pearson(y, o) for o in oof]
    best = int(np.nanargmax(inner))
    log.info("ridge on %d features: %.0f s", x.shape[1], time.perf_counter() - t0)
    return RidgeFit(np.asarray(x), y, float(RIDGE_ALPHAS[best]), float(inner[best]))


@dataclass
class GETSettings:
    """A small GET for 12k training rows on a shared CPU (fixed beforehand, not tuned on any
    test fold). Early stopping on the inner validation pairs picks the epoch."""

    embed_dim: int = 128
    depth: int = 2
    num_heads: int = 4
    mlp_ratio: float = 2.0
    drop_path: float = 0.1
    motif_dropout: float = 0.3
    lr: float = 3e-4
    weight_decay: float = 0.05
    batch_size: int = 128
    max_epochs: int = 60
    patience: int = 8
    warmup_epochs: int = 2
    # One model per seed (its own inner split, initialisation and batch order); the prediction
    # is their mean. Two, not three: three did not fit the full run's time box on the shared CPU.
    seeds: tuple[int, ...] = (0, 1)
    # torch and BLAS threads: on the shared 2-core machine one thread ran a training step 7x
    # faster than two, and a ridge fit 2x (co-tenants hold the cores).
    threads: int = 1


def get_inputs(features: np.ndarray, col_max: np.ndarray) -> np.ndarray:
    """(n, R, F) motif features -> GET's input (n, R, F + 1): scaled motifs (training maximum,
    clipped to [0, 1]) and an accessibility column of 1 (every element is in the assay's
    construct)."""
    from getx.train.data import scale_features

    n, r, f = features.shape
    scaled = scale_features(features.reshape(n * r, f), col_max).reshape(n, r, f)
    return np.concatenate([scaled, np.ones((n, r, 1), np.float32)], axis=2)


@contextmanager
def limited_threads(n: int):
    """torch's intra-op threads and the BLAS pool set to ``n`` inside the block."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        torch.set_num_threads(before)


@dataclass
class TrainedGET:
    model: object
    col_max: np.ndarray
    offset: float
    readout: int  # the region whose + strand expression is the element's activity
    best_epoch: int
    inner_pearson: float
    epochs_run: int

    def predict(self, features: np.ndarray, batch: int = 1024) -> np.ndarray:
        import torch

        x = torch.from_numpy(get_inputs(features, self.col_max))
        self.model.eval()
        out = []
        with torch.no_grad():
            for b0 in range(0, len(x), batch):
                out.append(self.model(x[b0 : b0 + batch])[:, self.readout, 0])
        return torch.cat(out).double().numpy() + self.offset


def train_get(
    features: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    readout: int,
    positional: bool,
    settings: GETSettings,
    seed: int,
) -> TrainedGET:
    """GET's region model with its expression head on (n, R, F) region features; the element's
    activity is the head's + strand output at region ``readout``. MSE on the activity shifted
    to be positive (the head's softplus), AdamW with warmup + cosine (getx.train.optim), early
    stopping on the Pearson of held-out pairs of the training fold."""
    import torch

    from getx.model import GETModel, ModelConfig
    from getx.train.data import fit_scaling
    from getx.train.optim import build_optimizer

    torch.manual_seed(seed)
    inner, held = grouped_split(groups, INNER_VAL, seed)
    _, r, f = features.shape
    col_max = fit_scaling(features[inner].reshape(-1, f), np.arange(len(inner) * r))
    offset = float(y[inner].min()) - 1.0  # targets >= 1: inside the softplus's linear range
    x = torch.from_numpy(get_inputs(features, col_max))
    target = torch.from_numpy((y - offset).astype(np.float32))
    config = ModelConfig(
        n_features=f + 1,
        task="expression",
        embed_dim=settings.embed_dim,
        depth=settings.depth,
        num_heads=settings.num_heads,
        mlp_ratio=settings.mlp_ratio,
        drop_path=settings.drop_path,
        motif_dropout=settings.motif_dropout,
        positional=positional,
        max_len=max(r, 2),
    )
    model = GETModel(config)
    model.head.warm_start(float(target[inner].mean()))
    steps_per_epoch = -(-len(inner) // settings.batch_size)
    optimizer, scheduler = build_optimizer(
        model,
        settings.lr,
        settings.weight_decay,
        1.0,
        settings.max_epochs * steps_per_epoch,
        settings.warmup_epochs * steps_per_epoch,
        settings.lr / 100,
    )
    generator = torch.Generator().manual_seed(seed)
    inner_t = torch.from_numpy(inner)
    keep = torch.ones(settings.batch_size, dtype=torch.bool)
    best = (-np.inf, 0, None)
    epoch = 0
    for epoch in range(1, settings.max_epochs + 1):
        model.train()
        order = inner_t[torch.randperm(len(inner_t), generator=generator)]
        for b0 in range(0, len(order), settings.batch_size):
            idx = order[b0 : b0 + settings.batch_size]
            pred = model(x[idx])[:, readout, 0]
            loss = model.head.loss(pred, target[idx], keep[: len(idx)], "mse")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        trained = TrainedGET(model, col_max, offset, readout, epoch, float("nan"), epoch)
        r_held = pearson(y[held], trained.predict(features[held]))
        if r_held > best[0]:
            best = (r_held, epoch, {k: v.clone() for k, v in model.state_dict().items()})
        elif epoch - best[1] >= settings.patience:
            break
    if best[2] is not None:
        model.load_state_dict(best[2])
    return TrainedGET(model, col_max, offset, readout, best[1], float(best[0]), epoch)


# --- the benchmark --------------------------------------------------------------------------------


def pair_bootstrap(
    observed: np.ndarray,
    predicted: np.ndarray,
    pairs: np.ndarray,
    reps: int,
    seed: int,
    baseline: np.ndarray | None = None,
) -> tuple[float, float]:
    """95% interval of Pearson over resampled pairs (both rows of a pair drawn together); with
    ``baseline``, of Pearson(predicted) minus Pearson(baseline) on the same resamples."""
    rng = np.random.default_rng(seed)
    order = np.argsort(pairs, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(pairs[order]) != 0])
    sizes = np.diff(np.r_[starts, len(pairs)])
    draws = np.empty(reps)
    for k in range(reps):
        pick = rng.integers(0, len(starts), len(starts))
        rows = order[np.repeat(starts[pick], sizes[pick]) + _ranges(sizes[pick])]
        draws[k] = pearson(observed[rows], predicted[rows])
        if baseline is not None:
            draws[k] -= pearson(observed[rows], baseline[rows])
    lo, hi = np.nanpercentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


def _ranges(sizes: np.ndarray) -> np.ndarray:
    """0..size-1 for each size, concatenated."""
    ends = np.cumsum(sizes)
    return np.arange(ends[-1]) - np.repeat(ends - sizes, sizes)


@dataclass
class Fold:
    table: pd.DataFrame
    motifs: dict[str, FoldFeatures]  # by motif set name
    kmers: np.ndarray


@dataclass
class Result:
    key: str  # short name, the same in every table
    label: str  # the table's model column
    predicted: np.ndarray  # on the test fold's rows
    how: str  # what was chosen on the training fold, and how


def _models(train: Fold, test: Fold, settings: GETSettings):
    """Every model of one direction fitted on ``train`` and its predictions on ``test``; the
    motif set chosen and the inner-CV figures that chose it."""
    y = train.table["activity"].to_numpy()
    groups = train.table["pair"].to_numpy()
    # The motif set: best grouped inner-CV ridge on the element-in-construct features.
    set_fits = {name: fit_ridge(f.element, y, groups) for name, f in train.motifs.items()}
    inner = {name: fit.inner_pearson for name, fit in set_fits.items()}
    chosen = max(inner, key=inner.get)
    a, b = train.motifs[chosen], test.motifs[chosen]
    n_sub = a.regions.shape[1] - 1
    out = []
    gets = (
        (
            "get_element",
            "GET, one region per element (ours)",
            a.element[:, None],
            b.element[:, None],
            0,
            False,
        ),
        (
            "get_subregions",
            f"GET, {n_sub} sub-regions + promoter region (ours)",
            a.regions,
            b.regions,
            n_sub,
            True,
        ),
    )
    observed = test.table["activity"].to_numpy()
    for key, label, x_train, x_test, readout, positional in gets:
        t0 = time.perf_counter()
        fits, preds = [], []
        for seed in settings.seeds:
            fits.append(train_get(x_train, y, groups, readout, positional, settings, seed))
            preds.append(fits[-1].predict(x_test))
            log.info(
                "%s seed %d: epoch %d of %d, %.0f s",
                key,
                seed,
                fits[-1].best_epoch,
                fits[-1].epochs_run,
                time.perf_counter() - t0,
            )
        singles = [pearson(observed, p) for p in preds]
        how = (
            f"mean of {len(fits)} seeds; epochs "
            + "/".join(f"{f.best_epoch} of {f.epochs_run}" for f in fits)
            + " by inner-val Pearson "
            + "/".join(f"{f.inner_pearson:.3f}" for f in fits)
            + f"; single seeds on the test fold {min(singles):.3f}-{max(singles):.3f}; "
            f"{time.perf_counter() - t0:.0f} s"
        )
        out.append(Result(key, label, np.mean(preds, axis=0), how))
    fitted_sets = [
        (
            "ridge_motifs" if name == chosen else "ridge_other_set",
            f"ridge on motif features, element in construct, {name} (baseline)",
            fit,
            test.motifs[name].element,
        )
        for name, fit in sorted(set_fits.items(), key=lambda kv: kv[0] != chosen)
    ]
    ridges = [
        (
            "ridge_alone",
            f"ridge on motif features, element alone, {chosen} (baseline)",
            a.alone,
            b.alone,
        ),
        (
            "ridge_subregions",
            f"ridge on the {n_sub} sub-region + promoter features side by side, {chosen} "
            "(baseline)",
            a.regions.reshape(len(a.regions), -1),
            b.regions.reshape(len(b.regions), -1),
        ),
        (
            "ridge_kmers",
            f"ridge on {KMER}-mer counts of the oligo (baseline)",
            train.kmers,
            test.kmers,
        ),
    ]
    fitted = (
        fitted_sets[:1]
        + [
            (key, label, fit_ridge(x_train, y, groups), x_test)
            for key, label, x_train, x_test in ridges
        ]
        + fitted_sets[1:]
    )
    for key, label, fit, x_test in fitted:
        how = (
            f"alpha {fit.alpha:g} by grouped {INNER_FOLDS}-fold CV Pearson {fit.inner_pearson:.3f}"
        )
        out.append(Result(key, label, fit.predict(x_test), how))
    return out, chosen, inner


def _load_folds(cell: str, work: Path, quick: bool, motif_sets: dict) -> dict[str, Fold]:
    folds = {}
    for fold in FOLDS:
        table = read_fold(fold_paths()[(cell, fold)], QUICK_ROWS if quick else None)
        feats = {}
        for name, motifs in motif_sets.items():
            stem = f"{name.replace(' ', '_')}.{cell}.{fold}"
            cache = None if quick else work / "features" / f"{stem}.npz"
            feats[name] = motif_features(table, motifs, cache)
        folds[fold] = Fold(table, feats, kmer_counts(table["oligo"].tolist()))
    return folds


PUBLISHED = [
    {
        "method": "MPRALegNet (sequence CNN), the study's 10-fold cross-validation (each "
        "model trained on about 8 folds, 8x the rows of one fold here)",
        "figure": f"Pearson {cell}",
        "value": value,
        "source": "Agarwal et al. 2025, Nature 639:411, as quoted under 'Original Benchmark "
        "Quality' in autosome-imtf/MPRA-MNIST mpramnist/Agarwal/README.md (not checked "
        "against the paper's figure)",
    }
    for cell, value in (("HepG2", 0.83), ("WTC11", 0.79))
] + [
    {
        "method": "LegNet re-trained by MPRA-MNIST: folds 1-8, early stopping on fold 9 (the "
        "val file here), tested on fold 10 (the test file here)",
        "figure": f"Pearson {cell}",
        "value": value,
        "source": "autosome-imtf/MPRA-MNIST mpramnist/Agarwal/README.md, 'Achieved Quality'",
    }
    for cell, value in (("HepG2", 0.804), ("WTC11", 0.727))
]


def run(work: Path, quick: bool) -> dict:
    """The benchmark (see the module docstring). ``quick``: 100 rows per file and a 1-epoch
    GET of width 32, so the whole path runs in seconds."""
    settings = (
        GETSettings(max_epochs=1, patience=1, embed_dim=32, depth=1, seeds=(0,))
        if quick
        else GETSettings()
    )
    with limited_threads(settings.threads):
        return _run(Path(work), quick, settings)


def _run(work: Path, quick: bool, settings: GETSettings) -> dict:
    from getx.motifs import load_motifs

    reps = 50 if quick else 1000
    # Quick mode scans with one motif set (the choice between sets then has one candidate).
    specs = list(MOTIF_SETS.items())[: 1 if quick else None]
    motif_sets = {name: load_motifs(spec) for name, spec in specs}
    tables, notes, pairing, figures = [], [], {}, {}
    for cell in CELL_LINES:
        folds = _load_folds(cell, work, quick, motif_sets)
        for name, fold in folds.items():
            pairing[f"{cell} {name}"] = pairing_summary(fold.table)
        for train, test in (("val", "test"), ("test", "val")):
            results, chosen, inner = _models(folds[train], folds[test], settings)
            observed = folds[test].table["activity"].to_numpy()
            pairs = folds[test].table["pair"].to_numpy()
            kmers = next(res.predicted for res in results if res.key == "ridge_kmers")
            rows = []
            for i, res in enumerate(results):
                r = pearson(observed, res.predicted)
                rho = spearman(observed, res.predicted)
                lo, hi = pair_bootstrap(observed, res.predicted, pairs, reps, seed=i)
                if res.key == "ridge_kmers":
                    versus = ["n/a", "n/a"]
                else:
                    # The same resamples for the model and the 6-mer ridge: a paired difference.
                    d_lo, d_hi = pair_bootstrap(
                        observed, res.predicted, pairs, reps, seed=i, baseline=kmers
                    )
                    versus = [
                        round(r - pearson(observed, kmers), 4),
                        [round(d_lo, 3), round(d_hi, 3)],
                    ]
                rows.append(
                    [
                        res.label,
                        round(r, 4),
                        round(rho, 4),
                        len(observed),
                        [round(lo, 3), round(hi, 3)],
                        *versus,
                        res.how,
                    ]
                )
                figures[(cell, train, res.key)] = r
                # In the log too, so a run stopped before the end leaves what it measured.
                log.info(
                    "%s %s->%s %s: Pearson %.4f, Spearman %.4f", cell, train, test, res.key, r, rho
                )
            tables.append(
                {
                    "title": f"{cell}, train on the {train} fold ({len(folds[train].table)} rows), "
                    f"test on the {test} fold",
                    "columns": [
                        "model",
                        "Pearson",
                        "Spearman",
                        "n",
                        "Pearson 95% CI (pairs resampled)",
                        "minus 6-mer ridge (Pearson)",
                        "95% CI of the difference (paired)",
                        "how it was fitted (on the training fold)",
                    ],
                    "rows": rows,
                }
            )
            notes.append(
                f"{cell} {train}->{test}: "
                + orientation_ceiling(folds[test].table)
                + "; motif set "
                f"{chosen}, chosen by grouped inner-CV ridge "
                "Pearson on the training fold ("
                + ", ".join(f"{k} {v:.3f}" for k, v in inner.items())
                + ")"
            )
    return {
        "summary": _summary(figures),
        "tables": tables,
        "published": PUBLISHED,
        "notes": _notes(pairing, settings) + notes,
        "pairing": pairing,
    }


def orientation_ceiling(table: pd.DataFrame) -> str:
    """Reference points on a test fold for inputs blind to orientation (the element-alone
    features are the same for an element and its reverse complement): the Pearson of each row's
    activity with its pair's mean activity (the best such inputs could do, in squared error),
    and of one orientation's activity with the other's."""
    activity = table["activity"].to_numpy()
    pair_mean = table.groupby("pair")["activity"].transform("mean").to_numpy()
    both = table[table.groupby("pair")["pair"].transform("size") == 2].sort_values("pair")
    first, second = both["activity"].to_numpy()[0::2], both["activity"].to_numpy()[1::2]
    return (
        f"test-fold activity vs its pair's mean activity Pearson "
        f"{pearson(activity, pair_mean):.3f}, "
        f"one orientation vs the other {pearson(first, second):.3f} ({len(first)} pairs)"
    )


def spearman(observed: np.ndarray, predicted: np.ndarray) -> float:
    from scipy import stats

    return float(stats.spearmanr(observed, predicted)[0])


def _summary(figures: dict[tuple[str, str, str], float]) -> str:
    def line(key: str) -> str:
        return ", ".join(
            f"{cell} {figures[(cell, 'val', key)]:.3f}/{figures[(cell, 'test', key)]:.3f}"
            for cell in CELL_LINES
        )

    return (
        "Activity of held-out lentiMPRA elements, Pearson (train on val, test on test / the "
        f"reverse): GET on one motif-feature region per element {line('get_element')}; GET on "
        f"sub-regions + promoter {line('get_subregions')}; ridge on the same motif features "
        f"{line('ridge_motifs')}; ridge on 6-mer counts {line('ridge_kmers')}."
    )


def _notes(pairing: dict[str, dict[str, int]], settings: GETSettings) -> list[str]:
    pairs = "; ".join(
        f"{name}: {p['rows']} rows = {p['pairs']} pairs + {p['singletons']} singletons"
        for name, p in pairing.items()
    )
    return [
        "Splits are the files: MPRA-MNIST's val and test files are the study's folds 9 and 10. "
        "Each direction trains on one and tests on the other; n counts rows (both orientations "
        "of an element are two rows, so the interval resamples pairs, not rows).",
        f"Orientation pairs, matched by min(element, reverse complement); the seq_id stems "
        f"agree in every pair: {pairs}. No element is in both folds.",
        "Chosen on the training fold only, with splits that keep a pair together: the ridge "
        f"alpha (grouped {INNER_FOLDS}-fold CV over {len(RIDGE_ALPHAS)} values 0.1-1e5), the "
        f"motif set (the same CV on the element-in-construct features), GET's epoch (early "
        f"stopping on {INNER_VAL:.0%} of the pairs, patience {settings.patience}).",
        f"GET settings, fixed beforehand: embed {settings.embed_dim}, depth {settings.depth}, "
        f"{settings.num_heads} heads, MLP ratio {settings.mlp_ratio}, drop path "
        f"{settings.drop_path}, motif dropout {settings.motif_dropout}, AdamW lr {settings.lr} "
        f"(warmup {settings.warmup_epochs} epochs, cosine to lr/100 over {settings.max_epochs}), "
        f"weight decay {settings.weight_decay}, batch {settings.batch_size}, MSE on the "
        "activity shifted by the training minimum - 1 (the expression head's softplus). "
        "Inputs: motif features divided by their training maximum and clipped to [0, 1] "
        "(GET's scaling), accessibility column 1.",
        f"Motif features: getx's scanner at p < {P_VALUE:g}, GET's region features (summed "
        "merged archetype hit scores per cluster). Construct flanks: "
        f"{VECTOR_5} + oligo + {VECTOR_3} (vector sequence either side of the oligo, the right "
        "one holding the minimal promoter), from autosome-ru/human_legnet dataset.py "
        f"(forward_side / reverse_side). Sub-regions: {SUB_WIDTH}-nt windows every "
        f"{SUB_STEP} nt over the element, then the {len(VECTOR_3)}-nt promoter side as the "
        "region GET's head reads (as GET reads a gene at its TSS region), with GET's "
        "sinusoidal positions on.",
        f"6-mer baseline: counts of all {4**KMER} 6-mers of the 230-nt oligo, standardised, "
        "ridge. What a sequence CNN reads that these inputs lack: docs/benchmarks_mpra.md.",
    ]


def main() -> None:
    import argparse
    import datetime
    import json
    import platform
    import subprocess
    import tempfile

    from getx.io.files import atomic_output

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny size (seconds)")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / f"getx-bench-{NAME}"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / f"{NAME}.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    reason = available()
    if reason:
        raise SystemExit(f"mpra: skipped, {reason}")
    t0 = time.perf_counter()
    result = run(args.work, args.quick)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    result = {
        "name": NAME,
        "title": TITLE,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared), "
        f"Python {platform.python_version()}",
        "commit": commit,
        "quick": args.quick,
        "seconds": round(time.perf_counter() - t0, 1),
        **result,
    }
    with atomic_output(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")
    print(result["summary"])


if __name__ == "__main__":
    main()
