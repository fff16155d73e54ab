"""Training settings: one config for the library and the CLI, presets, saved configs, options."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from getx.cli import app
from getx.errors import InputError
from getx.train.commands import _options, config_from_options
from getx.train.config import DataConfig, TrainConfig, read_config


def test_library_and_cli_default_to_the_same_settings():
    library = TrainConfig(store="s.zarr", out="run")
    assert library == TrainConfig.from_preset("small", "s.zarr", "run")
    assert config_from_options("finetune", {"store": "s.zarr", "out": "run"}) == library
    pretrain = config_from_options("pretrain", {"store": "s.zarr", "out": "run"})
    assert pretrain == TrainConfig.from_preset("small", "s.zarr", "run", task="pretrain")
    assert pretrain.task == "pretrain" and pretrain.data == library.data


def test_paper_preset_carries_gets_training():
    pre = config_from_options("pretrain", {"store": "s", "out": "o", "preset": "paper"})
    assert (pre.data.regions, pre.data.step, pre.data.drop_zero_accessibility) == (900, 450, True)
    assert (pre.epochs, pre.lr, pre.warmup_steps, pre.num_workers) == (100, 1.5e-4, 1000, 2)
    fine = TrainConfig.from_preset("paper", "s", "o", task="accessibility", epochs=3)
    assert (fine.data.regions, fine.data.step, fine.data.drop_zero_accessibility) == (200, 100, 1)
    assert (fine.epochs, fine.lr, fine.warmup_steps) == (3, 1e-4, 500)
    with pytest.raises(InputError, match="unknown preset 'huge'"):
        TrainConfig.from_preset("huge", "s", "o")


def test_saved_config_round_trips_and_flat_configs_of_earlier_runs_load(tmp_path):
    config = TrainConfig(
        store="s.zarr",
        out="run",
        model={"distance_buckets": 16},
        data=DataConfig(regions=32, holdout_chroms=["chr2"], min_context=8),
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    assert read_config(path) == config == read_config(tmp_path)
    # config.yaml as runs wrote it before DataConfig was nested in TrainConfig
    flat = {k: v for k, v in config.to_dict().items() if k != "data"}
    flat.update(config.to_dict()["data"])
    path.write_text(yaml.safe_dump(flat, sort_keys=False))
    assert read_config(path) == config
    path.write_text(yaml.safe_dump({**flat, "window": 3}))
    with pytest.raises(InputError, match=r"config\.yaml: unknown config keys \['window'\]"):
        read_config(path)
    with pytest.raises(InputError, match=r"\['regions'\] given both"):
        TrainConfig.from_dict({**config.to_dict(), "regions": 8})
    with pytest.raises(InputError, match="no run config here"):
        read_config(tmp_path / "nothing")


def test_config_file_with_options_replacing_what_they_name(tmp_path):
    saved = TrainConfig.from_preset(
        "small", "s.zarr", "pre", task="pretrain", lr=1e-3, regions=32, model={"depth": 2}
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(saved.to_dict()))
    values = {"config": path, "out": tmp_path / "fine", "lr": 5e-4, "holdout_chrom": ["chr2"]}
    values["motif_dropout"] = 0.2
    fine = config_from_options("finetune", values)
    assert fine.task == "expression"  # a pretraining config's settings, finetuned
    assert (fine.lr, fine.data.holdout_chroms, fine.out) == (5e-4, ["chr2"], str(tmp_path / "fine"))
    assert fine.data.regions == 32 and fine.store == "s.zarr"
    assert fine.model == {"depth": 2, "motif_dropout": 0.2}  # model settings merged
    again = config_from_options("pretrain", {"config": path, "epochs": 3})
    assert again == TrainConfig.from_dict({**saved.to_dict(), "epochs": 3})
    with pytest.raises(InputError, match="missing STORE and --out"):
        config_from_options("finetune", {})
    with pytest.raises(InputError, match="use `getx pretrain`"):
        config_from_options("finetune", {"store": "s", "out": "o", "task": "pretrain"})


def test_every_setting_with_a_help_is_an_option_of_its_commands():
    runner = CliRunner()
    helps = {}
    for command, absent in (("pretrain", "--min-context"), ("finetune", "--mask-ratio")):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        flags = [option.flag for option in _options(command)]
        assert {"--regions", "--holdout-chrom", "--distance-buckets", "--preset"} <= set(flags)
        for flag in [*flags, "--config", "--resume"]:
            assert flag in result.output, (command, flag)
        assert absent not in result.output
        helps[command] = result.output
    # each option's help gives its default under each preset
    assert "Regions per window (R). Default: 200 (paper: 900)." in helps["pretrain"]
    assert "Regions per window (R). Default: 200." in helps["finetune"]
