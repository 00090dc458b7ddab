"""Opening videos with PyAV: refusing what is not video, diagnosing files that will not open."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import av
import av.container
import av.stream
import av.video.frame
import av.video.stream

from outtake.media.errors import MediaError
from outtake.provenance.bmff import file_boxes

# Decoder threads per video. FFmpeg's "auto" (0) means one per core, up to 16, and every thread
# reserves a stack plus a malloc arena of address space: 16 threads cost ~1.5 GB of RLIMIT_AS
# for ~120 MB really used. Four keep decoding fast and the sandbox's limit meaningful.
DECODE_THREADS = max(1, min(4, os.cpu_count() or 1))

# Demuxers FFmpeg uses for single pictures: such a file is a photo Pillow could not read.
_PICTURE_DEMUXERS = ("image2", "gif", "apng")
# ISO-BMFF brands of HEIF/AVIF still images, which FFmpeg's mov demuxer also opens.
_STILL_BRANDS = ("heic", "heix", "heim", "heis", "mif1", "msf1", "avif", "avis")
# Top-level boxes an MP4/QuickTime file may start with.
_BMFF_FIRST_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid")


def open_video(path: Path) -> av.container.InputContainer:
    """Open a file with PyAV, or explain in a MediaError why it cannot be read."""
    try:
        return av.open(str(path), metadata_errors="replace")
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except av.FFmpegError as exc:
        raise_if_out_of_resources(exc)
        raise unreadable(path) from exc


def raise_if_out_of_resources(exc: av.FFmpegError) -> None:
    """Re-raise an FFmpeg error that means the process ran out of memory, not a bad file.

    Under RLIMIT_AS FFmpeg reports ENOMEM (av.error.MemoryError), or EAGAIN when a decoder
    thread's stack cannot be mapped; both must end as "out_of_memory", never "damaged file".
    """
    if isinstance(exc, MemoryError):
        raise exc
    if exc.errno == errno.EAGAIN:
        raise MemoryError(str(exc)) from exc


def unreadable(path: Path) -> MediaError:
    """The refusal for a file neither Pillow nor FFmpeg can open, as specific as the bytes allow."""
    boxes = mp4_boxes(path)
    if boxes is not None:
        size = path.stat().st_size
        kinds = {kind for kind, _, _ in boxes}
        cut = next(((k, o, s) for k, o, s in boxes if o + s > size), None)
        if b"moov" not in kinds:
            ends = (
                f"it ends {cut[1] + cut[2] - size:,} bytes before its '{cut[0].decode()}' box does"
                if cut
                else "it was never finalised"
            )
            return MediaError(
                f"The video appears cut off or incomplete: {ends}, and its index (the 'moov' box "
                "that says where every frame is) is missing, so it cannot be played. This happens "
                "when an upload or a recording stops early; please upload the complete file",
                "truncated",
            )
        if cut:
            return MediaError(
                f"The video appears cut off: it ends {cut[1] + cut[2] - size:,} bytes before its "
                f"'{cut[0].decode()}' box does. Please upload the complete file",
                "truncated",
            )
    return MediaError(
        "This file is neither a video nor a photo Outtake can read: it may be damaged, or in a "
        "format we do not support",
        "not_decodable",
    )


def mp4_boxes(path: Path) -> list[tuple[bytes, int, int]] | None:
    """Top-level (type, offset, declared size) boxes of an MP4/QuickTime file, else None.

    Reads only the box headers, so it costs a few seeks even for huge files. A damaged box
    ends the list: what comes before it is still told.
    """
    found: list[tuple[bytes, int, int]] = []
    with open(path, "rb") as f:
        try:
            for box in file_boxes(f):
                if len(found) == 10_000 or not all(32 <= c < 127 for c in box.kind):
                    break
                if not found and box.kind not in _BMFF_FIRST_BOXES:
                    return None
                found.append((box.kind, box.start, box.end - box.start))
        except ValueError:
            pass
    return found or None


def seek_at_or_before(
    container: av.container.InputContainer, stream: av.stream.Stream, pts: int
) -> None:
    """Seek so that demuxing stream starts at a keyframe shown at or before pts.

    Formats without an index (MPEG-TS: .mts, .m2ts) seek by byte position and may land on a
    later keyframe, or after the last keyframe before pts; then seek again, twice as far back
    each time, down to the file's start. A seek to the first pts itself may land after the
    first packet (its dts is earlier), so the last resort is 0, or an earlier start.
    """
    floor = min(stream.start_time or 0, 0)
    back = 0
    while True:
        target = max(floor, pts - back)
        container.seek(target, stream=stream, backward=True)
        key = None
        for packet in container.demux(stream):
            if packet.dts is not None and packet.dts > pts:
                break  # decode order: a keyframe still to come is shown after pts
            if packet.is_keyframe and packet.pts is not None:
                key = packet
                break
        if (key is not None and key.pts <= pts) or target == floor:
            container.seek(target, stream=stream, backward=True)
            return
        back = 2 * back or round(1 / stream.time_base)  # from one second back


def video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The stream Outtake analyses, refusing files that are not video."""
    name = container.format.name
    if name in _PICTURE_DEMUXERS or name.endswith("_pipe"):
        picture = name.removesuffix("_pipe")
        raise MediaError(
            f"This picture ({picture}) could not be read as a photo: it may be damaged, or in "
            "a format Outtake does not accept (JPEG, PNG, WebP, TIFF, GIF, BMP)",
            "unsupported",
        )
    if container.metadata.get("major_brand", "").strip() in _STILL_BRANDS:
        raise MediaError(
            "This HEIC/HEIF or AVIF photo cannot be read (HEIC is not accepted yet); please "
            "export it as JPEG or PNG",
            "unsupported",
        )
    # Cover art in music files shows up as a one-picture video stream.
    streams = [
        s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
    ]
    if not streams:
        if container.streams.audio:
            raise MediaError(
                "This is an audio-only file. Outtake licenses video and photos only",
                "unsupported",
            )
        raise MediaError(
            "This file holds no video or picture (only data), so Outtake cannot license it",
            "unsupported",
        )
    stream = max(
        streams,
        key=lambda s: (s.codec_context.width * s.codec_context.height) if s.codec_context else 0,
    )
    if stream.codec_context is None:
        raise MediaError("The video is in a codec Outtake cannot decode", "unsupported")
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = DECODE_THREADS
    return stream


def clockwise_rotation(frame: av.video.frame.VideoFrame) -> int:
    """Degrees to turn a decoded frame clockwise to display it (0, 90, 180 or 270).

    PyAV's frame.rotation is FFmpeg's display-matrix angle, counter-clockwise; a phone filmed
    upright reads -90 there and 90 here, like EXIF orientation 6 and the old "rotate" tag.
    """
    return round(-frame.rotation / 90) * 90 % 360


# ITU-T H.273 transfer characteristics, named as FFmpeg names them (av_color_transfer_name).
COLOR_TRANSFER = {
    1: "bt709",
    4: "bt470m",
    5: "bt470bg",
    6: "smpte170m",
    7: "smpte240m",
    8: "linear",
    9: "log100",
    10: "log316",
    11: "iec61966-2-4",
    12: "bt1361e",
    13: "iec61966-2-1",
    14: "bt2020-10",
    15: "bt2020-12",
    16: "smpte2084",
    17: "smpte428",
    18: "arib-std-b67",
}
