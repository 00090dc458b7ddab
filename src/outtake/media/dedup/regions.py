"""PDQ hashes of regions of one picture, bit for bit pdqhash.compute's, at a sixth of its cost.

pdqhash.compute converts each picture to luma in float64 numpy (a sixth of its time), then
runs a box filter over every pixel four times. PDQ's downscaling is linear (two passes of a
box filter each way, then one pixel in every 1/64 of the picture, see Meta's pdqhashing.cpp),
so the 64×64 picture it hashes is K_rows · luma · K_colsᵀ, with K a 64×n matrix fixed by the
region's size: a few weighted sums per region from a luma computed once per frame. The 16×16
DCT, the median threshold and the quality are PDQ's. Tested equal to pdqhash.compute on the
fixtures (tests/dedup/test_regions.py); rounding could differ only for a coefficient at the
median. region_hashes() hashes many regions of a picture together (0.04 ms each for the 48
regions of a frame that hashes.py makes so, against 0.13 ms for region_hash() alone).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import cv2
import numpy as np

_LUMA = np.array([[0.299, 0.587, 0.114]], np.float32)  # PDQ's RGB to luma
_SIDE = 64  # PDQ's downscaled picture is 64×64
_DCT = np.array(
    [
        [
            np.sqrt(2 / _SIDE) * np.cos(np.pi / 2 / _SIDE * (i + 1) * (2 * j + 1))
            for j in range(_SIDE)
        ]
        for i in range(16)
    ],
    np.float32,
)


def luma(picture: np.ndarray) -> np.ndarray:
    """PDQ's float luma of an RGB picture."""
    return cv2.transform(picture.astype(np.float32), _LUMA)


@lru_cache(maxsize=64)
def _downscale(n: int) -> tuple[np.ndarray, np.ndarray]:
    """PDQ's downscaling along a side of n pixels, as the 64×n matrix K's nonzero columns per
    row and their weights (each row is a narrow tent: applied as a weighted sum of those
    columns, 5 times cheaper than a dense product, and no BLAS threads). K is Jarosz's box
    filter of window ceil(n / 128) twice, each output the mean of the inputs its window covers
    within the picture, then the sample at ((i + 0.5) · n / 64)."""
    window = (n + 2 * _SIDE - 1) // (2 * _SIDE)
    half = (window + 2) // 2
    index = np.arange(n)
    low, high = np.maximum(0, index - (window - half)), np.minimum(n, index + half)
    box = np.zeros((n, n))
    for i in range(n):
        box[i, low[i] : high[i]] = 1.0 / (high[i] - low[i])
    picked = ((np.arange(_SIDE) + 0.5) * n / _SIDE).astype(int)
    kernel = (box @ box)[picked]
    width = int((kernel != 0).sum(axis=1).max())
    columns, weights = np.zeros((_SIDE, width), np.intp), np.zeros((_SIDE, width), np.float32)
    for row, taps in enumerate(kernel):
        nonzero = np.flatnonzero(taps)
        columns[row, : len(nonzero)], weights[row, : len(nonzero)] = nonzero, taps[nonzero]
    return columns, weights


def region_hash(
    luma_picture: np.ndarray, top: int, bottom: int, left: int, right: int
) -> tuple[bytes, int]:
    """The 32-byte PDQ hash of luma_picture[top:bottom, left:right] (pdqhash's bit order) and
    its PDQ quality (0–100: the downscaled picture's gradients, as pdqhash measures them)."""
    small = _columns_down(_rows_down(luma_picture[top:bottom, left:right]))
    return _hashes(small[None])[0], _quality(small)


Box = tuple[int, int, int, int]  # top, bottom, left, right


def region_hashes(luma_picture: np.ndarray, boxes: list[Box]) -> list[bytes]:
    """region_hash()'s hashes (not qualities) of many regions of one picture, at a third of
    its cost each when many share their rows or columns. The pass down the rows is most of
    the cost, and regions with the same rows share it; regions that share their columns
    instead are taken from the transposed picture, whose rows those columns are (the same
    sums in another order), and the DCTs run as one."""
    by_rows = Counter((top, bottom) for top, bottom, _, _ in boxes)
    by_columns = Counter((left, right) for _, _, left, right in boxes)
    turned = (
        cv2.transpose(luma_picture)
        if any(by_columns[b[2:]] > by_rows[b[:2]] for b in boxes)
        else None
    )
    passes: dict[tuple[bool, int, int], np.ndarray] = {}
    smalls = np.empty((len(boxes), _SIDE, _SIDE), np.float32)
    for k, (top, bottom, left, right) in enumerate(boxes):
        if turned is not None and by_columns[left, right] > by_rows[top, bottom]:
            key, picture, (low, high) = (True, left, right), turned, (top, bottom)
        else:
            key, picture, (low, high) = (False, top, bottom), luma_picture, (left, right)
        if key not in passes:
            passes[key] = _rows_down(picture[key[1] : key[2]])
        small = _columns_down(passes[key][:, low:high])
        smalls[k] = small.T if key[0] else small
    return _hashes(smalls)


def _rows_down(rows: np.ndarray) -> np.ndarray:
    """rows (n × m) downscaled to 64 × m by PDQ's kernel for n."""
    taps, weights = _downscale(len(rows))
    return np.einsum("rk,rkw->rw", weights, rows[taps])


def _columns_down(part: np.ndarray) -> np.ndarray:
    """part (64 × m) downscaled to 64 × 64 by PDQ's kernel for m: its columns made rows
    (gathering rows is faster) by OpenCV's transpose, a twelfth of numpy's copy's cost."""
    return _rows_down(cv2.transpose(part)).T


def _hashes(smalls: np.ndarray) -> list[bytes]:
    """PDQ hashes (pdqhash's bit order) of downscaled 64 × 64 pictures (R, 64, 64)."""
    dct = (_DCT @ smalls @ _DCT.T).reshape(len(smalls), -1)
    bits = (dct > np.median(dct, axis=1, keepdims=True))[:, ::-1]
    return [row.tobytes() for row in np.packbits(bits, axis=1)]


def _quality(small: np.ndarray) -> int:
    """PDQ's quality: the sum of |neighbour differences| × 100 / 255, each truncated to an
    integer, over 90, at most 100."""
    steps = np.concatenate([np.diff(small, axis=0).ravel(), np.diff(small, axis=1).ravel()])
    total = int(np.abs(np.trunc(-steps * np.float32(100) / np.float32(255))).sum())
    return min(100, total // 90)
