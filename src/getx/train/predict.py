"""Expression prediction from a trained checkpoint: one window around each TSS region.

``load_model(checkpoint)`` returns a :class:`Predictor`; ``Predictor.predict(store, cell_type)``
returns one row per (gene, strand, TSS region) of the store's gene index whose region is
accessible in the cell type, so genes sharing a region (bidirectional promoters, or two genes on
one strand) each keep their row.

The pieces are public for interpretation, which runs the same windows: :func:`tss_windows` gives
each TSS region its window (the TSS in the middle, moved inside the chromosome near its ends as
training windows are, so the TSS sits at its own position there; padded only on a chromosome
shorter than a window), ``Predictor.inputs`` the scaled model inputs of a store and cell type,
and :meth:`WindowInputs.batch` the (B, R, F+1) inputs, padding mask and positions of windows.

Table columns: gene_id, gene_name, cell_type, region (store row), chrom, start, end, strand
('+'/'-'), predicted, observed (the store's measured expression; NaN when not measured).
:func:`write_predictions` writes such a table as that TSV or as a genes x cell types AnnData
(:func:`to_anndata`; both layouts in docs/format.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from getx.errors import InputError
from getx.io.files import OutputKind, atomic_output, table_kind

log = logging.getLogger(__name__)

COLUMNS = [
    "gene_id",
    "gene_name",
    "cell_type",
    "region",
    "chrom",
    "start",
    "end",
    "strand",
    "predicted",
    "observed",
]


def _resolve(checkpoint: str | Path) -> Path:
    path = Path(checkpoint)
    if path.is_dir():
        candidate = path / "checkpoints" / "last.ckpt"
        if candidate.exists():
            return candidate
        if not (path / "config.yaml").exists():
            raise InputError("not a run directory (no config.yaml) nor a checkpoint file", path)
        if any((path / "checkpoints").glob("*.ckpt")):
            raise InputError(
                "the run has not finished (no checkpoints/last.ckpt): continue it with "
                "`--resume`, or give one of its checkpoints/*.ckpt",
                path,
            )
        raise InputError("run directory has no checkpoints/last.ckpt", path)
    if not path.exists():
        raise InputError("checkpoint not found", path)
    return path


@dataclass
class TSSWindows:
    """One window per TSS region: its store rows and where the TSS region sits in it."""

    region: np.ndarray  # (N,) int64 store row of each TSS region, increasing
    rows: np.ndarray  # (N, R) int64 the window's store rows in order, -1 = padding (at the end)
    focus: np.ndarray  # (N,) int64 position of the TSS region in its window

    def __len__(self) -> int:
        return len(self.region)


def tss_windows(
    region_chroms: np.ndarray, usable: np.ndarray, regions: np.ndarray, size: int
) -> TSSWindows:
    """Windows of ``size`` consecutive usable rows, one per TSS region in ``regions``.

    ``region_chroms`` (n,) is the store's chrom column and ``usable`` (n,) bool the rows windows
    may hold (every row, or the accessible ones with ``drop_zero_accessibility``); ``regions``
    must be usable. Each window holds its TSS region at position size // 2 when the chromosome
    has that many usable rows on each side, and otherwise the chromosome's first (or last)
    ``size`` usable rows, the TSS at its own position; a chromosome with fewer rows gives a window
    padded at the end.
    """
    chroms = np.asarray(region_chroms).astype(str)
    regions = np.unique(np.asarray(regions, dtype=np.int64))
    if len(regions) and not np.asarray(usable, bool)[regions].all():
        raise ValueError("TSS regions must be usable rows")
    windows = np.full((len(regions), size), -1, dtype=np.int64)
    focus = np.zeros(len(regions), dtype=np.int64)
    for chrom in np.unique(chroms[regions]):
        rows = np.flatnonzero((chroms == chrom) & usable)
        here = np.flatnonzero(chroms[regions] == chrom)
        index = np.searchsorted(rows, regions[here])
        start = np.clip(index - size // 2, 0, max(len(rows) - size, 0))
        span = start[:, None] + np.arange(size)[None, :]
        inside = span < len(rows)
        windows[here] = np.where(inside, rows[np.minimum(span, len(rows) - 1)], -1)
        focus[here] = index - start
    return TSSWindows(regions, windows, focus)


@dataclass
class WindowInputs:
    """A store's model inputs in one cell type, scaled as the checkpoint was trained."""

    features: np.ndarray  # (n, F) float32 scaled motif features
    access: np.ndarray  # (n,) float32 the accessibility input column
    centres: np.ndarray  # (n,) int64 region centres in bp
    usable: np.ndarray  # (n,) bool rows a window may hold
    accessible: np.ndarray  # (n,) bool raw accessibility > 0

    def batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For windows ``rows`` (B, R): inputs x (B, R, F+1) float32 (motifs, then accessibility;
        0 on padding), the padding mask (B, R) bool and region positions (B, R) float32."""
        from getx.train.data import window_positions

        valid = rows >= 0
        F = self.features.shape[1]
        x = np.zeros((*rows.shape, F + 1), dtype=np.float32)
        x[valid, :F] = self.features[rows[valid]]
        x[valid, F] = self.access[rows[valid]]
        return x, ~valid, window_positions(self.centres, rows)


@dataclass
class Predictor:
    """A trained model with the data settings and feature scaling it was trained with."""

    model: Any  # GETModel, eval mode
    hparams: dict[str, Any]
    source: Path

    @property
    def regions(self) -> int:
        return int(self.hparams["data"]["regions"])

    @property
    def holdouts(self) -> tuple[list[str], list[str]]:
        """The chromosomes and cell types the model's training held out."""
        data = self.hparams["data"]
        return list(data.get("holdout_chroms", [])), list(data.get("holdout_cell_types", []))

    def predict_cell_types(
        self, store: Any, cell_types: list[str] | None = None, **options: Any
    ) -> pd.DataFrame:
        """:meth:`predict` for each of ``cell_types`` (default: every one in the store), one
        table."""
        from getx.store import open_store

        if not hasattr(store, "cell_type"):
            store = open_store(store)
        names = list(cell_types) if cell_types else list(store.cell_types)
        missing = [n for n in names if n not in store.cell_types]
        if missing:
            raise InputError(f"cell types {missing} are not in the store", store.path)
        tables = [self.predict(store, name, **options) for name in names]
        return pd.concat(tables, ignore_index=True)

    def check_store(self, store: Any) -> Any:
        """The store (opened from a path if needed), refused unless its motif features are the
        checkpoint's (names, order and, when both record it, the motif-set checksum)."""
        from getx.store import open_store

        if not hasattr(store, "cell_type"):
            store = open_store(store)
        if self.model.config.task != "expression":
            raise InputError(f"checkpoint was trained for {self.model.config.task!r}", self.source)
        if list(store.feature_names) != list(self.hparams["feature_names"]):
            raise InputError(
                "store features differ from the checkpoint's "
                f"({len(store.feature_names)} vs {len(self.hparams['feature_names'])} motif "
                "clusters, or another order): prepare the store with the model's motif set",
                store.path,
            )
        trained = self.hparams.get("motif_checksum")
        given = (store.attrs.get("motif_set") or {}).get("checksum")
        if trained and given and trained != given:
            raise InputError(
                f"store motif set (checksum {given[:12]}) is not the one the checkpoint was "
                f"trained on ({trained[:12]}): prepare the store with the model's motif set",
                store.path,
            )
        return store

    def inputs(self, store: Any, cell_type: str) -> WindowInputs:
        """The model inputs of ``store`` (a checked store) in ``cell_type``."""
        from getx.train.config import DataConfig
        from getx.train.data import (
            cell_type_arrays,
            region_centres,
            scale_features,
            usable_rows,
        )

        config = DataConfig(**self.hparams["data"])
        arrays = cell_type_arrays(store.cell_type(cell_type), config)
        features = scale_features(store.read_features(), np.asarray(self.hparams["scaling"]))
        return WindowInputs(
            features,
            arrays.access_input,
            region_centres(store.regions),
            usable_rows(arrays, config),
            arrays.accessible,
        )

    def windows(self, store: Any, inputs: WindowInputs, regions: np.ndarray) -> TSSWindows:
        """The prediction window of each TSS region in ``regions`` (accessible rows)."""
        return tss_windows(store.regions["chrom"].to_numpy(), inputs.usable, regions, self.regions)

    def predict(
        self, store: Any, cell_type: str, batch_size: int = 32, device: str | None = None
    ) -> pd.DataFrame:
        """Predicted expression for every gene with an accessible TSS region in ``cell_type``."""
        import torch

        store = self.check_store(store)
        inputs = self.inputs(store, cell_type)
        genes = store.genes.reset_index(drop=True)
        keep = inputs.accessible[genes["region"].to_numpy()]
        observed = np.asarray(store.cell_type(cell_type).gene_expression, np.float64)[keep]
        genes = genes.loc[keep]
        windows = self.windows(store, inputs, genes["region"].to_numpy())

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = self.model.to(device)
        out = np.zeros((len(windows), 2), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(windows), batch_size):
                part = slice(start, start + batch_size)
                x, pad, positions = (
                    torch.from_numpy(a).to(device) for a in inputs.batch(windows.rows[part])
                )
                pred = model(x, pad, positions=positions).float()
                focus = torch.from_numpy(windows.focus[part]).to(device)
                out[part] = pred[torch.arange(len(focus), device=device), focus].cpu().numpy()
        slots = np.searchsorted(windows.region, genes["region"].to_numpy())
        strand_idx = (genes["strand"].to_numpy() == "-").astype(np.int64)
        regions = store.regions
        table = pd.DataFrame(
            {
                "gene_id": genes["gene_id"].to_numpy(),
                "gene_name": genes["gene_name"].to_numpy(),
                "cell_type": cell_type,
                "region": genes["region"].to_numpy(),
                "chrom": regions["chrom"].to_numpy()[genes["region"]],
                "start": regions["start"].to_numpy()[genes["region"]],
                "end": regions["end"].to_numpy()[genes["region"]],
                "strand": genes["strand"].to_numpy(),
                "predicted": out[slots, strand_idx] if len(slots) else np.zeros(0),
                "observed": observed,
            },
            columns=COLUMNS,
        )
        log.info("predicted %d gene rows from %d TSS windows", len(table), len(windows))
        return table


# What prediction reads from a checkpoint's hyper_parameters (written by GETLightning).
_HPARAMS = ("model", "data", "scaling", "feature_names")


def load_model(checkpoint: str | Path) -> Predictor:
    """Load a getx training checkpoint (a ``.ckpt`` file or a run directory) for prediction."""
    from getx.model import GETModel, ModelConfig, add_lora, merge_lora
    from getx.model.checkpoint import read_checkpoint

    path = _resolve(checkpoint)
    ckpt = read_checkpoint(path)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("hyper_parameters"), dict):
        raise InputError(
            "not a getx training checkpoint (no hyper_parameters); published GET weights "
            "need a run: `getx finetune --init-checkpoint`",
            path,
        )
    hparams = dict(ckpt["hyper_parameters"])
    missing = [k for k in _HPARAMS if k not in hparams] + (
        [] if isinstance(ckpt.get("state_dict"), dict) else ["state_dict"]
    )
    if missing:
        raise InputError(f"not a complete getx training checkpoint (no {missing[0]})", path)
    model = GETModel(ModelConfig.from_dict(hparams["model"]))
    if hparams.get("lora_rank"):
        add_lora(model, rank=hparams["lora_rank"], alpha=hparams.get("lora_alpha"))
    state = {k[len("model.") :]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:  # torch lists every missing or misshapen weight
        first = str(error).splitlines()[1:2] or [str(error)]
        raise InputError(
            f"weights do not fit the model they describe: {first[0].strip()}", path
        ) from None
    if hparams.get("lora_rank"):
        merge_lora(model)
    model.eval()
    return Predictor(model=model, hparams=hparams, source=path)


def predict(checkpoint: str | Path, store: Any, cell_type: str) -> pd.DataFrame:
    """``load_model(checkpoint).predict(store, cell_type)``."""
    return load_model(checkpoint).predict(store, cell_type)


FORMATS = ("tsv", "h5ad")
GENE_COLUMNS = ["gene_id", "gene_name", "strand", "region", "chrom", "start", "end"]


def to_anndata(
    table: pd.DataFrame,
    holdout_chroms: Sequence[str] = (),
    holdout_cell_types: Sequence[str] = (),
) -> Any:
    """A prediction table as a gene rows x cell types AnnData.

    ``X``: predicted (float32; NaN where the gene's TSS region is closed in that cell type, so
    nothing was predicted); ``layers["observed"]``: measured expression (NaN: not measured);
    ``obs``: the gene row (GENE_COLUMNS) and ``held_out_chromosome``; ``var``:
    ``held_out_cell_type``; ``uns["getx"]``: the held-out lists. Gene rows in table order of
    first appearance; ``obs_names`` are gene ids, made unique for genes with several rows.
    """
    import anndata

    key = ["gene_id", "strand", "region"]
    genes = table.drop_duplicates(key)[GENE_COLUMNS].reset_index(drop=True)
    cell_types = list(pd.unique(table["cell_type"]))
    row = pd.MultiIndex.from_frame(genes[key]).get_indexer(pd.MultiIndex.from_frame(table[key]))
    col = pd.Index(cell_types).get_indexer(table["cell_type"])
    matrices = {}
    for name in ("predicted", "observed"):
        values = np.full((len(genes), len(cell_types)), np.nan, dtype=np.float32)
        values[row, col] = table[name].to_numpy(dtype=np.float32)
        matrices[name] = values
    obs = genes.assign(
        gene_id=genes["gene_id"].astype(str),
        gene_name=genes["gene_name"].astype(str),
        chrom=genes["chrom"].astype(str),
        held_out_chromosome=genes["chrom"].isin(list(holdout_chroms)).to_numpy(),
    )
    obs.index = pd.Index(obs["gene_id"].to_numpy(), dtype=str)
    var = pd.DataFrame(
        {"held_out_cell_type": np.isin(cell_types, list(holdout_cell_types))},
        index=pd.Index(cell_types, dtype=str),
    )
    adata = anndata.AnnData(
        X=matrices["predicted"],
        obs=obs,
        var=var,
        layers={"observed": matrices["observed"]},
        uns={
            "getx": {
                "holdout_chroms": list(holdout_chroms),
                "holdout_cell_types": list(holdout_cell_types),
            }
        },
    )
    adata.obs_names_make_unique()
    return adata


def _is_prediction_h5ad(path: Path) -> bool:
    """An AnnData written by :func:`write_predictions` (its ``uns/getx`` and observed layer)."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            return "uns/getx" in handle and "layers/observed" in handle
    except (OSError, ValueError):
        return False


PREDICTION_KINDS = {
    "tsv": table_kind("prediction table", COLUMNS),
    "h5ad": OutputKind("prediction AnnData", recognise=_is_prediction_h5ad),
}


def prediction_format(out: str | Path, output_format: str | None = None) -> str:
    """``output_format``, checked, or by ``out``'s suffix: h5ad for .h5ad, else tsv."""
    output_format = output_format or ("h5ad" if Path(out).suffix == ".h5ad" else "tsv")
    if output_format not in FORMATS:
        raise InputError(f"format {output_format!r} is not one of {FORMATS}")
    return output_format


def write_predictions(
    table: pd.DataFrame,
    out: str | Path,
    output_format: str | None = None,
    predictor: Predictor | None = None,
) -> Path:
    """Write a prediction table atomically as ``tsv`` or ``h5ad`` (None: h5ad when ``out`` ends
    in .h5ad), replacing only an earlier prediction file; ``predictor`` supplies the held-out
    split recorded in the AnnData."""
    out = Path(out)
    output_format = prediction_format(out, output_format)
    with atomic_output(out, PREDICTION_KINDS[output_format]) as tmp:
        if output_format == "tsv":
            table.to_csv(tmp, sep="\t", index=False, na_rep="NA")
        else:
            holdouts = predictor.holdouts if predictor is not None else ([], [])
            to_anndata(table, *holdouts).write_h5ad(tmp)
    return out
