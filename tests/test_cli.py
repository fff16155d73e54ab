"""Bad values reach the user as one line and exit code 2, never a traceback."""

from __future__ import annotations

# Imported before any CliRunner call: Lightning's log handler keeps the stderr it was imported
# under, and CliRunner closes its own after each call ("--- Logging error --- Traceback").
import lightning  # noqa: F401
import pytest
from typer.testing import CliRunner

from cli_checks import error_line
from getx.cli import app
from synthetic import make_synthetic_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    return make_synthetic_store(root / "syn.zarr", chroms=2, regions_per_chrom=64)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # ModelConfig's checks
        (["--distance-buckets", "1"], "distance_buckets 1 must be 0 (off) or at least 2"),
        (["--motif-dropout", "1.5"], "motif_dropout 1.5 must lie in [0, 1)"),
        (["--task", "bogus"], "task 'bogus' is not one of ('expression', 'pretrain', "),
        (["--arch", "cnn"], "arch 'cnn' is not one of ('transformer', 'mlp')"),
        # DataConfig's, the data's, the training's
        (["--regions", "8", "--min-context", "5"], "min_context 5 must lie in 0..4"),
        (["--holdout-chrom", "chrZ"], "held-out chromosome ['chrZ'] not in the store"),
        (["--loss", "l1"], "loss 'l1': use poisson or mse"),
        (["--preset", "huge"], "unknown preset 'huge'"),
    ],
)
def test_bad_training_settings(store, tmp_path, args, message):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["finetune", str(store), "--out", str(out), *args])
    assert message in error_line(result)
    assert not (out / "checkpoints").exists()


def test_missing_files_and_settings(store, tmp_path):
    runner = CliRunner()
    line = error_line(
        runner.invoke(app, ["predict", str(tmp_path / "no.ckpt"), str(store), "-o", "x"])
    )
    assert line == f"Error: {tmp_path / 'no.ckpt'}: checkpoint not found"
    assert "missing STORE and --out" in error_line(runner.invoke(app, ["pretrain"]))
    missing = tmp_path / "none.yaml"
    line = error_line(runner.invoke(app, ["finetune", "--config", str(missing)]))
    assert line == f"Error: {missing}: no run config here"
