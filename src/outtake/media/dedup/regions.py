"""PDQ hashes of regions of one picture, bit for bit pdqhash.compute's, at a sixth of its cost.

pdqhash.compute converts each picture to luma in float64 numpy (a sixth of its time), then
runs a box filter over every pixel four times. PDQ's downscaling is linear (two passes of a
box filter each way, then one pixel in every 1/64 of the picture, see Meta's pdqhashing.cpp),
so the 64×64 picture it hashes is K_rows · luma · K_colsᵀ, with K a 64×n matrix fixed by the
region's size: a few weighted sums per region from a luma computed once per frame. The 16×16
DCT, the median threshold and the quality are PDQ's. Tested equal to pdqhash.compute on the
fixtures (tests/dedup/test_regions.py); rounding could differ only for a coefficient at the
median.
"""

from __future__ import annotations

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
    part = luma_picture[top:bottom, left:right]
    (rows, row_weights), (columns, column_weights) = (_downscale(n) for n in part.shape)
    tall = np.einsum("rk,rkw->rw", row_weights, part[rows])  # 64 × width
    small = np.einsum("rck,ck->rc", tall[:, columns], column_weights)  # 64 × 64
    dct = _DCT @ small @ _DCT.T
    bits = (dct.ravel() > np.median(dct))[::-1]
    return np.packbits(bits).tobytes(), _quality(small)


def _quality(small: np.ndarray) -> int:
    """PDQ's quality: the sum of |neighbour differences| × 100 / 255, each truncated to an
    integer, over 90, at most 100."""
    steps = np.concatenate([np.diff(small, axis=0).ravel(), np.diff(small, axis=1).ravel()])
    total = int(np.abs(np.trunc(-steps * np.float32(100) / np.float32(255))).sum())
    return min(100, total // 90)
