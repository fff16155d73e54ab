"""Training for real on a small synthetic store: learning, context, tasks, LR decay, resume."""

from __future__ import annotations

import logging
import math
import re

import pandas as pd
import pytest
import torch

from getx.model import GETModel, ModelConfig, count_parameters
from getx.train.optim import build_optimizer, cosine_factor, param_groups
from getx.train.run import TrainConfig, train
from synthetic import make_synthetic_store

TINY = {"embed_dim": 32, "depth": 2, "num_heads": 4, "drop_path": 0.0, "mlp_hidden": [64, 32]}


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models run fastest on one thread, and shared CPUs make OpenMP spinning costly.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_synthetic_store(tmp_path_factory.mktemp("syn") / "syn.zarr", seed=0)


def _config(store, out, **overrides) -> TrainConfig:
    values = {
        "store": str(store),
        "out": str(out),
        "regions": 32,
        "step": 8,
        "holdout_chroms": ["chr4"],
        "batch_size": 16,
        "epochs": 1,
        "lr": 3e-3,
        "min_lr": 1e-5,
        "weight_decay": 0.0,
        "warmup_steps": 10,
        "model": dict(TINY),
        "progress": False,
        "deterministic": True,
        "seed": 0,
    }
    values.update(overrides)
    return TrainConfig.from_dict(values)  # DataConfig's fields at the top level too


def _metrics(run) -> pd.DataFrame:
    return pd.read_csv(run / "logs" / "metrics.csv")


def _last(metrics: pd.DataFrame, column: str) -> float:
    return float(metrics[column].dropna().iloc[-1])


def test_overfits_a_handful_of_windows(store, tmp_path):
    # 4 windows of one cell type, MSE: a working model must drive the loss to ~0.
    cfg = _config(
        store,
        tmp_path / "overfit",
        cell_types=["open"],
        holdout_chroms=["chr2", "chr3", "chr4"],
        step=200,
        regions=32,
        random_shift=False,  # the same 4 windows every epoch
        batch_size=4,
        epochs=300,
        loss="mse",
        lr=1e-3,
        warmup_steps=10,
        limit_val_batches=0,
        checkpoint_every=100,
        model={**TINY, "embed_dim": 64},
    )
    run = train(cfg)
    losses = _metrics(run)["train_loss_epoch"].dropna().to_numpy()
    assert len(losses) == 300
    assert losses[-1] < 0.02 * losses[0]
    assert losses[-1] < 5e-3


def test_context_beats_per_region_mlp_on_held_out_chromosome(store, tmp_path):
    results = {}
    for arch in ("transformer", "mlp"):
        run = train(_config(store, tmp_path / arch, arch=arch, epochs=12))
        m = _metrics(run)
        results[arch] = (_last(m, "val_pearson"), _last(m, "val_loss"))
        losses = m["train_loss_epoch"].dropna().to_numpy()
        assert losses[-1] < losses[0]  # training loss falls
        # per-cell-type and per-chromosome breakdowns are logged, on the held-out chromosome only
        assert "val_pearson/ct=open" in m and "val_pearson/chrom=chr4" in m
        assert not any("chrom=chr1" in c for c in m.columns)
        assert {"val_spearman", "val_r2"} <= set(m.columns)
    # expression depends on the enhancer density of the neighbourhood: only context sees it
    assert results["transformer"][0] > 0.8
    assert results["transformer"][0] > results["mlp"][0] + 0.2
    assert results["transformer"][1] < results["mlp"][1]


def test_layer_decay_groups_carry_scales():
    depth, decay = 3, 0.5
    model = GETModel(ModelConfig(n_features=5, embed_dim=16, depth=depth, num_heads=2))
    groups = param_groups(model, lr=1.0, weight_decay=0.05, layer_decay=decay)
    scale_of = {n: g["lr_scale"] for g in groups for n in g["param_names"]}
    assert scale_of["region_embed.weight"] == decay ** (depth + 1)
    assert scale_of["cls_token"] == decay ** (depth + 1)
    for i in range(depth):
        assert scale_of[f"blocks.{i}.attn.qkv.weight"] == decay ** (depth - i)
        assert scale_of[f"blocks.{i}.mlp.fc2.bias"] == decay ** (depth - i)
    assert scale_of["head_exp.weight"] == 1.0 and scale_of["norm.weight"] == 1.0
    wd = {n: g["weight_decay"] for g in groups for n in g["param_names"]}
    assert wd["blocks.0.attn.qkv.weight"] == 0.05
    assert wd["blocks.0.attn.q_bias"] == 0.0 and wd["cls_token"] == 0.0 and wd["norm.weight"] == 0
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    # and the optimizer really runs each group at base lr x scale through the schedule
    optimizer, scheduler = build_optimizer(model, 1e-3, 0.05, decay, 100, 10, 1e-5)
    for _ in range(20):
        optimizer.step()
        scheduler.step()
    factor = cosine_factor(20, 100, 10, 1e-5 / 1e-3)
    for group in optimizer.param_groups:
        assert group["lr"] == pytest.approx(1e-3 * group["lr_scale"] * factor)
    assert len({g["lr"] for g in optimizer.param_groups}) == depth + 2


def test_schedule_warms_up_and_stays_at_floor():
    assert cosine_factor(0, 100, 10, 0.01) == pytest.approx(0.01)
    assert cosine_factor(10, 100, 10, 0.01) == pytest.approx(1.0)
    assert cosine_factor(55, 100, 10, 0.01) == pytest.approx(0.01 + 0.99 * 0.5)
    assert cosine_factor(500, 100, 10, 0.01) == pytest.approx(0.01)
    assert math.isfinite(cosine_factor(0, 0, 0, 0.0))


def test_pretrain_then_lora_finetune_from_its_checkpoint(store, tmp_path):
    pre = train(_config(store, tmp_path / "pre", task="pretrain", regions=16, step=16))
    assert (pre / "checkpoints" / "last.ckpt").exists()
    m = _metrics(pre)
    assert "val_pearson" in m and "val_spearman" not in m
    cfg = _config(
        store,
        tmp_path / "lora",
        regions=16,
        step=16,
        init_checkpoint=str(pre / "checkpoints" / "last.ckpt"),
        lora_rank=2,
    )
    run = train(cfg)
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    state = ckpt["state_dict"]
    pre_state = torch.load(pre / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    # frozen base: the encoder weights are still the pretrained ones; LoRA matrices were trained
    key = "model.blocks.1.mlp.fc1.weight"
    torch.testing.assert_close(state[key], pre_state[key])
    assert state["model.blocks.1.mlp.fc1.lora_B"].abs().sum() > 0
    from getx.train.lit import GETLightning

    module = GETLightning(**ckpt["hyper_parameters"])
    D, H = TINY["embed_dim"], TINY["embed_dim"] * 4
    per_block = 2 * ((D + 3 * D) + (D + D) + (D + H) + (H + D))
    assert count_parameters(module.model, trainable_only=True) == 2 * per_block + D * 2 + 2


def test_accessibility_task_learns_from_motifs(store, tmp_path):
    run = train(_config(store, tmp_path / "atac", task="accessibility", regions=16, step=16))
    m = _metrics(run)
    assert math.isfinite(_last(m, "val_loss"))
    assert "val_pearson/chrom=chr4" in m


def test_a_new_head_is_one_class_and_one_registry_entry(store, tmp_path, monkeypatch):
    from torch import nn

    from getx.model import load_weights
    from getx.model.heads import HEADS, Head
    from getx.train.predict import load_model

    class OpenHead(Head):
        """Whether a region is accessible, from motifs alone: sigmoid(Linear(D -> 1)), MSE."""

        task = "open"
        layer_name = "head_open"
        target = "accessible"
        sees_accessibility = False
        loss_kind = "mse"

        @classmethod
        def width(cls, n_features: int) -> int:
            return 1

        def forward(self, h):
            return torch.sigmoid(nn.Linear.forward(self, h)).squeeze(-1)

    monkeypatch.setitem(HEADS, "open", OpenHead)
    pre = train(_config(store, tmp_path / "pre", task="pretrain", regions=16, step=16))
    run = train(
        _config(
            store,
            tmp_path / "open",
            task="open",
            regions=16,
            step=16,
            init_checkpoint=str(pre / "checkpoints" / "last.ckpt"),
            lora_rank=2,
        )
    )
    m = _metrics(run)
    assert math.isfinite(_last(m, "val_loss")) and "val_pearson/chrom=chr4" in m
    predictor = load_model(run)
    model = predictor.model
    assert isinstance(model.head, OpenHead) and model.head.weight.requires_grad  # LoRA trains it
    state = model.state_dict()
    assert "head_open.weight" in state and "mask_token" not in state
    # its weights are a head's: a finetuned model's encoder loads into a pretraining model
    again = GETModel(ModelConfig.from_dict({**predictor.hparams["model"], "task": "pretrain"}))
    report = load_weights(again, state, backbone_only=True)
    assert report.missing == [] and report.unexpected == []


def test_resume_continues_and_interrupt_checkpoints(store, tmp_path):
    import lightning as L  # noqa: N812

    out = tmp_path / "resume"
    cfg = _config(store, out, regions=16, step=32, epochs=1)
    train(cfg)
    first = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    steps = first["global_step"]
    assert steps > 0
    with pytest.raises(Exception, match="run directory already has checkpoints"):
        train(cfg)
    cfg.epochs = 2
    train(cfg, resume=True)
    second = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert second["global_step"] == 2 * steps and second["epoch"] == 1
    assert (out / "checkpoints" / "epoch000.ckpt").exists()
    assert (out / "checkpoints" / "epoch001.ckpt").exists()
    epochs = _metrics(out)["epoch"].dropna().unique().tolist()
    assert epochs == [0, 1]

    class Boom(L.Callback):
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == 2 * steps + 2:
                raise RuntimeError("stop here")

    cfg.epochs = 3
    with pytest.raises(RuntimeError, match="stop here"):
        train(cfg, resume=True, callbacks=[Boom()])
    interrupted = torch.load(out / "checkpoints" / "interrupted.ckpt", weights_only=True)
    assert interrupted["global_step"] == 2 * steps + 2
    assert not list(out.rglob(".*.ckpt*"))  # no temporary files left behind


def test_finetune_command_with_small_preset(store, tmp_path):
    from getx.train.commands import finetune

    out = tmp_path / "cli"
    finetune(
        store,
        out,
        preset="small",
        regions=16,
        step=64,
        holdout_chrom=["chr4"],
        epochs=1,
        batch_size=8,
        warmup_steps=2,
        num_workers=0,
        motif_dropout=0.2,
        min_context=4,
    )
    import yaml

    config = yaml.safe_load((out / "config.yaml").read_text())
    # the small preset's settings, as the library's TrainConfig defaults are
    assert config["preset"] == "small" and config["data"]["drop_zero_accessibility"] is False
    assert config["data"]["min_context"] == 4 and config["model"]["motif_dropout"] == 0.2
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["hyper_parameters"]["model"]["embed_dim"] == 256
    assert ckpt["hyper_parameters"]["model"]["motif_dropout"] == 0.2
    assert (out / "scaling.json").exists() and (out / "logs" / "metrics.csv").exists()


def test_min_context_needs_the_tss_loss(store, tmp_path):
    from getx.errors import InputError

    for task, loss_on in (("expression", "all"), ("pretrain", "tss")):
        config = _config(store, tmp_path / task, task=task, loss_on=loss_on, min_context=4)
        with pytest.raises(InputError, match="min_context"):
            train(config)
    assert not (tmp_path / "expression").exists()  # refused before writing anything


def test_expression_loss_counts_only_labelled_tss_entries_unless_asked_for_all():
    from getx.train.lit import GETLightning

    def module(loss_on):
        return GETLightning(
            model=ModelConfig(n_features=4, **TINY).to_dict(),
            optim={"lr": 1e-3, "min_lr": 0, "weight_decay": 0, "layer_decay": 1, "warmup_steps": 0},
            data={},
            scaling=[1.0] * 3,
            feature_names=["a", "b", "c"],
            cell_types=["ct"],
            chroms=["chr1"],
            loss_on=loss_on,
        )

    torch.manual_seed(0)
    tss = torch.zeros(2, 6, 2, dtype=torch.bool)
    tss[0, 2, 0] = tss[1, 4, 1] = True
    batch = {"x": torch.rand(2, 6, 4), "pad": torch.zeros(2, 6, dtype=torch.bool), "tss": tss}
    batch["y"] = torch.where(tss, 3.0, 0.0)
    changed = dict(batch, y=torch.where(tss, 3.0, 5.0))  # other entries relabelled
    for loss_on, same in (("tss", True), ("all", False)):
        lit = module(loss_on).eval()
        first, second = lit._step(batch)[-1], lit._step(changed)[-1]
        assert torch.isclose(first, second).item() is same


def test_expression_head_starts_at_the_training_label_mean(store, tmp_path):
    from getx.store import open_store
    from getx.train.data import prepare_data
    from getx.train.predict import load_model

    config = _config(store, tmp_path / "run", max_steps=1, lr=1e-9, warmup_steps=0)
    run = train(config)
    data = prepare_data(open_store(store), config.data)
    mean = data.training_label_mean()
    labelled = [ct.labels[ct.tss] for ct in data.cells]  # every cell type's TSS labels
    assert 0 < mean < max(float(v.max()) for v in labelled)
    bias = load_model(run).model.head_exp.bias.detach()
    assert torch.allclose(torch.nn.functional.softplus(bias), torch.tensor(mean), atol=1e-3)


@pytest.fixture(scope="module")
def simulated_store(tmp_path_factory):
    from getx.prepare import prepare
    from getx.simulate import simulate

    root = tmp_path_factory.mktemp("sim")
    prepare(simulate(root / "sim", preset="small", seed=0).prepare_inputs(), root / "store.zarr")
    return root / "store.zarr"


def test_validation_of_one_cell_type_on_one_chromosome_is_logged_once(store, tmp_path, caplog):
    # Validation is the held-out chromosome within the held-out cell type: its per-cell-type
    # and per-chromosome figures are the same rows, so the log names them together, once.
    with caplog.at_level(logging.INFO, logger="getx.train.lit"):
        run = train(_config(store, tmp_path / "run", holdout_cell_types=["mixed"]))
    metrics = _metrics(run)
    ct, chrom = _last(metrics, "val_pearson/ct=mixed"), _last(metrics, "val_pearson/chrom=chr4")
    assert ct == chrom
    lines = [r.getMessage() for r in caplog.records if "validation epoch" in r.getMessage()]
    assert lines and all(
        re.fullmatch(r"validation epoch \d+: ct=mixed on chrom=chr4 pearson -?[\d.]+ \(n=\d+\)", x)
        for x in lines
    ), lines


def test_seeded_finetune_on_simulated_store_beats_per_region_mlp(simulated_store, tmp_path):
    # The simulator's expression depends on enhancers weighted by distance, so a model that
    # reads the context around a TSS (and how far each region is) must beat one that cannot.
    from getx.store import open_store
    from getx.train.evaluate import score, split_rows
    from getx.train.predict import load_model

    store = open_store(simulated_store)
    held = ["chr3"]
    common = {
        "regions": 48,
        "step": 24,
        "holdout_chroms": held,
        "accessibility": "quantitative",
        "batch_size": 8,
        "epochs": 8,
        "lr": 1e-3,
        "weight_decay": 0.05,
        "warmup_steps": 10,
    }
    tables = {}
    for name, arch, model in (
        ("GET", "transformer", {**TINY, "embed_dim": 64, "distance_buckets": 16}),
        ("MLP", "mlp", dict(TINY)),
    ):
        run = train(_config(simulated_store, tmp_path / name, arch=arch, model=model, **common))
        predictor = load_model(run)
        table = pd.concat([predictor.predict(store, ct) for ct in store.cell_types])
        tables[name] = table.assign(group=split_rows(table, held, []))
    scores = score(tables).set_index(["model", "group"])["pearson"]
    held_out = scores.xs("held-out chromosome", level="group")
    # Measured at seed 0: GET 0.41, MLP 0.22 (16 epochs: 0.43, 0.30).
    assert held_out["GET"] > held_out["MLP"] + 0.1, held_out
    assert held_out["GET"] > 0.3, held_out


def _weights(run) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def test_deterministic_runs_repeat_to_the_bit_on_two_threads(store, tmp_path):
    # With several threads the distance bias's gradient (an indexed sum) is accumulated in a
    # varying order unless deterministic algorithms are on; the demo relies on repeatability.
    torch.set_num_threads(2)
    model = {**TINY, "embed_dim": 64, "distance_buckets": 16}
    runs = [
        train(_config(store, tmp_path / f"run{i}", regions=64, step=32, model=model))
        for i in range(2)
    ]
    first, second = (_weights(run) for run in runs)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key
