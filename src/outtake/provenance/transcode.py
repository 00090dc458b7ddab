"""Transcode profiles: a buyer who wants uniform training input instead of the stream copy.

A profile re-encodes each clip to H.264 (yuv420p, AAC audio) at most a given height, optionally
at a fixed frame rate and cut to a maximum length. The delivered file starts exactly at the
clip's first frame; its sample JSON names the profile. Pure Python over PyAV.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import BinaryIO

import av

from outtake.media.videos import seek_at_or_before
from outtake.provenance.cut import Cut

STREAM_COPY = "stream_copy"
AUDIO_RATE = 48_000


@dataclass(frozen=True)
class Profile:
    name: str
    label: str
    max_height: int = 1080
    fps: int | None = None  # None: the source's average frame rate
    max_clip_s: float | None = None  # longer clips are delivered as their first seconds
    crf: int = 18
    preset: str = "veryfast"

    def as_dict(self) -> dict:
        return asdict(self)


PROFILES = {
    p.name: p
    for p in (
        Profile("h264_1080p", "H.264 at most 1080p, the source's frame rate"),
        Profile("h264_1080p_30fps", "H.264 at most 1080p, 30 fps", fps=30),
        Profile(
            "h264_1080p_30fps_10s", "H.264 at most 1080p, 30 fps, 10 s at most", 1080, 30, 10.0
        ),
        Profile("h264_720p_30fps", "H.264 at most 720p, 30 fps", 720, 30),
    )
}
CHOICES = [(STREAM_COPY, "Stream copy: the original encoding, no quality loss")] + [
    (p.name, p.label) for p in PROFILES.values()
]


def _size(width: int, height: int, max_height: int) -> tuple[int, int]:
    """Scaled to at most max_height, aspect kept, even dimensions (yuv420p needs them)."""
    if height > max_height:
        width, height = round(width * max_height / height), max_height
    return width - width % 2, height - height % 2


def transcode_video(
    src: str, start_s: float, end_s: float | None, out: BinaryIO, profile: Profile
) -> Cut:
    """Encode [start_s, end_s) of src (capped at the profile's length) into out as MP4.

    Times count from the video stream's first frame, as the analysis's clip times do, not from
    the container's clock (which starts later than 0 in MPEG-TS and some MOV files).
    """
    with av.open(src) as inp:
        video = inp.streams.video[0]
        audio = inp.streams.audio[0] if inp.streams.audio else None
        first = video.start_time or 0
        origin = float(first * video.time_base)  # the first frame's time on the container clock
        duration = float(inp.duration / av.time_base) if inp.duration else float("inf")
        end = min(end_s if end_s is not None else duration, duration)
        if profile.max_clip_s is not None:
            end = min(end, start_s + profile.max_clip_s)
        fps = Fraction(profile.fps) if profile.fps else Fraction(video.average_rate or 30)
        width, height = _size(video.width, video.height, profile.max_height)
        seek_at_or_before(inp, video, first + round(start_s / video.time_base))
        with av.open(out, "w", format="mp4") as dst:
            vout = dst.add_stream(
                "libx264",
                rate=fps,
                options={
                    "crf": str(profile.crf),
                    "preset": profile.preset,
                    "x264-params": "log-level=none",
                },
            )
            vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
            aout = resampler = None
            if audio is not None:
                aout = dst.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
                resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
            held = None  # the latest frame: it fills every output slot before the next one
            slots = 0
            samples = 0

            def emit(frame, until: float) -> None:
                nonlocal slots
                while slots / fps < until - 1e-6:
                    copy = frame.reformat(width=width, height=height, format="yuv420p")
                    copy.pts, copy.time_base = slots, 1 / fps
                    dst.mux(vout.encode(copy))
                    slots += 1

            streams = [video] + ([audio] if audio is not None else [])
            for frame in inp.decode(*streams):
                if frame.time is None:
                    continue
                t = frame.time - origin
                if t < start_s - 1e-6:
                    continue
                if isinstance(frame, av.VideoFrame):
                    if t >= end - 1e-6:
                        if aout is None or samples / AUDIO_RATE >= end - start_s:
                            break
                        continue
                    if held is not None:
                        emit(held, t - start_s)
                    held = frame
                elif t < end - 1e-6:
                    for chunk in resampler.resample(frame):
                        chunk.pts, chunk.time_base = samples, Fraction(1, AUDIO_RATE)
                        samples += chunk.samples
                        dst.mux(aout.encode(chunk))
            if held is None:
                raise ValueError("no video frame in the clip")
            emit(held, end - start_s)
            dst.mux(vout.encode())
            if aout is not None:
                dst.mux(aout.encode())
    length = round(slots / fps, 6)
    return Cut(
        clip_start_s=start_s,
        clip_end_s=round(start_s + length, 6),
        file_start_s=start_s,
        file_end_s=round(start_s + length, 6),
        trim_start_s=0.0,
        clip_duration_s=float(length),
        video_codec="h264",
        stream_copy=False,
    )
