"""The GET region model: one configurable class for pretraining, expression and accessibility.

A window of R regions (each F features: motif clusters, then accessibility) is embedded by a
Linear(F -> D), a learned CLS token is prepended, L pre-LayerNorm transformer blocks with
BEiT-style attention (qkv without bias plus separate q and v biases) run over the set, a final
LayerNorm is applied and the CLS position dropped. The task's head (:mod:`getx.model.heads`)
reads the per-region embeddings.

Parameter names mirror GET's (``blocks.i.attn.qkv.weight``, ``attn.q_bias``, ``norm``,
``cls_token``, ...), so published checkpoints map onto this model one key to one key (see
:mod:`getx.model.checkpoint`). The ``mlp`` architecture is GET's context-free baseline: the
same heads on a per-region MLP.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from getx.model.config import ModelConfig
from getx.model.heads import HEADS, Head


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample while training."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)


# Distance buckets: 0 below the first edge (the region itself and its neighbours), then
# log-spaced up to the last edge, the last bucket everything beyond.
DISTANCE_RANGE_BP = (500.0, 500_000.0)
# Initial decay of the distance bias, in units of log1p(distance / DISTANCE_SCALE_BP).
DISTANCE_SCALE_BP = 5_000.0


def _bucket_edges(n_buckets: int) -> torch.Tensor:
    low, high = (math.log10(bp) for bp in DISTANCE_RANGE_BP)
    return torch.logspace(low, high, n_buckets - 1, dtype=torch.float64)


def distance_bucket(distance_bp: torch.Tensor, n_buckets: int) -> torch.Tensor:
    """The bucket of each |distance| in bp (0: under 500 bp, n_buckets - 1: beyond 500 kb)."""
    d = distance_bp.double().abs()
    return torch.bucketize(d, _bucket_edges(n_buckets).to(d.device), right=True)


def distance_buckets(positions: torch.Tensor, n_buckets: int) -> torch.Tensor:
    """(B, R, R) bucket of |position_i - position_j| for region centres ``positions`` (B, R)."""
    return distance_bucket(positions[:, :, None].double() - positions[:, None, :], n_buckets)


def bucket_centres(n_buckets: int) -> torch.Tensor:
    """A representative distance in bp for each bucket (0 for the first)."""
    edges = _bucket_edges(n_buckets).float()
    inner = (edges[:-1] * edges[1:]).sqrt()
    return torch.cat((torch.zeros(1), inner, edges[-1:] * 2))


class Attention(nn.Module):
    """Multi-head self-attention, BEiT layout: qkv weight without bias, q and v biases (k none).

    With ``n_buckets`` > 0 a learned (heads, buckets) table adds a bias to each attention score
    by the genomic distance between the two regions (T5-style relative position bias, in bp).
    """

    def __init__(self, dim: int, num_heads: int, n_buckets: int = 0):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)
        if n_buckets:
            self.distance_bias = nn.Parameter(torch.zeros(num_heads, n_buckets))

    def reset_distance_bias(self) -> None:
        """Heads start with decays from none to steep: attention falls with log distance
        (as contact frequency does), a prior the data then reshapes."""
        n_buckets = self.distance_bias.shape[1]
        slopes = torch.linspace(0.0, 2.0, self.num_heads)[:, None]
        decay = torch.log1p(bucket_centres(n_buckets) / DISTANCE_SCALE_BP)[None, :]
        with torch.no_grad():
            self.distance_bias.copy_(-slopes * decay)

    def forward(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor | None,
        buckets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        B, N, C = x.shape
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        # self.qkv is called as a module (not F.linear on its weight) so LoRA wrappers apply.
        qkv = (self.qkv(x) + bias).reshape(B, N, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if buckets is not None:
            # (B, H, R, R) between regions; the CLS token (row and column 0) gets no bias.
            scores = self.distance_bias[:, buckets].permute(1, 0, 2, 3).to(q.dtype)
            scores = F.pad(scores, (1, 0, 1, 0))
            if attn_mask is not None:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            attn_mask = scores
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.proj(out.transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-LayerNorm transformer block with stochastic depth on both residual branches."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float,
        drop_path: float,
        eps: float,
        n_buckets: int = 0,
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, n_buckets)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor | None,
        buckets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), attn_mask, buckets))
        return x + self.drop_path(self.mlp(self.norm2(x)))


def sinusoidal_encoding(length: int, dim: int) -> torch.Tensor:
    """The (length, dim) sinusoidal absolute position table of Vaswani et al."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div[: table[:, 1::2].shape[1]])
    return table


class GETModel(nn.Module):
    """GET's region model. ``forward(x, pad_mask=None, mask=None, positions=None)``.

    ``x`` is (B, R, F); ``pad_mask`` (B, R) bool is True on padding (those regions are ignored as
    attention keys); ``mask`` (B, R) bool marks regions replaced by the mask token (pretraining);
    ``positions`` (B, R) region centres in bp, read only with ``config.distance_buckets``.
    Returns what the task's head gives (:attr:`head`): (B, R, 2) expression per strand,
    (B, R, F) reconstructions, or (B, R) accessibility.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        head = HEADS[c.task]
        if c.arch == "transformer":
            self.region_embed = nn.Linear(c.n_features, c.embed_dim)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, c.embed_dim))
            if head.mask_token:
                self.mask_token = nn.Parameter(torch.zeros(1, 1, c.embed_dim))
            rates = torch.linspace(0, c.drop_path, c.depth).tolist() if c.depth else []
            self.blocks = nn.ModuleList(
                Block(c.embed_dim, c.num_heads, c.mlp_ratio, rate, c.ln_eps, c.distance_buckets)
                for rate in rates
            )
            self.norm = nn.LayerNorm(c.embed_dim, eps=c.ln_eps)
            if c.positional:
                self.register_buffer(
                    "pos_table", sinusoidal_encoding(c.max_len, c.embed_dim), persistent=False
                )
            out_dim = c.embed_dim
        else:
            layers: list[nn.Module] = []
            width = c.n_features
            for hidden in c.mlp_hidden:
                layers += [nn.Linear(width, hidden), nn.ReLU()]
                width = hidden
            self.mlp = nn.Sequential(*layers)
            out_dim = width
        # Registered under the head's own name (head_exp, ...), as GET-named weights expect.
        self.add_module(head.layer_name, head(out_dim, c.n_features))
        self.apply(_init_weights)
        if c.arch == "transformer":
            # Residual branches start as identities: random branch outputs would swamp the small
            # region embeddings and a fresh model learns slowly (on the demo store: held-out
            # Pearson 0.03 vs 0.52 after 100 steps). Loaded weights replace this.
            for block in self.blocks:
                nn.init.zeros_(block.attn.proj.weight)
                nn.init.zeros_(block.mlp.fc2.weight)
                if c.distance_buckets:
                    block.attn.reset_distance_bias()
            nn.init.trunc_normal_(self.cls_token, std=0.02)
            if head.mask_token:
                nn.init.trunc_normal_(self.mask_token, std=0.02)

    @property
    def head(self) -> Head:
        """The task's output layer (``head_exp``, ``head_mask`` or ``head_atac``)."""
        return getattr(self, HEADS[self.config.task].layer_name)

    @property
    def layer_count(self) -> int:
        return (
            len(self.blocks) if self.config.arch == "transformer" else len(self.config.mlp_hidden)
        )

    def encode(
        self,
        x: torch.Tensor,
        pad_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Per-region embeddings (B, R, D) after the final LayerNorm, CLS dropped.

        ``positions`` (B, R): region centres in bp, needed when ``config.distance_buckets``.
        """
        if self.training and self.config.motif_dropout:
            motifs = F.dropout(x[..., :-1], self.config.motif_dropout, training=True)
            x = torch.cat((motifs, x[..., -1:]), dim=-1)
        if self.config.arch == "mlp":
            return self.mlp(x)
        B, R, _ = x.shape
        h = self.region_embed(x)
        if mask is not None:
            if not hasattr(self, "mask_token"):
                raise ValueError(
                    f"a mask was given but this model has no mask token (task {self.config.task})"
                )
            h = torch.where(mask[..., None], self.mask_token.to(h.dtype).expand(B, R, -1), h)
        if self.config.positional:
            if self.config.max_len < R:
                raise ValueError(f"window of {R} regions exceeds max_len {self.config.max_len}")
            h = h + self.pos_table[:R].to(h.dtype)
        h = torch.cat((self.cls_token.expand(B, -1, -1).to(h.dtype), h), dim=1)
        attn_mask = None
        if pad_mask is not None and bool(pad_mask.any()):
            keep = torch.cat((pad_mask.new_zeros(B, 1), pad_mask), dim=1).logical_not()
            attn_mask = keep[:, None, None, :]  # (B, 1, 1, R+1): True = may be attended to
        buckets = None
        if self.config.distance_buckets:
            if positions is None:
                raise ValueError("this model reads genomic distances: pass region positions")
            buckets = distance_buckets(positions, self.config.distance_buckets)
        for block in self.blocks:
            h = block(h, attn_mask, buckets)
        return self.norm(h)[:, 1:]

    def forward(
        self,
        x: torch.Tensor,
        pad_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.head(self.encode(x, pad_mask, mask, positions))


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
