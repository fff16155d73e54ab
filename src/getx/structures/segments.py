"""Split a chain into ordered and disordered segments from its pLDDT profile.

The profile is smoothed by a centred moving average over ``window`` residues (fewer at the chain
ends). A residue is *ordered* where the smoothed pLDDT is at least ``cut`` (70: AlphaFold's
"confident" band starts there; disordered regions mostly score below it), *disordered* below.
Runs shorter than ``min_length`` residues are then merged into their neighbours, the shortest run
first, so that a few low-confidence residues in a loop do not split a domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW = 11
CUT = 70.0
MIN_LENGTH = 10
ORDERED, DISORDERED = "ordered", "disordered"


@dataclass(frozen=True)
class Segment:
    """Residues ``start:end`` (0-based positions, end exclusive) of one chain."""

    start: int
    end: int
    ordered: bool

    @property
    def kind(self) -> str:
        return ORDERED if self.ordered else DISORDERED


def smooth(values: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Centred moving average; near the ends the mean of the residues inside the window."""
    values = np.asarray(values, dtype=np.float64)
    half = window // 2
    sums = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(values.size)
    lo = np.maximum(index - half, 0)
    hi = np.minimum(index + half + 1, values.size)
    return (sums[hi] - sums[lo]) / (hi - lo)


def segment_chain(
    plddt: np.ndarray, window: int = WINDOW, cut: float = CUT, min_length: int = MIN_LENGTH
) -> list[Segment]:
    """Ordered/disordered segments covering the chain, each at least ``min_length`` long
    (unless the chain itself is shorter)."""
    state = smooth(plddt, window) >= cut
    if not state.size:
        return []
    # Runs as [start, end, state]; flip the shortest short run until none is left.
    edges = np.flatnonzero(np.diff(state.astype(np.int8))) + 1
    starts = [0, *edges.tolist()]
    ends = [*edges.tolist(), state.size]
    runs = [[s, e, bool(state[s])] for s, e in zip(starts, ends, strict=True)]
    while len(runs) > 1:
        lengths = [e - s for s, e, _ in runs]
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= min_length:
            break
        runs[shortest][2] = not runs[shortest][2]
        merged: list[list] = []
        for run in runs:
            if merged and merged[-1][2] == run[2]:
                merged[-1][1] = run[1]
            else:
                merged.append(run)
        runs = merged
    return [Segment(s, e, o) for s, e, o in runs]
