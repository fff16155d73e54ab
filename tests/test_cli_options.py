"""Class 3 of issue #14 for option values: every out-of-range, non-finite, huge or mistyped value
of every command's options is refused at once with one line naming the option and the value,
exit code 2, nothing written and no traceback (never a ValueError, OverflowError or a typer box).
"""

from __future__ import annotations

# Imported before any CliRunner call: Lightning's log handler keeps the stderr it was imported
# under, and CliRunner closes its own after each call ("--- Logging error --- Traceback").
import lightning  # noqa: F401
import pytest

from cli_checks import refused
from tiny_dataset import tiny_dataset

HUGE = str(10**30)

# (command with its valid arguments; OUT is the output path, STORE/RUN/IMP the dataset's)
COMMANDS = {
    "finetune": ["finetune", "STORE", "-o", "OUT"],
    "pretrain": ["pretrain", "STORE", "-o", "OUT"],
    "simulate": ["simulate", "-o", "OUT"],
    "prepare": ["prepare", "--data", "SIM", "-o", "OUT"],
    "predict": ["predict", "RUN", "STORE", "-o", "OUT"],
    "interpret": ["interpret", "RUN", "STORE", "--cell-type", "ct1", "-o", "OUT"],
    "links": ["links", "RUN", "STORE", "--cell-type", "ct1", "-o", "OUT"],
    "perturb": ["perturb", "RUN", "STORE", "--cell-type", "ct1", "--motif", "CTCF", "-o", "OUT"],
    "network": ["network", "build", "IMP", "-o", "OUT.json"],
    "structures-score": ["structures", "score", "none.pdb", "-o", "OUT"],
    "structures-pairs": ["structures", "pairs", "--fasta", "p.fa", "--pairs", "p.tsv", "-o",
                         "OUT.csv"],
    "motifs-cluster": ["motifs", "cluster", "-o", "OUT"],
    "demo": ["demo", "-o", "OUT"],
}  # fmt: skip

# (command, extra options, text the error line must hold: the option and the value given)
CASES = [
    ("finetune", ["--epochs", "0"], "epochs 0 must be at least 1"),
    ("finetune", ["--epochs", "-3"], "epochs -3"),
    ("finetune", ["--epochs", "ten"], "'--epochs'"),
    ("finetune", ["--epochs", "1e3"], "(got '1e3')"),
    ("finetune", ["--lr", "nan"], "lr nan must be above 0"),
    ("finetune", ["--lr", "inf"], "lr inf"),
    ("finetune", ["--lr", "-1e-4"], "lr -0.0001"),
    ("finetune", ["--lr", "fast"], "(got 'fast')"),
    ("finetune", ["--min-lr", "nan"], "min_lr nan"),
    ("finetune", ["--batch-size", "0"], "batch_size 0 must be at least 1"),
    ("finetune", ["--batch-size", "2.5"], "(got '2.5')"),
    ("finetune", ["--motif-dropout", "1.5"], "motif_dropout 1.5 must lie in [0, 1)"),
    ("finetune", ["--motif-dropout", "nan"], "motif_dropout nan"),
    ("finetune", ["--distance-buckets", HUGE], f"distance_buckets {HUGE}"),
    ("finetune", ["--seed", "-1"], "seed -1 must lie in [0, 4294967295]"),
    ("finetune", ["--seed", HUGE], f"seed {HUGE}"),
    ("finetune", ["--regions", "0"], "regions 0 must lie in [1, 100000]"),
    ("finetune", ["--regions", HUGE], f"regions {HUGE}"),
    ("finetune", ["--step", "-2"], "step -2"),
    ("finetune", ["--warmup-steps", "-5"], "warmup_steps -5"),
    ("finetune", ["--weight-decay", "nan"], "weight_decay nan"),
    ("finetune", ["--layer-decay", "0"], "layer_decay 0"),
    ("finetune", ["--label-cutoff", "inf"], "label_cutoff inf"),
    ("finetune", ["--limit-val-batches", "2.5"], "limit_val_batches 2.5"),
    ("finetune", ["--limit-val-batches", "-1"], "limit_val_batches -1"),
    ("finetune", ["--checkpoint-every", "0"], "checkpoint_every 0"),
    ("finetune", ["--num-workers", "-1"], "num_workers -1"),
    ("finetune", ["--max-steps", "0"], "max_steps 0"),
    ("finetune", ["--lora-rank", "-1"], "lora_rank -1"),
    ("finetune", ["--lora-alpha", "0"], "lora_alpha 0"),
    ("finetune", ["--precision", "fp8"], "precision 'fp8'"),
    ("finetune", ["--preset", "huge"], "unknown preset 'huge'"),
    ("finetune", ["--loss", "l1"], "loss 'l1'"),
    ("finetune", ["--loss-on", "genes"], "loss_on 'genes'"),
    ("finetune", ["--accessibility", "log"], "accessibility mode 'log'"),
    ("finetune", ["--min-context", "-1"], "min_context -1"),
    ("finetune", ["--task", "pretrain"], "use `getx pretrain`"),
    ("pretrain", ["--mask-ratio", "1"], "mask_ratio 1.0 must lie in (0, 1)"),
    ("pretrain", ["--mask-ratio", "nan"], "mask_ratio nan"),
    ("simulate", ["--seed", "-1"], "--seed -1 must lie in [0, 4294967295]"),
    ("simulate", ["--seed", HUGE], f"--seed {HUGE}"),
    ("simulate", ["--seed", "x1"], "(got 'x1')"),
    ("simulate", ["--preset", "gigantic"], "choose one of tiny, small, demo, large"),
    ("prepare", ["--p-value", "0"], "--p-value 0.0 must lie in (0, 1)"),
    ("prepare", ["--p-value", "1.5"], "--p-value 1.5"),
    ("prepare", ["--p-value", "nan"], "--p-value nan"),
    ("prepare", ["--p-value", "-1e-4"], "--p-value -0.0001"),
    ("prepare", ["--peak-width", "0"], "--peak-width 0"),
    ("prepare", ["--peak-width", "-400"], "--peak-width -400"),
    ("prepare", ["--peak-width", HUGE], f"--peak-width {HUGE}"),
    ("predict", ["--format", "xlsx"], "format 'xlsx'"),
    ("interpret", ["--batch-size", "0"], "--batch-size 0"),
    ("links", ["--batch-size", "-8"], "--batch-size -8"),
    ("perturb", ["--scale", "nan"], "--scale nan"),
    ("perturb", ["--scale", "-1"], "--scale -1.0"),
    ("network", ["--runs", "0"], "--runs 0"),
    ("network", ["--min-stability", "1.5"], "--min-stability 1.5"),
    ("network", ["--top-motifs", "-1"], "--top-motifs -1"),
    ("network", ["--seed", HUGE], f"--seed {HUGE}"),
    ("structures-score", ["--pae-cutoff", "0"], "pae_cutoff 0.0"),
    ("structures-score", ["--contact-cutoff", "nan"], "contact_cutoff nan"),
    ("structures-pairs", ["--top", "0"], "--top 0"),
    ("motifs-cluster", ["--n-clusters", "0"], "--n-clusters 0"),
    ("motifs-cluster", ["--cut", "nan"], "--cut nan"),
    ("motifs-cluster", ["--min-overlap", "0"], "--min-overlap 0"),
    ("motifs-cluster", ["--method", "euclid"], "unknown --method 'euclid'"),
    ("demo", ["--preset", "gigantic"], "unknown preset 'gigantic'"),
    ("demo", ["--finetune-epochs", "0"], "finetune_epochs 0"),
    ("demo", ["--motif-dropout", "2"], "motif_dropout 2.0"),
    ("demo", ["--distance-buckets", "1"], "distance_buckets 1"),
    ("demo", ["--seed", "-1"], "seed -1"),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_dataset(tmp_path_factory)


@pytest.mark.parametrize(
    ("command", "options", "expect"),
    CASES,
    ids=[f"{c}{''.join(o)}" for c, o, _ in CASES],
)
def test_bad_option_values_are_one_line(data, tmp_path, command, options, expect):
    named = {"STORE": data.store, "RUN": data.run, "IMP": data.importance, "SIM": data.sim}
    args = [
        str(tmp_path / "out") + a[3:] if a.startswith("OUT") else named.get(a, a)
        for a in COMMANDS[command]
    ]
    refused([*args, *options], tmp_path, data, expect)
    assert not list(tmp_path.iterdir())
