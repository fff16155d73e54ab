"""AnnData input: one guarded ``.h5ad`` reader for RNA and ATAC counts alike."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from getx.errors import InputError

if TYPE_CHECKING:
    import anndata


def read_h5ad(path: str | Path) -> anndata.AnnData:
    """The AnnData at ``path``, or an :class:`InputError` naming the file.

    anndata and h5py raise many exception types for a missing, truncated or foreign file; a
    user needs one line that names the file, not their traceback.
    """
    import anndata  # heavy: imported when an .h5ad is read, not with getx.io

    try:
        return anndata.read_h5ad(path)
    except Exception as err:  # anndata raises many types for corrupt files
        raise InputError(f"cannot read AnnData: {err}", Path(path)) from None
