"""What a file is: kind, size, duration, codecs, camera, time and place, or why it is refused."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.container
import av.video.frame
import av.video.stream
from PIL import Image

from outtake.media.errors import MediaError
from outtake.media.images import decoding, open_photo
from outtake.media.metadata import EXIF_ROTATION, exif_orientation, exif_tags, video_tags
from outtake.media.videos import (
    COLOR_TRANSFER,
    clockwise_rotation,
    open_video,
    raise_if_out_of_resources,
    video_stream,
)

KEYS = (
    "kind", "container", "mime", "size_bytes", "duration_s", "width", "height", "rotation",
    "fps", "frame_count", "video_codec", "profile", "pix_fmt", "bit_depth", "bitrate",
    "video_bitrate", "has_audio", "audio_codec", "audio_channels", "audio_sample_rate",
    "creation_time", "camera_make", "camera_model", "camera_serial", "gps", "color_transfer",
    "image_mode",
)  # fmt: skip

_VIDEO_MIME = {
    "avi": "video/x-msvideo",
    "mpegts": "video/mp2t",
    "mpeg": "video/mpeg",
    "flv": "video/x-flv",
    "asf": "video/x-ms-asf",
    "mxf": "application/mxf",
    "ogg": "video/ogg",
}
_WEBM_CODECS = ("vp8", "vp9", "av1")
# How many decoded frames near the end prove the file's last part is really there.
_END_FRAMES = 2


def probe(
    path: str | Path, *, max_pixels: int = 100_000_000, max_duration_s: float = 6 * 3600
) -> dict[str, Any]:
    """Describe a video or photo as a JSON-serialisable dict with every key of KEYS.

    Unknown values are None. Raises MediaError (with a reason a creator can read) for files
    Outtake refuses: empty, unreadable, not video or photo, cut off, or over the size limits.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise MediaError("The file is empty (0 bytes); please upload it again", "empty")
    photo = open_photo(path, max_pixels)
    if photo is not None:
        with photo:
            return _probe_photo(photo, size)
    with open_video(path) as container:
        return _probe_video(container, size, max_duration_s)


def _probe_photo(image: Image.Image, size: int) -> dict[str, Any]:
    width, height = image.size
    with decoding():
        # Decoding proves the pixels are all there; a JPEG decodes at 1/8 scale, which is cheap.
        image.draft(None, (1, 1))
        image.load()
    # Only after load(): a PNG's eXIf chunk may follow the pixel data.
    orientation = exif_orientation(image)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    info = dict.fromkeys(KEYS)
    info.update(
        kind="image",
        container=image.format.lower() if image.format else None,
        mime=image.get_format_mimetype(),
        size_bytes=size,
        width=width,
        height=height,
        rotation=EXIF_ROTATION[orientation],
        bit_depth=_photo_bit_depth(image.mode),
        has_audio=False,
        image_mode=image.mode,
    )
    info.update(exif_tags(image))
    return info


def _photo_bit_depth(mode: str) -> int:
    if mode == "1":
        return 1
    if mode.startswith("I;16"):
        return 16
    if mode in ("I", "F"):
        return 32
    return 8


@dataclass
class _Demuxed:
    """What demuxing the whole video stream found really present in the file."""

    frames: int = 0
    bytes: int = 0
    start: int | None = None  # first timestamp, in stream.time_base
    end: int | None = None  # last timestamp plus its duration
    last_key: int | None = None
    first_frame: av.video.frame.VideoFrame | None = None
    read_error: str | None = None  # demuxing stopped early
    decode_error: str | None = None  # the first packets that would not decode


def _probe_video(
    container: av.container.InputContainer, size: int, max_duration_s: float
) -> dict[str, Any]:
    stream = video_stream(container)
    declared_s = _declared_duration(container, stream)
    if declared_s is not None and declared_s > max_duration_s:
        raise _too_long(declared_s, max_duration_s)

    found = _indexed(container, stream, size) or _demux(container, stream)
    tb = float(stream.time_base)
    present_s = (found.end - found.start) * tb if found.end is not None else 0.0
    _refuse_if_cut_off(stream, size, found, declared_s, present_s)
    if found.first_frame is None:
        raise MediaError(
            f"No frame of the video can be decoded "
            f"({found.read_error or found.decode_error or 'no picture data'}); "
            "the file is damaged",
            "not_decodable",
        )
    _decode_end(container, stream, found.last_key)

    duration_s = declared_s if declared_s is not None else present_s
    if duration_s > max_duration_s:
        raise _too_long(duration_s, max_duration_s)
    frame = found.first_frame
    codec = stream.codec_context
    rotation = clockwise_rotation(frame)
    width, height = frame.width, frame.height
    if rotation in (90, 270):
        width, height = height, width
    pix = frame.format
    trc = codec.color_trc if codec.color_trc in COLOR_TRANSFER else frame.color_trc
    fps = stream.average_rate or stream.guessed_rate
    audio_streams = container.streams.audio
    # codec_context is None when FFmpeg has no decoder for the audio codec.
    audio = audio_streams[0].codec_context if audio_streams else None

    info = dict.fromkeys(KEYS)
    info.update(
        kind="video",
        container=container.format.name,
        mime=_video_mime(container, codec.name),
        size_bytes=size,
        duration_s=_finite(duration_s),
        width=width,
        height=height,
        rotation=rotation,
        fps=_finite(float(fps)) if fps else None,
        frame_count=found.frames,
        video_codec=codec.name,
        profile=stream.profile,
        pix_fmt=pix.name,
        bit_depth=max((c.bits for c in pix.components), default=None),
        bitrate=container.bit_rate or _rate(size, duration_s),
        video_bitrate=_rate(found.bytes, present_s),
        has_audio=bool(audio_streams),
        audio_codec=audio.name if audio else None,
        audio_channels=audio.channels if audio else None,
        audio_sample_rate=audio.sample_rate if audio else None,
        color_transfer=COLOR_TRANSFER.get(trc),
        **video_tags(container.metadata, stream.metadata),
    )
    return info


def _declared_duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    if stream.duration:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _indexed(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, size: int
) -> _Demuxed | None:
    """What an MP4/QuickTime file's index (in its header) says is present, without reading the
    media data; None for other containers, whose index (if any) lists only keyframes.

    A sample the index places past the end of the file is missing, as demuxing would find.
    Only the first frame is decoded here; the last is decoded by _decode_end.
    """
    entries = stream.index_entries
    if not container.format.name.startswith("mov,") or entries is None or not len(entries):
        return None
    if stream.frames and len(entries) != stream.frames:
        return None  # an index that disagrees with the header: read what is really there
    rate = stream.average_rate or stream.guessed_rate
    frame_ticks = round(1 / (rate * stream.time_base)) if rate else 0
    found = _Demuxed()
    for entry in entries:
        if not entry.size or entry.pos + entry.size > size:
            continue
        found.frames += 1
        found.bytes += entry.size
        at = entry.timestamp
        found.start = at if found.start is None else min(found.start, at)
        found.end = max(found.end or at, at + frame_ticks)
        if entry.is_keyframe:
            found.last_key = at if found.last_key is None else max(found.last_key, at)
    _first_frame(container, stream, found)
    return found


def _first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, found: _Demuxed
) -> None:
    try:
        for packet in container.demux(stream):
            found.first_frame = _decode_first(stream, packet if packet.size else None, found)
            if found.first_frame is not None:
                return
    except av.FFmpegError as exc:
        raise_if_out_of_resources(exc)
        found.read_error = str(exc)


def _demux(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> _Demuxed:
    """Read every packet of the video stream (no decoding) and decode just its first frame."""
    found = _Demuxed()
    try:
        for packet in container.demux(stream):
            if not packet.size:
                continue  # the flush packet demux() yields at the end
            found.frames += 1
            found.bytes += packet.size
            at = packet.pts if packet.pts is not None else packet.dts
            if at is not None:
                found.start = at if found.start is None else min(found.start, at)
                end = at + (packet.duration or 0)
                found.end = end if found.end is None else max(found.end, end)
                if packet.is_keyframe:
                    found.last_key = at if found.last_key is None else max(found.last_key, at)
            if found.first_frame is None:
                found.first_frame = _decode_first(stream, packet, found)
        if found.first_frame is None:
            # Threaded decoders hold frames back until flushed.
            found.first_frame = _decode_first(stream, None, found)
    except av.FFmpegError as exc:
        raise_if_out_of_resources(exc)
        found.read_error = str(exc)
    return found


def _decode_first(
    stream: av.video.stream.VideoStream, packet: av.Packet | None, found: _Demuxed
) -> av.video.frame.VideoFrame | None:
    try:
        frames = stream.decode(packet)
    except av.FFmpegError as exc:
        raise_if_out_of_resources(exc)
        found.decode_error = found.decode_error or str(exc)  # later packets may still decode
        return None
    return frames[0] if frames else None


def _refuse_if_cut_off(
    stream: av.video.stream.VideoStream,
    size: int,
    found: _Demuxed,
    declared_s: float | None,
    present_s: float,
) -> None:
    """Compare what demuxing found with what the headers and index declare."""
    missing = []
    if stream.frames and found.frames < stream.frames:
        missing.append(f"{stream.frames} frames are declared but only {found.frames} are present")
    if declared_s is not None and present_s < declared_s - max(0.5, 0.01 * declared_s):
        missing.append(f"it should last {declared_s:.1f} s but holds only {present_s:.1f} s")
    entries = stream.index_entries
    if entries is not None and len(entries):
        last = entries[len(entries) - 1]
        if last.pos + last.size > size:
            missing.append(f"its index points {last.pos + last.size - size:,} bytes past its end")
    if found.read_error and found.frames:
        missing.append(f"reading stops after {present_s:.1f} s ({found.read_error})")
    if missing:
        raise MediaError(
            "The video appears cut off: "
            + "; ".join(missing)
            + ". This happens when an upload or a recording stops early; please upload the "
            "complete file",
            "truncated",
        )


def _decode_end(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    last_key: int | None,
) -> None:
    """Decode a couple of frames from the last keyframe: the end must decode, not just exist."""
    if last_key is None:
        return
    decoded = 0
    try:
        container.seek(last_key, stream=stream, backward=True)
        for packet in container.demux(stream):
            decoded += len(stream.decode(packet if packet.size else None))
            if decoded >= _END_FRAMES:
                break
    except av.FFmpegError as exc:
        raise_if_out_of_resources(exc)
        raise MediaError(
            f"The last part of the video cannot be decoded ({exc}); the file is damaged",
            "not_decodable",
        ) from exc
    if not decoded:
        raise MediaError(
            "The last part of the video cannot be decoded; the file is damaged or cut off",
            "not_decodable",
        )


def _too_long(duration_s: float, limit_s: float) -> MediaError:
    return MediaError(
        f"The video lasts {_hms(duration_s)}, longer than the {_hms(limit_s)} Outtake accepts "
        "in one file; please split it",
        "too_large",
    )


def _hms(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def _video_mime(container: av.container.InputContainer, codec: str) -> str | None:
    name = container.format.name
    if name.startswith("mov,"):
        brand = container.metadata.get("major_brand", "").strip()
        if brand == "qt":
            return "video/quicktime"
        return "video/3gpp" if brand.startswith("3g") else "video/mp4"
    if name == "matroska,webm":
        return "video/webm" if codec in _WEBM_CODECS else "video/x-matroska"
    return _VIDEO_MIME.get(name)


def _rate(size_bytes: int, seconds: float | None) -> int | None:
    return round(size_bytes * 8 / seconds) if seconds and seconds > 0 else None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
