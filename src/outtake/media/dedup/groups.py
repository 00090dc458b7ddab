"""Grouping near-duplicates, for the scanner: each group is shown once."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from outtake.media.dedup.matcher import Signature, Thresholds, match_clips


def group_near_duplicates(
    items: Mapping[Hashable, Signature], thresholds: Thresholds = Thresholds()
) -> list[list[Hashable]]:
    """Keys of items grouped by near-duplicate matches (transitively), in the input's order.

    Build a Signature per item with Signature.from_frames(frames of hash_media(path)).
    Pairs are compared directly: a scanned folder holds thousands of files, not millions."""
    keys = list(items)
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            if root(i) != root(j) and match_clips(items[keys[i]], items[keys[j]], thresholds):
                parent[root(j)] = root(i)
    groups: dict[int, list[Hashable]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(root(i), []).append(key)
    return list(groups.values())
