"""Figures a person looks at after training: observed vs predicted, and training curves.

Each function returns a matplotlib ``Figure`` (made without pyplot, so nothing global changes),
for a notebook or for :mod:`getx.report`, which embeds them in a self-contained HTML page.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _figure(width: float, height: float, ncols: int = 1):
    # A bare Figure: no pyplot state and no backend switch in the caller's session.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def observed_vs_predicted(panels: list[tuple[str, pd.DataFrame]], size: float = 3.4) -> Any:
    """One scatter per (title, table with ``observed`` and ``predicted``), metrics in the title."""
    from getx.train.evaluate import regression_metrics

    fig, axes = _figure(size * len(panels), size, ncols=max(len(panels), 1))
    for ax, (title, table) in zip(axes, panels, strict=False):
        table = table[np.isfinite(table["observed"]) & np.isfinite(table["predicted"])]
        obs, pred = table["observed"].to_numpy(), table["predicted"].to_numpy()
        m = regression_metrics(obs, pred)
        ax.scatter(obs, pred, s=6, alpha=0.5, linewidths=0, color="#2b6cb0", rasterized=False)
        if len(obs):
            lo, hi = float(min(obs.min(), pred.min())), float(max(obs.max(), pred.max()))
            ax.plot([lo, hi], [lo, hi], color="#999999", lw=0.8, ls="--")
        ax.set_title(
            f"{title}\nPearson {m['pearson']:.3f}  Spearman {m['spearman']:.3f}  "
            f"R² {m['r2']:.3f}  (n={m['n']})",
            fontsize=8,
        )
        ax.set_xlabel("observed log10(CPM+1)", fontsize=8)
        ax.set_ylabel("predicted", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def training_curves(logs: dict[str, pd.DataFrame], size: float = 3.4) -> Any:
    """Per run: training loss by step and validation loss/Pearson by epoch (Lightning CSV logs)."""
    fig, axes = _figure(size * len(logs), size * 0.85, ncols=max(len(logs), 1))
    for ax, (name, log) in zip(axes, logs.items(), strict=False):
        steps = log.dropna(subset=["train_loss_step"]) if "train_loss_step" in log else log[:0]
        ax.plot(steps["step"], steps["train_loss_step"], lw=0.5, color="#cbd5e0")
        smooth = steps["train_loss_step"].rolling(max(len(steps) // 30, 1), min_periods=1).mean()
        ax.plot(steps["step"], smooth, lw=1.2, color="#4a5568", label="train (smoothed)")
        epochs = log.dropna(subset=["val_loss"]) if "val_loss" in log else log[:0]
        if len(epochs):
            ax.plot(epochs["step"], epochs["val_loss"], "o-", ms=3, c="#2b6cb0", label="val loss")
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("loss", fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        handles, labels = ax.get_legend_handles_labels()
        if "val_pearson" in log and log["val_pearson"].notna().any():
            twin = ax.twinx()
            val = log.dropna(subset=["val_pearson"])
            line = twin.plot(val["step"], val["val_pearson"], "s-", ms=3, color="#c05621")
            twin.set_ylabel("val Pearson", fontsize=8, color="#c05621")
            twin.tick_params(labelsize=7)
            handles, labels = [*handles, line[0]], [*labels, "val Pearson"]
        ax.legend(handles, labels, fontsize=6, loc="center right", framealpha=0.8)
    fig.tight_layout()
    return fig
