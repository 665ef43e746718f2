"""scikit-learn's gradient-boosted trees evaluated all at once, with the same sums.

The cold-song trees (``cold_model``) score ~1,000 candidates a request. scikit-learn walks each
tree for each row in its own call (57 calls, a node at a time): half of a request's ranking at a
year of fresh songs. Here every tree is read as bit masks (QuickScorer, Lucchese et al., SIGIR
2015): a node whose test fails (``x > threshold``: the row goes right) rules out the leaves of its
left subtree, so a row's leaf in a tree is the leftmost leaf no failed node of that tree ruled
out. Per feature, the nodes sorted by threshold make a table of the masks of the first ``c``
nodes ANDed per tree; a row's ``c`` is a binary search, and its leaves are the AND of one table
row per feature. The leaf values are then added in scikit-learn's order (baseline, then tree by
tree), so the logits are equal to the last bit (tested); a row with a missing value, a
categorical split or a tree too wide for 64-bit masks is left to scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Index of the lowest set bit of every 16-bit mask (trees of up to 16 leaves, the common case).
_LOWEST16 = np.zeros(1 << 16, dtype=np.int64)
for _bit in range(16):
    _LOWEST16[(np.arange(1 << 16) & ((1 << (_bit + 1)) - 1)) == (1 << _bit)] = _bit


@dataclass(frozen=True)
class MaskedTrees:
    """The trees of a fitted binary ``HistGradientBoosting`` model as per-feature mask tables."""

    baseline: float
    thresholds: tuple[np.ndarray, ...]  # per feature: its nodes' thresholds, ascending
    tables: tuple[np.ndarray, ...]  # per feature: (nodes + 1) x trees masks, row c = first c
    features: tuple[int, ...]  # the features some node splits on
    values: np.ndarray  # trees x leaves: leaf values in left-to-right order
    dtype: Any

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The model's raw prediction (its ``decision_function``) for every row of ``x``."""
        ones = np.array(~np.zeros((), dtype=self.dtype))
        alive = np.full((len(x), self.values.shape[0]), ones, dtype=self.dtype)
        for f, thresholds, table in zip(self.features, self.thresholds, self.tables, strict=True):
            alive &= table[np.searchsorted(thresholds, x[:, f], side="left")]
        leaf = _lowest_bit(alive).T  # trees x rows
        leaf += np.arange(0, self.values.size, self.values.shape[1])[:, None]
        values = np.take(self.values.ravel(), leaf)
        out = np.full(len(x), self.baseline)
        for tree in values:  # one tree at a time, as scikit-learn adds them (not pairwise)
            out += tree
        return out


def _lowest_bit(masks: np.ndarray) -> np.ndarray:
    if masks.dtype == np.uint16:
        return _LOWEST16[masks]
    low = masks & (~masks + masks.dtype.type(1))
    return np.log2(low.astype(np.float64)).astype(np.int64)  # exact on powers of two


def masked_trees(model: Any) -> MaskedTrees | None:
    """``model``'s trees as masks, or None when they cannot be (not a binary classifier's, a
    categorical split, more than 64 leaves in a tree)."""
    predictors = getattr(model, "_predictors", None)
    baseline = np.asarray(getattr(model, "_baseline_prediction", np.zeros((1, 2))))
    if not predictors or baseline.size != 1 or any(len(p) != 1 for p in predictors):
        return None
    trees = [p[0].nodes for p in predictors]
    if any(t["is_categorical"].any() for t in trees):
        return None
    widest = max(int(t["is_leaf"].sum()) for t in trees)
    if widest > 64:
        return None
    dtype = next(d for d in (np.uint16, np.uint32, np.uint64) if widest <= np.iinfo(d).bits)
    values = np.zeros((len(trees), widest))
    splits: dict[int, list[tuple[float, int, int]]] = {}
    for number, nodes in enumerate(trees):
        leaves = _leaf_order(nodes)
        values[number, : len(leaves)] = nodes["value"][leaves]
        for node, mask in _failure_masks(nodes, leaves, dtype):
            f = int(nodes["feature_idx"][node])
            splits.setdefault(f, []).append((float(nodes["num_threshold"][node]), number, mask))
    features = tuple(sorted(splits))
    thresholds, tables = [], []
    for f in features:
        nodes = sorted(splits[f], key=lambda s: s[0])
        table = np.full((len(nodes) + 1, len(trees)), np.iinfo(dtype).max, dtype=dtype)
        for row, (_, tree, mask) in enumerate(nodes, start=1):
            table[row] = table[row - 1]
            table[row, tree] &= dtype(mask)
        thresholds.append(np.asarray([s[0] for s in nodes]))
        tables.append(table)
    return MaskedTrees(
        float(baseline.ravel()[0]), tuple(thresholds), tuple(tables), features, values, dtype
    )


def _leaf_order(nodes: np.ndarray) -> list[int]:
    """The tree's leaves left to right (depth first, left child first)."""
    out, stack = [], [0]
    while stack:
        node = stack.pop()
        if nodes["is_leaf"][node]:
            out.append(node)
        else:
            stack += [int(nodes["right"][node]), int(nodes["left"][node])]
    return out


def _failure_masks(nodes: np.ndarray, leaves: list[int], dtype: Any) -> list[tuple[int, int]]:
    """Per split node: the leaves still possible when its test fails (all but its left
    subtree's), as a bit mask over ``leaves``."""
    bit = {leaf: i for i, leaf in enumerate(leaves)}
    full = int(np.iinfo(dtype).max)
    out = []
    for node in np.flatnonzero(~nodes["is_leaf"].astype(bool)):
        below, stack = 0, [int(nodes["left"][node])]
        while stack:
            n = stack.pop()
            if nodes["is_leaf"][n]:
                below |= 1 << bit[n]
            else:
                stack += [int(nodes["left"][n]), int(nodes["right"][n])]
        out.append((int(node), full & ~below))
    return out
