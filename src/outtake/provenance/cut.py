"""Deliverable media without re-encoding: clips cut by stream copy, photos with clean metadata.

DESIGN.md's privacy rule: a delivered file carries no camera serial, no original file name and no
GPS. A remux copies only the video and audio packets (no container tags, no data streams such as
GoPro/DJI telemetry, which hold GPS); JPEG and PNG are rewritten segment by segment so the
compressed pixels stay byte-identical.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import BinaryIO

import av
from PIL import Image, ImageOps

from outtake.media.videos import seek_at_or_before
from outtake.provenance.chunks import (
    JPEG_SOI,
    JPEG_SOS,
    PNG_SIGNATURE,
    jpeg_segments,
    png_chunks,
    riff_chunks,
)

# Stream metadata the muxer needs or that is harmless; everything else (handler names with
# camera models, vendor tags) is dropped.
_KEEP_STREAM_TAGS = {"language"}
VIDEO_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}


@dataclass(frozen=True)
class Cut:
    """Where the delivered file starts and ends in the original, and where the clip lies in it.

    A stream copy must start on a keyframe, so the file may begin before the clip: a loader
    skips `trim_start_s` seconds (and stops after `clip_duration_s`) to get exactly the clip.
    """

    clip_start_s: float
    clip_end_s: float
    file_start_s: float
    file_end_s: float
    trim_start_s: float
    clip_duration_s: float
    video_codec: str
    stream_copy: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def _seconds(ts: int | None, tb: Fraction) -> float:
    return float(ts * tb) if ts is not None else 0.0


def _mux(dst, packet, stream, start_s: float) -> None:
    """Shift the packet so the delivered file starts at zero."""
    offset = round(start_s / packet.time_base)
    packet.pts -= offset
    packet.dts -= offset
    packet.stream = stream
    dst.mux(packet)


def cut_video(src: str, start_s: float, end_s: float | None, out: BinaryIO, ext: str) -> Cut:
    """Stream-copy [keyframe ≤ start_s, end_s) of src's video and audio into out.

    Times count from the video stream's first frame, as the analysis's clip times do, not from
    the container's clock (which starts later than 0 in MPEG-TS and some MOV files).
    """
    with av.open(src) as inp:
        video = inp.streams.video[0]
        keep = [video, *inp.streams.audio]
        origin = _seconds(video.start_time, video.time_base)
        duration = float(inp.duration / av.time_base) if inp.duration else None
        end = end_s if end_s is not None else (duration or float("inf"))
        start, stop = origin + start_s, origin + end  # on the container's clock
        # The last keyframe at or before the clip's start: the first video packet we copy.
        key_pts: int | None = None
        for packet in inp.demux(video):
            if packet.pts is None or packet.dts is None:
                continue
            # Decode order: no packet after one decoded past the start can be the keyframe.
            if _seconds(packet.dts, video.time_base) > start + 1e-6:
                break
            if packet.is_keyframe and _seconds(packet.pts, video.time_base) <= start + 1e-6:
                key_pts = packet.pts
        if key_pts is None:
            raise ValueError("no keyframe at or before the clip's start")
        file_start = _seconds(key_pts, video.time_base)
        seek_at_or_before(inp, video, key_pts)
        with av.open(out, "w", format=VIDEO_FORMATS[ext]) as dst:
            outs = {}
            for s in keep:
                o = dst.add_stream_from_template(s)
                for k in list(o.metadata):
                    if k not in _KEEP_STREAM_TAGS:
                        del o.metadata[k]
                outs[s.index] = o
            file_end = file_start
            started = False  # the keyframe itself may decode before file_start (B-frames)
            finished: set[int] = set()
            for packet in inp.demux(keep):
                if packet.dts is None or packet.pts is None:
                    continue
                tb = packet.time_base
                index = packet.stream.index
                if index == video.index:
                    started = started or (packet.is_keyframe and packet.pts == key_pts)
                    # Decode order: stop at the first packet decoded after the clip's end;
                    # frames before it that display after the end are references it needs.
                    if _seconds(packet.dts, tb) >= stop - 1e-6:
                        finished.add(index)
                    elif started:
                        file_end = max(file_end, _seconds(packet.pts + packet.duration, tb))
                        _mux(dst, packet, outs[index], file_start)
                else:
                    t = _seconds(packet.pts, tb)
                    if t >= stop - 1e-6:
                        finished.add(index)
                    elif t >= file_start - 1e-6:
                        _mux(dst, packet, outs[index], file_start)
                if len(finished) == len(keep):
                    break
        codec = video.codec_context.name
    file_start, file_end = file_start - origin, file_end - origin
    return Cut(
        clip_start_s=start_s,
        clip_end_s=min(end, file_end),
        file_start_s=file_start,
        file_end_s=file_end,
        trim_start_s=round(start_s - file_start, 6),
        clip_duration_s=round(min(end, file_end) - start_s, 6),
        video_codec=codec,
    )


# --- JPEG: keep only what rendering needs -------------------------------------------------

# JFIF (APP0), ICC profile (APP2) and Adobe colour transform (APP14) affect how pixels look.
_KEEP_APP = {0xE0, 0xE2, 0xEE}
XMP_JPEG_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


def _orientation_exif(data: bytes) -> bytes | None:
    """A minimal Exif with only the orientation, so a rotated photo still displays upright."""
    try:
        orientation = Image.open(io.BytesIO(data)).getexif().get(0x0112)
    except Exception:
        return None
    if not orientation or orientation == 1:
        return None
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def clean_jpeg(data: bytes, xmp: bytes | None = None) -> bytes:
    """Drop Exif, XMP, IPTC and comments; add back the orientation and Outtake's XMP."""
    if not data.startswith(JPEG_SOI):
        raise ValueError("not a JPEG")
    out = [JPEG_SOI]
    inserted = False
    extra = []
    orientation = _orientation_exif(data)
    if orientation:
        extra.append(_segment(0xE1, orientation))
    if xmp:
        extra.append(_segment(0xE1, XMP_JPEG_HEADER + xmp))
    for segment in jpeg_segments(data):
        marker = segment.kind[0]
        if marker == JPEG_SOS:
            if not inserted:
                out.extend(extra)
            out.append(data[segment.start :])  # entropy-coded data to the end, untouched
            break
        is_app = 0xE0 <= marker <= 0xEF
        if marker == 0xFE or (is_app and marker not in _KEEP_APP):
            continue
        if not is_app and not inserted:
            out.extend(extra)  # after JFIF/ICC, before the tables
            inserted = True
        out.append(data[segment.start : segment.end])
    return b"".join(out)


# --- PNG: drop text and Exif chunks -------------------------------------------------------

_DROP_PNG = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def clean_png(data: bytes, xmp: bytes | None = None) -> bytes:
    """Drop text, Exif and time chunks (which may name cameras, people or places); add XMP."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    out = [PNG_SIGNATURE]
    for chunk in png_chunks(data):
        if chunk.kind == b"IEND" and xmp:
            out.append(_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp))
        if chunk.kind not in _DROP_PNG:
            out.append(data[chunk.start : chunk.end])
    return b"".join(out)


# --- WebP: keep only the image chunks ------------------------------------------------------

_KEEP_WEBP = {b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ICCP", b"ANIM", b"ANMF"}
_WEBP_XMP_FLAG, _WEBP_ALPHA_FLAG, _WEBP_EXIF_FLAG = 0x04, 0x10, 0x08


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) % 2)


def clean_webp(data: bytes, xmp: bytes | None = None) -> bytes:
    """Drop EXIF, XMP and unknown chunks (cameras, places, names); add Outtake's XMP. The
    compressed image chunks are copied byte for byte."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    chunks = [
        [chunk.kind, data[chunk.payload : chunk.payload_end]]
        for chunk in riff_chunks(data)
        if chunk.kind in _KEEP_WEBP
    ]
    if not any(kind in (b"VP8 ", b"VP8L", b"ANMF") for kind, _ in chunks):
        raise ValueError("a WebP without image data")
    if chunks[0][0] != b"VP8X" and xmp:
        # A simple WebP needs the extended header before it may carry XMP.
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            alpha = _WEBP_ALPHA_FLAG if "A" in image.mode else 0
        size = struct.pack("<I", width - 1)[:3] + struct.pack("<I", height - 1)[:3]
        chunks.insert(0, [b"VP8X", bytes([alpha, 0, 0, 0]) + size])
    if chunks[0][0] == b"VP8X":
        flags = chunks[0][1][0] & ~(_WEBP_XMP_FLAG | _WEBP_EXIF_FLAG)
        if xmp:
            flags |= _WEBP_XMP_FLAG
            chunks.append([b"XMP ", xmp])
        chunks[0][1] = bytes([flags]) + chunks[0][1][1:]
    body = b"WEBP" + b"".join(_riff_chunk(kind, payload) for kind, payload in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- Other still formats: lossless PNG -----------------------------------------------------


def to_png(data: bytes, xmp: bytes | None = None) -> bytes:
    """TIFF, GIF, BMP, JPEG 2000, AVIF …: the decoded pixels as a lossless PNG (upright, as the
    orientation said), without any of the original's metadata; Outtake's XMP added."""
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image)
        if upright.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
            upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
        out = io.BytesIO()
        upright.save(out, format="PNG")
    return clean_png(out.getvalue(), xmp)
