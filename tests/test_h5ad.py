"""The guarded .h5ad reader: a broken file is one line naming it, for RNA and ATAC alike."""

from __future__ import annotations

import pandas as pd
import pytest

from getx.errors import InputError
from getx.io.accessibility import counts_from_h5ad
from getx.io.expression import read_pseudobulk


@pytest.mark.parametrize("content", [b"", b"not an HDF5 file\n"])
def test_unreadable_h5ad_names_the_file(tmp_path, content):
    path = tmp_path / "broken.h5ad"
    path.write_bytes(content)
    peaks = pd.DataFrame({"chrom": ["chr1"], "start": [0], "end": [10]})
    for read in (lambda: read_pseudobulk(path), lambda: counts_from_h5ad(path, "ct", peaks)):
        with pytest.raises(InputError, match="cannot read AnnData") as err:
            read()
        assert str(path) in str(err.value) and "\n" not in str(err.value)
