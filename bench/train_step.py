"""Training-step throughput of the GET model: getx presets, optionally beside GET's reference.

One step = zero_grad + forward + Poisson NLL (log_input=False) + backward + AdamW, on a batch of
8 windows x 200 regions x 283 features in fp32 (the paper's finetuning shape). Each measurement
runs in its own process so peak memory (max RSS on CPU, max allocated on GPU) is its own.

    python bench/train_step.py [--presets paper small] [--steps 5] [--reference PATH]

``--reference`` points at a GET-Foundation/get_model checkout; its GETRegionFinetune is built
from its own GETRegionFinetune.yaml with the same sizes (needs torch, timm (torchvision
stubbed here), hydra-core, omegaconf, torchmetrics; e.g. ``pip install --target DIR --no-deps
timm hydra-core omegaconf antlr4-python3-runtime==4.9.3`` and ``PYTHONPATH=DIR``).
Results go to bench/results/train_step.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

SIZES = {"paper": (768, 12, 12), "small": (256, 4, 8)}
RESULTS = Path(__file__).resolve().parent / "results" / "train_step.json"


def _build_getx(preset: str, n_features: int):
    from getx.model import GETModel
    from getx.model import preset as make

    return GETModel(make(preset, n_features)), lambda m, x: m(x)


def _stub_torchvision() -> None:
    """Make ``import torchvision.anything`` succeed with placeholder classes.

    timm imports torchvision for image code the region model never runs. torchmetrics is
    imported first so that it still sees torchvision as absent and skips its image metrics.
    """
    import importlib.abc
    import importlib.machinery
    import types

    import torchmetrics.functional  # noqa: F401

    class Placeholder(type):
        def __getattr__(cls, attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            return f"{cls.__name__}.{attr}"

    def module_getattr(attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Placeholder(attr, (), {})

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            if name == "torchvision" or name.startswith("torchvision."):
                return importlib.machinery.ModuleSpec(name, self, is_package=True)
            return None

        def create_module(self, spec):
            module = types.ModuleType(spec.name)
            module.__path__ = []
            module.__getattr__ = module_getattr
            return module

        def exec_module(self, module):
            pass

    try:
        import torchvision  # noqa: F401
    except ImportError:
        sys.meta_path.insert(0, Finder())


def _build_reference(preset: str, n_features: int, path: str):
    _stub_torchvision()
    sys.path.insert(0, path)
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    dim, depth, heads = SIZES[preset]
    cfg = OmegaConf.load(Path(path) / "get_model" / "config" / "model" / "GETRegionFinetune.yaml")
    cfg.model.cfg.update(
        num_regions=200, num_motif=n_features, embed_dim=dim, num_layers=depth, num_heads=heads
    )
    model = instantiate(cfg.model)
    return model, lambda m, x: m(x)


def measure(impl: str, preset: str, steps: int, warmup: int, reference: str | None) -> dict:
    import resource

    import torch

    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    B, R, F = 8, 200, 283
    if impl == "getx":
        model, run = _build_getx(preset, F)
    else:
        model, run = _build_reference(preset, F, reference)
    model = model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.PoissonNLLLoss(log_input=False)
    x = torch.rand(B, R, F, device=device)
    y = torch.rand(B, R, 2, device=device) * 3

    def step():
        optimizer.zero_grad(set_to_none=True)
        pred = run(model, x)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    wall = (time.perf_counter() - wall0) / steps
    cpu = (time.process_time() - cpu0) / steps
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    result = {
        "impl": impl,
        "preset": preset,
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "seconds_per_step": round(wall, 4),
        "cpu_seconds_per_step": round(cpu, 4),
        "samples_per_second": round(B / wall, 2),
        "peak_rss_gib": round(peak_rss, 3),
    }
    if device == "cuda":
        result["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 1024**3, 3)
    return result


def compare(
    presets: list[str], steps: int, warmup: int, repeat: int, reference: str | None
) -> tuple[list[dict], list[str]]:
    """getx (and GET's reference, given a checkout) per preset, each measurement in its own
    process, runs interleaved; the fastest of ``repeat`` per (implementation, preset), with
    notes on what could not be measured."""
    impls = ["getx"]
    notes = []
    if reference:
        if (Path(reference) / "get_model" / "model" / "model.py").exists():
            impls.append("reference")
        else:
            notes.append(f"reference checkout not found at {reference}; measured getx only")
    else:
        notes.append("no --reference given; measured getx only")
    for note in notes:
        print(note, file=sys.stderr)
    # Runs alternate between implementations so load from other processes hits both alike;
    # the fastest of the repeats is kept (all wall times are listed beside it).
    runs: dict[tuple[str, str], list[dict]] = {}
    for preset in presets:
        for _ in range(repeat):
            for impl in impls:
                command = [sys.executable, __file__, "--one", impl, preset]
                command += ["--steps", str(steps), "--warmup", str(warmup)]
                if reference:
                    command += ["--reference", reference]
                proc = subprocess.run(command, capture_output=True, text=True)
                if proc.returncode:
                    tail = proc.stderr.strip().splitlines()[-3:]
                    run = {"impl": impl, "preset": preset, "error": " | ".join(tail)}
                else:
                    run = json.loads(proc.stdout.strip().splitlines()[-1])
                runs.setdefault((impl, preset), []).append(run)
                print(json.dumps(run), file=sys.stderr)
    results = []
    for group in runs.values():
        ok = [r for r in group if "error" not in r]
        if not ok:
            results.append(group[-1])
            continue
        best = dict(min(ok, key=lambda r: r["seconds_per_step"]))
        best["all_seconds_per_step"] = [r["seconds_per_step"] for r in ok]
        results.append(best)
    return results, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["paper", "small"], choices=list(SIZES))
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--repeat", type=int, default=2, help="interleaved runs per measurement; best kept"
    )
    parser.add_argument("--reference", help="path to a GET-Foundation/get_model checkout")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--one", nargs=2, metavar=("IMPL", "PRESET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        impl, preset = args.one
        print(json.dumps(measure(impl, preset, args.steps, args.warmup, args.reference)))
        return
    results, notes = compare(args.presets, args.steps, args.warmup, args.repeat, args.reference)
    payload = {
        "benchmark": "train step: zero_grad+forward+PoissonNLL+backward+AdamW, 8x200x283 fp32",
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "notes": [*notes, "shared machine: other jobs may load the CPU; compare rows run together"],
        "cpu_count": os.cpu_count(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from getx.io.files import atomic_output

    with atomic_output(args.out) as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
