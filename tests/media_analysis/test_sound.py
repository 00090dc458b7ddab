"""Audio and speech: espeak-ng speech is (clean) speech, tone and noise are not; clipping is a
defect, silence a tag; a shaken camera is flagged and a smooth pan is not."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from outtake.media.analysis.analyse import analyse
from outtake.media.analysis.audio import integrated_loudness
from outtake.media.analysis.benchmedia import espeak

from ..conftest import need_tool
from .conftest import RATE, SIZE, canvas, grain

SECONDS = 4
AUDIO_RATE = 16_000


def _with_sound(path: Path, sound: np.ndarray | None, pictures) -> Path:
    """A 4 s clip of pictures (RGB) with mono sound (float, ±1) encoded as AAC."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=RATE)
        video.width, video.height, video.pix_fmt = *SIZE, "yuv420p"
        video.options = {"preset": "veryfast", "x264-params": "keyint=50:bframes=3:scenecut=0"}
        audio = (
            container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
            if sound is not None
            else None
        )
        for i, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, RATE)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            for start in range(0, len(sound) - 1023, 1024):
                chunk = sound[start : start + 1024].astype(np.float32)[None, :]
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = AUDIO_RATE, start
                frame.time_base = Fraction(1, AUDIO_RATE)
                container.mux(audio.encode(frame))
            container.mux(audio.encode())
    return path


def _steady(offset) -> list[np.ndarray]:
    """Frames of a textured scene at the offsets offset(i) gives (x, y)."""
    scene = canvas(4, pad=64)
    rng = np.random.default_rng(3)
    frames = []
    for i in range(SECONDS * RATE):
        x, y = offset(i, rng)
        frames.append(grain(scene[y : y + SIZE[1], x : x + SIZE[0]], rng, 3))
    return frames


PAN = _steady(lambda i, rng: (i // 2, 20))
SHAKEN = _steady(lambda i, rng: tuple(int(v) for v in 32 + rng.integers(-7, 8, 2)))
TRIPOD = _steady(lambda i, rng: (32, 32))


def _shot(path: Path) -> dict:
    (shot,) = analyse(path, min_shot_s=10)["shots"]
    return shot


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    need_tool("espeak-ng", "speech made offline for the speech detector")
    voice = espeak("Outtake pays creators for footage they never published.", AUDIO_RATE)
    pause = np.zeros(AUDIO_RATE // 2, np.float32)
    return np.concatenate([pause, voice, pause, voice])[: SECONDS * AUDIO_RATE] * 0.8


def test_speech_is_clean_speech(tmp_path, speech):
    shot = _shot(_with_sound(tmp_path / "speech.mp4", speech, TRIPOD))
    assert shot["speech"]["share"] > 0.5
    assert {"speech", "clean_speech"} <= set(shot["tags"])
    assert shot["speech"]["segments"][0][0] == pytest.approx(0.5, abs=0.3)
    assert shot["audio"]["silent"] is False and "silent" not in shot["tags"]


def test_speech_under_loud_noise_is_speech_but_not_clean(tmp_path, speech):
    noise = np.random.default_rng(1).normal(0, 0.1, len(speech)).astype(np.float32)
    shot = _shot(_with_sound(tmp_path / "noisy.mp4", speech + noise, TRIPOD))
    assert "clean_speech" not in shot["tags"]
    assert shot["speech"]["clean_score"] < 0.6


@pytest.mark.parametrize("kind", ["tone", "noise"])
def test_tone_and_noise_are_not_speech(tmp_path, kind):
    t = np.arange(SECONDS * AUDIO_RATE) / AUDIO_RATE
    sound = (
        0.3 * np.sin(2 * np.pi * 440 * t)
        if kind == "tone"
        else np.random.default_rng(2).uniform(-0.3, 0.3, len(t))
    )
    shot = _shot(_with_sound(tmp_path / f"{kind}.mp4", sound, TRIPOD))
    assert shot["speech"]["share"] == 0
    assert not {"speech", "clean_speech", "silent"} & set(shot["tags"])
    assert shot["quality"]["loudness"]["severity"] == "pass"


def test_silence_is_a_tag_not_a_defect(tmp_path):
    shot = _shot(_with_sound(tmp_path / "silent.mp4", np.zeros(SECONDS * AUDIO_RATE), TRIPOD))
    assert "silent" in shot["tags"]
    assert not [p for p in shot["problems"] if p["code"] in ("loudness", "audio_clipping")]


def test_clipped_audio_is_a_defect(tmp_path):
    t = np.arange(SECONDS * AUDIO_RATE) / AUDIO_RATE
    clipped = np.clip(3 * np.sin(2 * np.pi * 220 * t), -1, 1)
    shot = _shot(_with_sound(tmp_path / "clipped.mp4", clipped, TRIPOD))
    assert {p["code"]: p["severity"] for p in shot["problems"]}["audio_clipping"] in (
        "warn",
        "fail",
    )


def test_loudness_of_a_full_scale_1khz_tone_is_about_minus_3_lufs():
    # BS.1770's reference; the K-weighting redesigned for 16 kHz is off by a few tenths.
    t = np.arange(5 * AUDIO_RATE) / AUDIO_RATE
    assert integrated_loudness(np.sin(2 * np.pi * 1000 * t)) == pytest.approx(-3.0, abs=0.5)
    assert integrated_loudness(np.zeros(AUDIO_RATE)) is None


@pytest.mark.parametrize(
    ("pictures", "camera", "shake"),
    [(PAN, "moving", "pass"), (TRIPOD, "static", "pass"), (SHAKEN, "moving", "fail")],
)
def test_camera_motion_and_shake(tmp_path, pictures, camera, shake):
    shot = _shot(_with_sound(tmp_path / "motion.mp4", None, pictures))
    assert shot["motion"]["camera"] == camera
    assert f"{camera}_camera" in shot["tags"]
    assert shot["quality"]["shake"]["severity"] == shake
