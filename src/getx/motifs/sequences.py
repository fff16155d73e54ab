"""Sequences held in memory for scanning: a genome over strings, and background sequences.

:class:`SequenceGenome` serves ``fetch(chrom, start, end)`` (the genome protocol of
:mod:`getx.motifs.scanning`) from a dict of strings, so :func:`getx.motifs.region_features`
can featurise sequences that are not in a genome file (ChIP-seq summit FASTAs, MPRA elements,
a chromosome piece read once). :func:`dinucleotide_shuffle` makes the classic control set for
motif enrichment: the same sequence with every dinucleotide count kept (Altschul and Erickson
1985), so a motif that separates real sequences from their shuffles does so by its arrangement
of letters, not by GC or CpG content.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np


class SequenceGenome:
    """chrom -> sequence (upper-cased); a chromosome may start at an offset (its first base's
    0-based position). Positions outside a sequence read as N, as the genome protocol requires."""

    def __init__(self, sequences: Mapping[str, str], offsets: Mapping[str, int] | None = None):
        self.sequences = {name: seq.upper() for name, seq in sequences.items()}
        self.offsets = dict(offsets or {})

    def fetch(self, chrom: str, start: int, end: int) -> str:
        seq = self.sequences[chrom]
        offset = self.offsets.get(chrom, 0)
        a, b = start - offset, end - offset
        left = "N" * max(0, min(b, 0) - a)
        right = "N" * max(0, b - max(a, len(seq)))
        return left + seq[max(a, 0) : max(min(b, len(seq)), 0)] + right


def dinucleotide_shuffle(seq: str, rng: np.random.Generator) -> str:
    """A random sequence with the same first and last letter and every dinucleotide count of
    ``seq`` (Altschul-Erickson: a random Eulerian walk over the dinucleotide graph, drawn
    uniformly by first choosing each letter's last exit so that they form a tree rooted at the
    last letter)."""
    if len(seq) < 3:
        return seq
    edges: dict[str, list[str]] = {}
    for a, b in itertools.pairwise(seq):
        edges.setdefault(a, []).append(b)
    last = seq[-1]
    while True:
        last_edge = {v: succ[rng.integers(len(succ))] for v, succ in edges.items() if v != last}
        if all(_reaches(v, last, last_edge) for v in last_edge):
            break
    order = {}
    for v, succ in edges.items():
        rest = list(succ)
        if v in last_edge:
            rest.remove(last_edge[v])
        shuffled = [rest[i] for i in rng.permutation(len(rest))]
        order[v] = [*shuffled, last_edge[v]] if v in last_edge else shuffled
    out, u = [seq[0]], seq[0]
    used = dict.fromkeys(order, 0)
    for _ in range(len(seq) - 1):
        step = order[u][used[u]]
        used[u] += 1
        out.append(step)
        u = step
    return "".join(out)


def _reaches(start: str, root: str, last_edge: dict[str, str]) -> bool:
    """Whether following ``last_edge`` from ``start`` reaches ``root`` without a cycle."""
    seen, u = set(), start
    while u != root:
        if u in seen:
            return False
        seen.add(u)
        u = last_edge[u]
    return True
