"""The GET model: exact paper sizes, padding, heads, checkpoint-key mapping, LoRA."""

from __future__ import annotations

import pytest
import torch

from getx.errors import InputError
from getx.model import GETModel, ModelConfig, add_lora, count_parameters, load_weights, preset
from getx.model.lora import merge_lora

TINY = {"embed_dim": 32, "depth": 2, "num_heads": 4, "drop_path": 0.0}


def test_paper_parameter_counts():
    # Figures from GET's module shapes (reference study §1.2): 85,267,202 and 85,484,059.
    assert count_parameters(GETModel(preset("paper", 283))) == 85_267_202
    assert count_parameters(GETModel(preset("paper", 283, task="pretrain"))) == 85_484_059


def test_paper_block_layout_mirrors_get():
    model = GETModel(ModelConfig(n_features=10, embed_dim=24, depth=1, num_heads=3))
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["blocks.0.attn.qkv.weight"] == (72, 24)
    assert "blocks.0.attn.qkv.bias" not in shapes  # BEiT style: no k bias, separate q/v biases
    assert shapes["blocks.0.attn.q_bias"] == (24,) and shapes["blocks.0.attn.v_bias"] == (24,)
    assert shapes["cls_token"] == (1, 1, 24)
    assert model.blocks[0].norm1.eps == 1e-6


def test_drop_path_rises_linearly():
    model = GETModel(preset("small", 20))
    rates = [block.drop_path.p for block in model.blocks]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.1)
    assert rates == sorted(rates)


def test_padding_does_not_change_real_regions():
    torch.manual_seed(0)
    model = GETModel(ModelConfig(n_features=7, **TINY)).eval()
    x = torch.rand(2, 12, 7)
    pad = torch.zeros(2, 12, dtype=torch.bool)
    pad[0, 9:] = True
    x_garbage = x.clone()
    x_garbage[0, 9:] = 100.0  # padded rows carry junk: must not leak into real regions
    with torch.no_grad():
        full = model(x_garbage, pad)
        short = model(x[:1, :9])
    torch.testing.assert_close(full[0, :9], short[0], atol=1e-5, rtol=1e-5)
    assert (full >= 0).all()  # softplus


def test_no_positional_encoding_means_permutation_equivariance():
    torch.manual_seed(0)
    x = torch.rand(1, 10, 5)
    perm = torch.randperm(10)
    plain = GETModel(ModelConfig(n_features=5, **TINY)).eval()
    with torch.no_grad():
        torch.testing.assert_close(plain(x)[0, perm], plain(x[:, perm])[0], atol=1e-5, rtol=1e-5)
    positional = GETModel(ModelConfig(n_features=5, positional=True, **TINY)).eval()
    with torch.no_grad():
        assert not torch.allclose(positional(x)[0, perm], positional(x[:, perm])[0], atol=1e-4)


def test_heads_and_mask_token():
    torch.manual_seed(0)
    x = torch.rand(3, 8, 6)
    pre = GETModel(ModelConfig(n_features=6, task="pretrain", **TINY)).eval()
    mask = torch.zeros(3, 8, dtype=torch.bool)
    mask[:, ::2] = True
    with torch.no_grad():
        out = pre(x, mask=mask)
        # a masked region's input must not matter: the mask token replaces it
        x2 = x.clone()
        x2[:, ::2] = 5.0
        torch.testing.assert_close(pre(x2, mask=mask), out)
    assert out.shape == (3, 8, 6)
    acc = GETModel(ModelConfig(n_features=6, task="accessibility", **TINY))
    assert acc(x).shape == (3, 8)
    mlp = GETModel(ModelConfig(n_features=6, arch="mlp", mlp_hidden=[16, 8]))
    assert mlp(x).shape == (3, 8, 2)
    with pytest.raises(ValueError, match="mask token"):
        GETModel(ModelConfig(n_features=6, **TINY))(x, mask=mask)


def _v1_name(key: str, pretrain: bool) -> str:
    """Our key written in GET v1 checkpoint naming (reference study §1.2 mapping, inverted)."""
    if key.startswith("region_embed."):
        return "encoder.region_embed.proj." + key[len("region_embed.") :]
    if key == "cls_token":
        return "encoder.cls_token"
    if key.startswith("blocks."):
        return ("encoder." if pretrain else "") + key
    if key.startswith("norm."):
        return ("encoder.norm." if pretrain else "fc_norm.") + key[len("norm.") :]
    if key.startswith("head_exp."):
        return "head." + key[len("head_exp.") :]
    if key.startswith("head_mask."):
        return "encoder.head." + key[len("head_mask.") :]
    return key


@pytest.mark.parametrize("task", ["expression", "pretrain"])
def test_loader_maps_get_v1_names(tmp_path, task):
    torch.manual_seed(1)
    source = GETModel(ModelConfig(n_features=9, task=task, **TINY)).eval()
    v1 = {_v1_name(k, task == "pretrain"): v for k, v in source.state_dict().items()}
    assert "head.weight" in v1 or "encoder.head.weight" in v1
    path = tmp_path / "get_v1.pth"
    torch.save({"model": v1, "epoch": 3}, path)
    torch.manual_seed(2)
    target = GETModel(ModelConfig(n_features=9, task=task, **TINY)).eval()
    report = load_weights(target, path)
    assert report.missing == [] and report.unexpected == []
    x = torch.rand(2, 5, 9)
    with torch.no_grad():
        torch.testing.assert_close(target(x), source(x))


def test_loader_strict_reports_keys_and_backbone_only(tmp_path):
    pre = GETModel(ModelConfig(n_features=9, task="pretrain", **TINY))
    path = tmp_path / "pre.pth"
    torch.save({"state_dict": pre.state_dict()}, path)
    fine = GETModel(ModelConfig(n_features=9, **TINY))
    with pytest.raises(InputError, match=r"pre\.pth.*missing \['head_exp\.bias'") as info:
        load_weights(fine, path)
    assert "head_mask.weight" in str(info.value) and "mask_token" in str(info.value)
    report = load_weights(fine, path, backbone_only=True)
    assert report.missing == [] and report.unexpected == []
    torch.testing.assert_close(fine.blocks[1].attn.qkv.weight, pre.blocks[1].attn.qkv.weight)
    # a finetuned checkpoint's expression head is kept when finetuning further
    path2 = tmp_path / "fine.pth"
    torch.save({"model": fine.state_dict()}, path2)
    again = GETModel(ModelConfig(n_features=9, **TINY))
    load_weights(again, path2, backbone_only=True)
    torch.testing.assert_close(again.head_exp.weight, fine.head_exp.weight)
    # a missing encoder weight is an error even in backbone mode
    broken = {k: v for k, v in pre.state_dict().items() if k != "blocks.0.norm1.weight"}
    with pytest.raises(InputError, match=r"blocks\.0\.norm1\.weight"):
        load_weights(again, {"model": broken}, backbone_only=True)
    wrong = GETModel(ModelConfig(n_features=8, **TINY))
    with pytest.raises(InputError, match="wrong shape"):
        load_weights(wrong, path, backbone_only=True)


def test_lora_freezes_base_and_counts():
    cfg = preset("small", 283)
    model = GETModel(cfg)
    x = torch.rand(2, 6, 283)
    model.eval()
    with torch.no_grad():
        before = model(x)
    wrapped = add_lora(model, rank=4)
    assert wrapped == 4 * cfg.depth
    D, H = cfg.embed_dim, int(cfg.embed_dim * cfg.mlp_ratio)
    per_block = 4 * ((D + 3 * D) + (D + D) + (D + H) + (H + D))
    head = D * 2 + 2
    assert count_parameters(model, trainable_only=True) == cfg.depth * per_block + head
    assert not model.blocks[0].attn.qkv.weight.requires_grad
    with torch.no_grad():
        torch.testing.assert_close(model(x), before)  # B = 0: starts at the base model
    # state-dict names of the base weights are unchanged, so checkpoints still load
    assert "blocks.0.attn.qkv.weight" in model.state_dict()
    with torch.no_grad():
        model.blocks[0].mlp.fc1.lora_B.normal_()
        changed = model(x)
    merge_lora(model)
    with torch.no_grad():
        torch.testing.assert_close(model(x), changed, atol=1e-5, rtol=1e-4)


def test_distance_bias_reads_genomic_distance_and_loads_get_weights(tmp_path):
    torch.manual_seed(0)
    config = ModelConfig(n_features=6, distance_buckets=16, **TINY)
    model = GETModel(config).eval()
    for block in model.blocks:  # a fresh model's residual branches are zero: wake them
        torch.nn.init.normal_(block.attn.proj.weight, std=0.2)
    x = torch.rand(1, 5, 6)
    near = torch.tensor([[0.0, 1e3, 2e3, 3e3, 4e3]])
    far = torch.tensor([[0.0, 1e5, 2e5, 3e5, 4e5]])
    with torch.no_grad():
        assert not torch.allclose(model(x, positions=near), model(x, positions=far))
        # Only distances matter: shifting the whole window changes nothing.
        torch.testing.assert_close(model(x, positions=near), model(x, positions=near + 7e6))
    with pytest.raises(ValueError, match="positions"):
        model(x)
    # Heads start with decays from flat (head 0) to steep; every table is finite.
    bias = model.blocks[0].attn.distance_bias
    assert torch.all(bias[0] == 0) and bias[-1, 0] > bias[-1, -1]
    # GET weights (no distance bias) load; the bias keeps its initialisation.
    plain = GETModel(ModelConfig(n_features=6, **TINY))
    path = tmp_path / "get.pth"
    torch.save({"model": plain.state_dict()}, path)
    before = bias.detach().clone()
    report = load_weights(model, path)
    assert not report.missing and torch.equal(model.blocks[0].attn.distance_bias, before)
    torch.testing.assert_close(model.blocks[0].attn.qkv.weight, plain.blocks[0].attn.qkv.weight)


def test_distance_buckets_are_log_spaced_between_half_a_kb_and_500_kb():
    from getx.model.core import distance_buckets

    positions = torch.tensor([[0.0, 499.0, 500.0, 5_000.0, 50_000.0, 499_999.0, 600_000.0]])
    buckets = distance_buckets(positions, 32)[0, 0].tolist()
    assert buckets[:3] == [0, 0, 1]  # the region itself and neighbours under 0.5 kb share one
    assert buckets[-2:] == [30, 31]  # everything beyond 500 kb shares the last
    # Three decades over 30 inner buckets: a tenfold distance moves 10 buckets.
    assert buckets[4] - buckets[3] == 10 and buckets == sorted(buckets)
    assert torch.equal(distance_buckets(positions, 32)[0].T, distance_buckets(positions, 32)[0])


@pytest.mark.parametrize("arch", ["transformer", "mlp"])
def test_motif_dropout_drops_motif_columns_only_and_only_while_training(arch):
    torch.manual_seed(0)
    model = GETModel(ModelConfig(n_features=9, arch=arch, motif_dropout=0.5, **TINY))
    # Residual branches start at zero; give them weights so every input reaches the output.
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.rand(3, 6, 9)
    reads_only = torch.zeros_like(x)
    reads_only[..., -1] = x[..., -1]
    model.eval()
    with torch.no_grad():
        evaluated = model(x)
        torch.testing.assert_close(model(x), evaluated)  # no dropout at evaluation
        reads_eval = model(reads_only)
    model.train()
    with torch.no_grad():
        assert not torch.allclose(model(x), evaluated)  # motif columns are dropped
        # the accessibility column never is: with motifs all zero, training = evaluation
        torch.testing.assert_close(model(reads_only), reads_eval)
    with pytest.raises(ValueError, match="motif_dropout"):
        ModelConfig(n_features=9, motif_dropout=1.0)
