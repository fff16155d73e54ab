"""CLI commands for training, prediction and evaluation (registered on ``getx`` by ``getx.cli``).

``getx pretrain`` and ``getx finetune`` offer one option per setting that declares a ``help``
(:func:`getx.model.config.option`) in :class:`~getx.train.config.TrainConfig`,
:class:`~getx.train.config.DataConfig` and :class:`~getx.model.config.ModelConfig`; the options
are built from those fields, so a setting is declared once. Options left out keep the value of
``--config`` (a saved ``config.yaml``) or, without one, of ``--preset``, exactly as
``TrainConfig.from_preset`` gives it to the library.

Heavy imports (torch, lightning) live inside the functions so ``getx --help`` stays fast.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any

import typer

from getx.errors import InputError
from getx.model.config import ModelConfig
from getx.train.config import DEFAULT_PRESET, PRESETS, DataConfig, TrainConfig

log = logging.getLogger(__name__)

Store = Annotated[Path, typer.Argument(help="Region store written by `getx prepare`.")]
_NESTED = {"model": ModelConfig, "data": DataConfig}
_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD


@dataclass(frozen=True)
class _Option:
    """One config field offered as a command-line option."""

    section: str  # "" (TrainConfig), "data" or "model"
    field: str
    kind: Any  # the field's type
    help: str
    flag: str

    @property
    def name(self) -> str:
        return self.flag[2:].replace("-", "_")

    def parameter(self, defaults: str) -> inspect.Parameter:
        optional = self.kind if type(None) in typing.get_args(self.kind) else self.kind | None
        flag = f"{self.flag}/--no-{self.flag[2:]}" if self.kind is bool else self.flag
        annotation = Annotated[optional, typer.Option(flag, help=self.help + defaults)]
        return inspect.Parameter(self.name, _KEYWORD, default=None, annotation=annotation)

    def value(self, config: TrainConfig) -> Any:
        holder = getattr(config, self.section) if self.section else config
        return holder.get(self.field) if isinstance(holder, dict) else getattr(holder, self.field)


def _options(command: str, section: str = "", cls: type = TrainConfig) -> list[_Option]:
    """The config fields ``command`` offers, in declaration order (the model's and the data's
    where TrainConfig holds them)."""
    options = []
    kinds = typing.get_type_hints(cls)
    for f in fields(cls):
        if not section and f.name in _NESTED:
            options += _options(command, f.name, _NESTED[f.name])
        elif "help" in f.metadata and command in f.metadata["commands"]:
            flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
            options.append(_Option(section, f.name, kinds[f.name], f.metadata["help"], flag))
    return options


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return "none" if value is None else str(value)


def _defaults(option: _Option, presets: dict[str, TrainConfig]) -> str:
    """The option's value under each preset (``presets``: name -> its config), for its help."""
    if option.field == "preset":
        return f" Default: {DEFAULT_PRESET}."
    values = {}
    for name, config in presets.items():
        value = option.value(config)
        if option.section == "model" and value is None:
            value = next(f.default for f in fields(ModelConfig) if f.name == option.field)
        values[name] = _show(value)
    default = values.pop(DEFAULT_PRESET)
    others = ", ".join(f"{name}: {v}" for name, v in values.items() if v != default)
    return f" Default: {default}" + (f" ({others})." if others else ".")


def _base_parameters() -> list[inspect.Parameter]:
    return [
        inspect.Parameter(
            "store",
            _KEYWORD,
            default=None,
            annotation=Annotated[
                Path | None,
                typer.Argument(help="Region store written by `getx prepare` (or --config's)."),
            ],
        ),
        inspect.Parameter(
            "out",
            _KEYWORD,
            default=None,
            annotation=Annotated[
                Path | None, typer.Option("--out", "-o", help="Run directory (or --config's).")
            ],
        ),
        inspect.Parameter(
            "config",
            _KEYWORD,
            default=None,
            annotation=Annotated[
                Path | None,
                typer.Option(
                    help="A saved config.yaml (or its run directory) to start from instead of "
                    "--preset; the options given replace what they name."
                ),
            ],
        ),
        inspect.Parameter(
            "resume",
            _KEYWORD,
            default=False,
            annotation=Annotated[
                bool, typer.Option(help="Continue the run in --out from its last checkpoint.")
            ],
        ),
    ]


def config_from_options(command: str, values: dict[str, Any]) -> TrainConfig:
    """The TrainConfig of a ``getx pretrain|finetune`` call (``values``: its parameters)."""
    from getx.train.config import read_config

    if values.get("resume") and values.get("config") is None and values.get("store") is None:
        values = {**values, "config": values.get("out")}  # `--resume --out RUN`: its own config
    changes: dict[str, Any] = {}
    for option in _options(command):
        value = values.get(option.name)
        if value is None:
            continue
        value = list(value) if isinstance(value, (list, tuple)) else value
        if option.section:
            changes.setdefault(option.section, {})[option.field] = value
        else:
            changes[option.field] = value
    for key in ("store", "out"):
        if values.get(key) is not None:
            changes[key] = str(values[key])
    if command == "pretrain":
        changes["task"] = "pretrain"
    elif changes.get("task") == "pretrain":
        raise InputError("task pretrain: use `getx pretrain` for masked-region pretraining")
    if values.get("config") is not None:
        base = read_config(values["config"])
        if base.task == "pretrain" and "task" not in changes:
            changes["task"] = "expression"  # a pretraining config's data settings, finetuned
        return base.updated(changes)
    missing = [name for name, key in (("STORE", "store"), ("--out", "out")) if key not in changes]
    if missing:
        raise InputError(f"missing {' and '.join(missing)} (or --config with a saved config)")
    return TrainConfig.from_preset(
        changes.pop("preset", DEFAULT_PRESET),
        changes.pop("store"),
        changes.pop("out"),
        task=changes.pop("task", "expression"),
        **changes,
    )


def _training_command(command: str, doc: str) -> Callable[..., None]:
    """The typer command ``command`` with a parameter for every config option it offers."""
    task = "pretrain" if command == "pretrain" else "expression"
    presets = {name: TrainConfig.from_preset(name, "store", "out", task=task) for name in PRESETS}
    parameters = _base_parameters() + [
        option.parameter(_defaults(option, presets)) for option in _options(command)
    ]
    signature = inspect.Signature(parameters)

    def run(*args: Any, **kwargs: Any) -> None:
        from getx.train.run import train

        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        config = config_from_options(command, bound.arguments)
        out = train(config, resume=bool(bound.arguments["resume"]))
        typer.echo(f"run directory: {out}")

    run.__signature__ = signature  # type: ignore[attr-defined]
    run.__name__ = run.__qualname__ = command
    run.__doc__ = doc
    return run


pretrain = _training_command(
    "pretrain", "Masked-region pretraining (MSE on the masked regions' features)."
)
finetune = _training_command(
    "finetune",
    "Finetune a head: expression (Poisson NLL on log labels) or accessibility from motifs.",
)


def predict(
    checkpoint: Annotated[Path, typer.Argument(help="Training checkpoint (.ckpt) or run dir.")],
    store: Store,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file.")],
    cell_types: Annotated[
        list[str] | None,
        typer.Argument(help="Cell types in the store (default: every one).", show_default=False),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="tsv (one row per gene row and cell type) or h5ad (genes x cell types AnnData; "
            "see docs/format.md). Default: h5ad for an --out ending in .h5ad, else tsv.",
        ),
    ] = None,
) -> None:
    """Predict expression for every gene with an accessible TSS region; write a TSV or h5ad."""
    from getx.io.files import check_output
    from getx.train.predict import (
        PREDICTION_KINDS,
        load_model,
        prediction_format,
        write_predictions,
    )

    output_format = prediction_format(out, output_format)
    check_output(out, PREDICTION_KINDS[output_format], inputs=[checkpoint, store])
    predictor = load_model(checkpoint)
    table = predictor.predict_cell_types(store, cell_types or None)
    write_predictions(table, out, output_format, predictor)
    typer.echo(f"{len(table)} gene rows -> {out}")


def evaluate(
    run: Annotated[Path, typer.Argument(help="Run directory (or .ckpt) of an expression model.")],
    store: Store,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for predictions.tsv and scores.")
    ],
    compare: Annotated[
        list[Path] | None,
        typer.Option(help="Another run scored on the same split (repeatable)."),
    ] = None,
) -> None:
    """Score a run on its own held-out chromosomes and cell types, against the baselines.

    Writes predictions.tsv, scores.tsv (Pearson, Spearman, R2 per model and split) and
    per_cell_type.tsv (the run's scores per cell type and split).
    """
    from getx.io.files import check_output, removed_on_failure
    from getx.store import open_store
    from getx.train.evaluate import EVALUATION_KIND, evaluate_runs, write_evaluation

    runs = {str(path): path for path in [run, *(compare or [])]}
    check_output(out, EVALUATION_KIND, inputs=[store, *runs.values()])
    predictions = evaluate_runs(open_store(store), runs)
    with removed_on_failure(out):
        scores, _ = write_evaluation(out, predictions)
    for row in scores[scores["model"] == str(run)].itertuples():
        log.info("%s: Pearson %.3f (n=%d)", row.group, row.pearson, row.n)
    typer.echo(f"scores -> {out / 'scores.tsv'}")
