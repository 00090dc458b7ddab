"""One decode of a file that serves every step the frames it declared, in a single pass.

The main pass decodes only the frames other frames reference. It skips every B-frame
(skip_frame "BIDIR") when that is exact for the stream, else only the unreferenced ones
("NONREF"): a B-pyramid's middle B-frames are references too, and when P-frames predict from
them (x264 with ref > 1, for one) skipping them makes the picture drift until the next keyframe
(measured: 20 grey levels). So the first packets are decoded both ways and BIDIR is used only if
every frame it serves is identical; on typical camera and x264 "fast" output it is, and saves a
fifth to a third of the decode. Either way every frame the pass serves decodes exactly as in a full
decode. Pictures are scaled once per frame straight from the decoder's YUV (see scaling), so
full-size RGB is never made. ``window`` gives every frame between two served ones, for steps
that need the exact frame of a cut.

Seeking back to a keyframe for each window re-decodes up to a GOP of references, which cost
more than all other steps together. But an encoder without scene-cut keyframes spends far
more bits on the first reference frame after a cut than on others: so when skipping every
B-frame, the B-frames just before such a packet are decoded in the pass too (a few cheap
decodes) and kept, with the references either side, for window(); the pass does not serve
them. They are not always exact: a B-frame may predict from a B-pyramid reference of an
earlier group, which the pass skipped (on the bench input the kept B-frames differ from a full
decode by 0.1–0.3 grey levels on average at 320 px, up to 48 at single pixels). Which frame
starts a shot does not change (same cuts as with seeking, on every test and bench input), but
the pictures of a shot starting on a B-frame carry that small error. A cut without a hint is
found by seeking, exactly.
"""

from __future__ import annotations

import bisect
import math
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import av.video.frame
import numpy as np
from PIL import Image

from outtake.media.analysis.scaling import pictures, scaled_size
from outtake.media.analysis.sound import Sound, SoundDecoder, audio_stream, decode_sound
from outtake.media.analysis.stats import StepStats
from outtake.media.images import decoding, open_photo, to_rgb, upright
from outtake.media.metadata import exif_orientation
from outtake.media.videos import (
    clockwise_rotation,
    open_video,
    seek_at_or_before,
    video_stream,
)

# Packets decoded both ways to tell whether skipping every B-frame is exact for a stream.
_CALIBRATION_PACKETS = 32
# Half a millisecond: sample times are compared as floats computed from rational timestamps.
_EPS_S = 5e-4
_PIL_MODES = {"gray": "L", "rgb24": "RGB", "bgr24": "RGB"}
# A reference packet this many times the median size of the last _HINT_HISTORY ones, and
# _CUT_HINT_JUMP times the one before it, is likely the first after a cut (on the bench input:
# 2.7–7× at cuts; the jump rules out the P-frames after a keyframe and after a cut).
_CUT_HINT_SIZE = 2.5
_CUT_HINT_JUMP = 1.5
_HINT_HISTORY = 16
# Windows kept from hints, at most: each holds the shot-start pictures of about five frames
# (about 7 MB whatever the video's size, pictures being 640 px at most). Windows the caller
# does not want (no cut was found there) are let go first, once a second of frames is past.
_KEPT_WINDOWS = 32


@dataclass(frozen=True)
class FrameNeed:
    """Frames a step wants, scaled to at most long_side pixels on the long side.

    name keys the picture in Frame.images; pix_fmt is gray, rgb24 or bgr24. every_s=None asks
    for every frame the pass decodes (every referenced frame), a number for one frame per every_s
    seconds; shot_starts also asks for the first frame of every shot once cuts are known.
    """

    name: str
    long_side: int
    pix_fmt: str = "gray"
    every_s: float | None = None
    shot_starts: bool = False


# The colour picture about once a second (and at shot starts) that steps looking for things in
# a frame (people, overlays) share, so it is scaled once.
SAMPLED_BGR = FrameNeed("sampled.bgr", 640, "bgr24", every_s=1.0, shot_starts=True)


@dataclass(frozen=True)
class Frame:
    """A decoded frame: its number in presentation order from the start of the stream (a count
    of frames, also on variable-rate video), its time and its pictures.

    images holds only the needs this frame serves, as read-only numpy arrays shared between
    steps (H×W for gray, H×W×3 otherwise), turned upright for rotated video and photos.
    derived holds what the first step to need it worked out from the images, for other steps
    needing the same (the pdq and dedup steps share one PDQ computation per frame).
    """

    index: int
    t: float
    images: dict[str, np.ndarray]
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


# Whether window(first, last) will be asked for: lets a source drop what it kept for it.
WindowFilter = Callable[[int, int], bool]


class FrameSource(Protocol):
    fps: float | None
    stats: StepStats

    def frames(
        self, needs: Sequence[FrameNeed], keep_window: WindowFilter | None = None
    ) -> Iterator[Frame]: ...

    def sound(self) -> Sound | None: ...

    def window(self, first: int, last: int, needs: Sequence[FrameNeed]) -> list[Frame]: ...

    def video_bytes(self, start_s: float, end_s: float) -> int | None:
        """Bytes of video packets from start_s up to end_s, as the pass demuxed them."""
        ...

    def close(self) -> None: ...


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


class VideoSource:
    """Frames of a video file, opened once; threads is the decoder's thread count."""

    def __init__(self, path: str | Path, *, threads: int = 1) -> None:
        self._path = Path(path)
        self._container = open_video(self._path)
        self._stream = video_stream(self._container)
        self._codec = self._stream.codec_context
        self._codec.thread_count = threads
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps: float | None = float(rate) if rate else None
        self._time_base = self._stream.time_base or Fraction(1, 90000)
        self._start = self._stream.start_time or 0
        self._rotation: int | None = None
        self._served = 0
        self._skip: str | None = None
        self._sound: Sound | bool | None = False  # False: not decoded yet
        self._audio = audio_stream(self._container)  # demuxed in the pass, with the video
        self._hinted_pts: set[int] = set()  # B-frames decoded for a likely cut, not served
        self._kept: dict[int, Frame] = {}  # frame number → frame kept for window()
        self._kept_windows: deque[list[int]] = deque()
        self._keep_window: WindowFilter | None = None
        self._packet_pts: list[int] = []  # every video packet the pass demuxed, and its size
        self._packet_sizes: list[int] = []
        # The same pts in presentation order: a frame's number is its rank here, so frames of a
        # variable-rate file are numbered by count, not by time × average fps.
        self._sorted_pts: list[int] = []
        self._pts_complete = True  # False once a video packet came without pts: numbered by time
        self._packet_bytes: tuple[np.ndarray, np.ndarray] | None = None
        self.stats = StepStats()

    def close(self) -> None:
        self._container.close()

    def sound(self) -> Sound | None:
        """The soundtrack: decoded in the pass from the packets it demuxed, or on first use if
        the pass has not run (its cost is audio_ms in the decode stats)."""
        if self._sound is False:
            started = self.stats.seconds
            with self.stats.timed():
                self._sound = decode_sound(self._path)
            self.stats.count("audio_ms", round((self.stats.seconds - started) * 1000))
        return self._sound

    def frames(
        self, needs: Sequence[FrameNeed], keep_window: WindowFilter | None = None
    ) -> Iterator[Frame]:
        """Every referenced frame that some need wants, in display order. keep_window says
        which windows kept from the pass (see the module's notes) are still wanted."""
        self._keep_window = keep_window
        self._codec.skip_frame = self._skip_mode()
        due = {need.name: 0.0 for need in needs if need.every_s}
        # What window() is later asked for: the cut's frame with the shot-start needs.
        window_needs = [n for n in needs if n.every_s is None or n.shot_starts]
        hinted: list[Frame] = []
        previous: Frame | None = None
        for decoded in self._decoded():
            with self.stats.timed():
                index, t = self._position(decoded)
                if decoded.pts in self._hinted_pts:
                    hinted.append(Frame(index, t, self._images(decoded, window_needs)))
                    continue
                wanted = [n for n in needs if n.every_s is None or t >= due[n.name] - _EPS_S]
                for need in wanted:
                    if need.every_s:
                        due[need.name] = (math.floor(t / need.every_s + _EPS_S) + 1) * need.every_s
                frame = Frame(index, t, self._images(decoded, wanted)) if wanted else None
                if hinted and previous is not None:
                    self._keep(
                        [previous, *hinted, Frame(index, t, self._images(decoded, window_needs))]
                    )
                hinted = []
                previous = frame
                self.stats.frames += 1
            if frame is not None:
                yield frame

    def _keep(self, window: list[Frame]) -> None:
        self.stats.count("kept_windows")
        self._kept.update((frame.index, frame) for frame in window)
        self._kept_windows.append([frame.index for frame in window])
        if len(self._kept_windows) <= _KEPT_WINDOWS:
            return
        settled = window[0].index - round(self.fps or 1)
        unwanted = [
            w
            for w in self._kept_windows
            if w[-1] < settled and self._keep_window and not self._keep_window(w[0], w[-1])
        ]
        for dropped in unwanted or [self._kept_windows[0]]:
            self._kept_windows.remove(dropped)
            for index in dropped:
                self._kept.pop(index, None)

    def window(self, first: int, last: int, needs: Sequence[FrameNeed]) -> list[Frame]:
        """Every frame numbered first..last, B-frames included. The first frame of a window the
        pass kept carries only the pictures it was served with (it is there to compare with)."""
        kept = [self._kept.get(index) for index in range(first, last + 1)]
        names = {need.name for need in needs}
        if all(kept) and all(names <= frame.images.keys() for frame in kept[1:]):
            self.stats.count("windows_kept")
            return [
                Frame(f.index, f.t, {n: f.images[n] for n in names & f.images.keys()}) for f in kept
            ]
        self.stats.count("windows_sought")
        target = self._pts_of(first)
        seek_at_or_before(self._container, self._stream, target)
        # Up to the first frame wanted only references are needed, B-pyramid ones included:
        # the B-frames of the window may predict from them even where P-frames do not.
        self._codec.skip_frame = "NONREF"
        found: list[Frame] = []
        for packet in self._container.demux(self._stream):
            if packet.pts is None or packet.pts >= target:
                self._codec.skip_frame = "DEFAULT"
            for decoded in self._decode(packet):
                index, t = self._position(decoded)
                if index > last:
                    return found
                if index >= first:
                    found.append(Frame(index, t, self._images(decoded, needs)))
        return found

    def video_bytes(self, start_s: float, end_s: float) -> int | None:
        if not self._packet_pts:
            return None
        if self._packet_bytes is None:  # sorted by time, with running byte totals
            order = np.argsort(self._packet_pts, kind="stable")
            times = (np.array(self._packet_pts)[order] - self._start) * float(self._time_base)
            totals = np.concatenate([[0], np.cumsum(np.array(self._packet_sizes)[order])])
            self._packet_bytes = times, totals
        times, totals = self._packet_bytes
        first, end = np.searchsorted(times, (start_s - _EPS_S, end_s - _EPS_S))
        return int(totals[end] - totals[first])

    def _decoded(self) -> Iterator[av.video.frame.VideoFrame]:
        streams = [self._stream, *([self._audio] if self._audio else [])]
        packets = self._container.demux(*streams)
        sound = SoundDecoder(self._audio) if self._audio else None
        audio_s = 0.0
        hints = self._skip == "BIDIR"  # else B-pyramid references are served already
        sizes: deque[int] = deque(maxlen=_HINT_HISTORY)
        latest = None  # pts of the latest reference packet: a B-frame's comes after it
        hinted = False
        while True:
            with self.stats.timed():
                packet = next(packets, None)
                if packet is None:
                    started = time.perf_counter()
                    self._sound = sound.finish() if sound else None
                    audio_s += time.perf_counter() - started
                    self.stats.count("audio_ms", round(audio_s * 1000))
                    return
                if sound is not None and packet.stream is self._audio:
                    started = time.perf_counter()
                    sound.feed(packet)
                    audio_s += time.perf_counter() - started
                    continue
                if packet.pts is not None:
                    self._packet_pts.append(packet.pts)
                    self._packet_sizes.append(packet.size)
                    # Packets come in decode order, nearly sorted: the insert is near the end.
                    bisect.insort(self._sorted_pts, packet.pts)
                elif packet.size:  # not the empty packet that flushes the decoder
                    self._pts_complete = False
                if hints and packet.pts is not None:
                    if latest is None or packet.pts > latest:
                        hinted = (
                            len(sizes) == _HINT_HISTORY
                            and not packet.is_keyframe
                            and packet.size > _CUT_HINT_SIZE * statistics.median(sizes)
                            and packet.size > _CUT_HINT_JUMP * sizes[-1]
                        )
                        sizes.append(packet.size)
                        latest = packet.pts
                        self._codec.skip_frame = self._skip
                    elif hinted:
                        self._hinted_pts.add(packet.pts)
                        self._codec.skip_frame = "DEFAULT"
                frames = self._decode(packet)
            yield from frames

    def _decode(self, packet: av.Packet) -> list[av.video.frame.VideoFrame]:
        try:
            return self._codec.decode(packet)
        except av.InvalidDataError:
            # probe() already accepted the file: a damaged packet costs its frames, not the asset.
            self.stats.count("damaged_packets")
            return []

    def _position(self, frame: av.video.frame.VideoFrame) -> tuple[int, float]:
        if frame.pts is None:
            self._served += 1
            t = (self._served - 1) / (self.fps or 1)
        else:
            t = float((frame.pts - self._start) * self._time_base)
            if self._ranked():
                # A decoder outputs a frame only after every frame before it in presentation
                # order, and skipped B-frames' packets come before the next reference decoded:
                # every pts below this one has been demuxed already.
                pts = self._sorted_pts
                return bisect.bisect_left(pts, frame.pts) - bisect.bisect_left(pts, self._start), t
        return round(t * (self.fps or 1)), t

    def _ranked(self) -> bool:
        """Whether frames are numbered by the rank of their pts (once the pass has demuxed)."""
        return self._pts_complete and bool(self._sorted_pts)

    def _pts_of(self, index: int) -> int:
        """The pts of frame number index (without ranks, the pts of its time at the average fps)."""
        if self._ranked():
            pts = self._sorted_pts
            rank = bisect.bisect_left(pts, self._start) + index
            return pts[min(max(rank, 0), len(pts) - 1)]
        return self._start + round(index / (self.fps or 1) / self._time_base)

    def _images(
        self, frame: av.video.frame.VideoFrame, needs: Sequence[FrameNeed]
    ) -> dict[str, np.ndarray]:
        if self._rotation is None:
            self._rotation = clockwise_rotation(frame)
        turns = -self._rotation // 90
        made = pictures(frame, needs)
        return {name: _read_only(np.rot90(picture, k=turns)) for name, picture in made.items()}

    def _skip_mode(self) -> str:
        if self._skip is None:
            with self.stats.timed():
                exact = _bidir_is_exact(self._path, self._stream.index)
                self._skip = "BIDIR" if exact else "NONREF"
            self.stats.count(f"skip_{self._skip.lower()}")
        return self._skip


def _bidir_is_exact(path: Path, index: int) -> bool:
    """Whether skipping every B-frame of the stream's first packets serves the same pictures."""
    served = {}
    for mode in ("BIDIR", "NONREF"):
        with open_video(path) as container:
            stream = container.streams[index]
            stream.codec_context.thread_count = 1
            stream.codec_context.skip_frame = mode
            pictures_at = {}
            for n, packet in enumerate(container.demux(stream)):
                if n == _CALIBRATION_PACKETS:
                    packet = None  # flush what the decoder holds
                try:
                    decoded = stream.codec_context.decode(packet)
                except av.InvalidDataError:
                    return False
                for frame in decoded:
                    pictures_at[frame.pts] = frame.reformat(160, 90, "gray").to_ndarray()
                if packet is None:
                    break
            served[mode] = pictures_at
    bidir, nonref = served["BIDIR"], served["NONREF"]
    return bool(bidir) and all(
        pts in nonref and np.array_equal(picture, nonref[pts]) for pts, picture in bidir.items()
    )


class PhotoSource:
    """A photo as a one-frame source, upright by its EXIF orientation."""

    fps = None

    def __init__(self, path: str | Path, *, max_pixels: int = 100_000_000) -> None:
        self._path = Path(path)
        self._max_pixels = max_pixels
        self.stats = StepStats()

    def close(self) -> None:
        pass

    def sound(self) -> Sound | None:
        return None

    def frames(
        self, needs: Sequence[FrameNeed], keep_window: WindowFilter | None = None
    ) -> Iterator[Frame]:
        with self.stats.timed():
            picture = self._load(max((n.long_side for n in needs), default=1))
            images = {}
            for need in needs:
                size = scaled_size(*picture.size, need.long_side)
                small = picture.resize(size, Image.Resampling.BOX).convert(_PIL_MODES[need.pix_fmt])
                array = np.asarray(small)
                images[need.name] = _read_only(
                    array[..., ::-1] if need.pix_fmt == "bgr24" else array
                )
            self.stats.frames += 1
        yield Frame(0, 0.0, images)

    def window(self, first: int, last: int, needs: Sequence[FrameNeed]) -> list[Frame]:
        return []  # one frame has no cuts to refine

    def video_bytes(self, start_s: float, end_s: float) -> int | None:
        return None

    def _load(self, long_side: int) -> Image.Image:
        image = open_photo(self._path, self._max_pixels)
        if image is None:
            raise ValueError(f"{self._path} is not a photo")
        with image, decoding():
            # A JPEG decodes at 1/2, 1/4 or 1/8 scale when that still covers every need.
            image.draft(None, (long_side, long_side))
            image.load()
            return to_rgb(upright(image, exif_orientation(image)))
