"""One tiny valid dataset for the bad-input CLI tests: built once per test session.

``tiny_dataset(tmp_path_factory)`` returns a :class:`TinyDataset`: the simulator's tiny preset
(the user's input folder), its region store, a one-epoch run of a tiny GET on it and an
importance store of its genes in one cell type. Tests must not write into it; each bad-input
test checks that the command left every file of it as it was (:func:`checksums`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from getx.demo import DemoOptions

TINY_MODEL = {"embed_dim": 32, "depth": 1, "num_heads": 4, "drop_path": 0.0}
# two layers and a distance bias: enough for the interpretation tests to find planted signals
INTERPRET_MODEL = {**TINY_MODEL, "depth": 2, "distance_buckets": 8}


# the options of conftest's ``tiny_demo``
TINY_DEMO = DemoOptions(
    preset="tiny", pretrain_epochs=1, finetune_epochs=3, regions=64, progress=False
)


@dataclass(frozen=True)
class TinyDataset:
    root: Path
    sim: Path  # the simulated input files (genome.fa, genes.gtf, peaks, RNA)
    store: Path
    run: Path
    importance: Path

    def inputs(self) -> dict[str, str]:
        """Every file of the dataset (relative path -> sha256)."""
        return checksums(self.root)


_BUILT: dict[str, TinyDataset] = {}


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by path relative to it."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def tiny_dataset(tmp_path_factory) -> TinyDataset:
    """The session's dataset, built on first use (about 15 s on a shared 2-core machine)."""
    if "tiny" in _BUILT:
        return _BUILT["tiny"]
    import torch

    from getx.interpret.importance import importance, write_importance
    from getx.prepare import prepare
    from getx.simulate import simulate
    from getx.train import TrainConfig, train
    from getx.train.predict import load_model

    root = tmp_path_factory.mktemp("tiny_dataset")
    sim = simulate(root / "sim", preset="tiny", seed=0)
    store = prepare(sim.prepare_inputs(), root / "store.zarr")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = TrainConfig.from_dict(
            {
                "store": str(store),
                "out": str(root / "run"),
                "regions": 32,
                "step": 16,
                "holdout_chroms": ["chr2"],
                "epochs": 1,
                "max_steps": 2,
                "model": dict(TINY_MODEL),
                "progress": False,
                "deterministic": True,
            }
        )
        run = train(config)
        predictor = load_model(run)
        from getx.store import open_store

        opened = open_store(store)
        result = importance(predictor, opened, "ct1", batch_size=8)
        importance_store = write_importance(
            root / "importance.zarr", [result], predictor.source, opened
        )
    finally:
        torch.set_num_threads(threads)
    _BUILT["tiny"] = TinyDataset(root, sim.out_dir, Path(store), run, importance_store)
    return _BUILT["tiny"]


def simulate_and_train(root: Path, epochs: int):
    """The simulator's tiny preset in ``root/sim``, its store and a tiny GET trained on it
    (chr2 held out, deterministic): returns (simulation, store path, run folder)."""
    import torch

    from getx.prepare import prepare
    from getx.simulate import simulate
    from getx.train.config import DataConfig, TrainConfig
    from getx.train.run import train

    torch.set_num_threads(1)
    sim = simulate(root / "sim", "tiny", seed=0)
    store = prepare(sim.prepare_inputs(), root / "store.zarr")
    config = TrainConfig(
        store=str(store),
        out=str(root / "run"),
        data=DataConfig(regions=32, step=8, holdout_chroms=["chr2"], accessibility="linear"),
        epochs=epochs,
        lr=1e-3,
        model=INTERPRET_MODEL,
        progress=False,
        deterministic=True,
    )
    return sim, store, train(config)
