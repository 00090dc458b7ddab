"""Audio quality per shot: clipping and loudness; silence is a tag, never a defect.

Loudness is an approximate EBU R128 integrated loudness: ITU-R BS.1770 K-weighting and its
400 ms gated blocks, measured on the mono mix at 16 kHz (so a stereo file with the same sound
in both channels reads about 3 LU lower than a full R128 meter would say). B-roll and drone
clips are often silent: that is tagged "silent", for buyers who want or avoid it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.signal import lfilter

from outtake.media.analysis.pipeline import Context, Shot, Step
from outtake.media.analysis.quality import Check, _grade
from outtake.media.analysis.sound import RATE, Sound

CLIP_WARN, CLIP_FAIL = 0.001, 0.01  # share of samples at full scale
QUIET_WARN_LUFS = -36.0  # speech or ambience this quiet drowns in the noise when raised
LOUD_WARN_LUFS = -6.0  # mastered this hot, it is usually limited or distorted
SILENT_LUFS = -60.0  # below this (or under R128's absolute gate) a shot is silent
_BLOCK_S, _STEP_S = 0.4, 0.1
_ABSOLUTE_GATE, _RELATIVE_GATE = -70.0, -10.0


def _biquad(kind: str, f0: float, gain_db: float, q: float, rate: int) -> tuple:
    """RBJ cookbook coefficients for BS.1770's two K-weighting stages at any sample rate."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * f0 / rate
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    if kind == "high_shelf":
        root = 2 * math.sqrt(a) * alpha
        b = [a * ((a + 1) + (a - 1) * cos + root), -2 * a * ((a - 1) + (a + 1) * cos)]
        b.append(a * ((a + 1) + (a - 1) * cos - root))
        den = [(a + 1) - (a - 1) * cos + root, 2 * ((a - 1) - (a + 1) * cos)]
        den.append((a + 1) - (a - 1) * cos - root)
    else:  # high pass
        b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
        den = [1 + alpha, -2 * cos, 1 - alpha]
    return np.array(b) / den[0], np.array(den) / den[0]


_K_WEIGHTING = (
    _biquad("high_shelf", 1681.974450955533, 3.999843853973347, 0.7071752369554196, RATE),
    _biquad("high_pass", 38.13547087602444, 0.0, 0.5003270373238773, RATE),
)


def integrated_loudness(samples: np.ndarray, rate: int = RATE) -> float | None:
    """Gated loudness in LUFS of mono samples, None when every block is under the gate."""
    weighted = samples.astype(np.float64)
    for b, a in _K_WEIGHTING:
        weighted = lfilter(b, a, weighted)
    block, step = round(_BLOCK_S * rate), round(_STEP_S * rate)
    if len(weighted) < block:
        return None
    whole = len(weighted) // step * step
    power = (weighted[:whole] ** 2).reshape(-1, step).mean(axis=1)  # 100 ms powers
    blocks = np.convolve(power, np.ones(4) / 4, "valid")  # 400 ms blocks, 75 % overlap
    loud = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-12))
    gated = blocks[loud > _ABSOLUTE_GATE]
    if not len(gated):
        return None
    relative = -0.691 + 10 * math.log10(gated.mean()) + _RELATIVE_GATE
    kept = blocks[loud > max(_ABSOLUTE_GATE, relative)]
    return -0.691 + 10 * math.log10(kept.mean())


def shot_samples(sound: Sound, shot: Shot) -> np.ndarray:
    return sound.samples[round(shot.start_s * RATE) : round(shot.end_s * RATE)]


class Audio(Step):
    name = "audio"
    version = 1

    def finish(self, context: Context) -> list[dict[str, Any]]:
        sound = context.source.sound() if context.source else None
        if sound is None:
            return [{} for _ in context.shots]
        results = []
        clipping = Check(
            "audio_clipping",
            round(sound.clipped_share, 5),
            _grade(sound.clipped_share, CLIP_WARN, CLIP_FAIL),
            f"{sound.clipped_share:.2%} of the audio samples are at full scale"
            + (" (clipped: distorted sound)" if sound.clipped_share >= CLIP_WARN else ""),
        )
        for shot in context.shots:
            lufs = integrated_loudness(shot_samples(sound, shot))
            silent = lufs is None or lufs < SILENT_LUFS
            self.stats.count("seconds_heard", round(shot.end_s - shot.start_s))
            checks = [clipping] if not silent else []
            if not silent:
                checks.append(_loudness_check(lufs))
            results.append(
                {
                    "audio": {
                        "silent": silent,
                        "loudness_lufs": None if lufs is None else round(lufs, 1),
                        "clipped_share": clipping.value,
                    },
                    "quality": {
                        c.code: {"value": c.value, "severity": c.severity, "reason": c.reason}
                        for c in checks
                    },
                    "problems": [c.as_problem() for c in checks if c.severity != "pass"],
                    "tags": ["silent"] if silent else [],
                }
            )
        return results


def _loudness_check(lufs: float) -> Check:
    if lufs < QUIET_WARN_LUFS:
        severity, verdict = "warn", "too quiet"
    elif lufs > LOUD_WARN_LUFS:
        severity, verdict = "warn", "too loud"
    else:
        severity, verdict = "pass", "at a usable level"
    return Check("loudness", round(lufs, 1), severity, f"the sound is {verdict} ({lufs:.0f} LUFS)")
