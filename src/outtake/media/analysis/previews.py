"""Watermarked previews: an animated WebP per shot and a JPEG contact sheet per file.

Built from small frames the pass already decoded (no second decode). The images are made from
pixels alone, so they carry no metadata of the original: no GPS, no camera serial, no file name
(DESIGN.md, privacy). Files are written to out_dir as PREVIEW_NAME.format(shot) and SHEET_NAME.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from outtake.media.analysis.decode import Frame, FrameNeed
from outtake.media.analysis.pipeline import Context, Step
from outtake.media.analysis.reservoir import Reservoir, spread

PREVIEW_NAME = "shot-{:04d}.webp"
SHEET_NAME = "sheet.jpg"
WATERMARK = "OUTTAKE PREVIEW"
FRAMES_PER_PREVIEW = 6
FRAME_MS = 500
SHEET_COLUMNS = 4
SHEET_TILES = 24
RESERVOIR = 160  # frames of at most 320 px (about 15 KB each as JPEG)


def watermarked(picture: np.ndarray) -> Image.Image:
    """An RGB picture with WATERMARK across its middle, translucent but plainly visible."""
    image = Image.fromarray(picture).convert("RGBA")
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(10, image.width // 11))
    left, top, right, bottom = draw.textbbox((0, 0), WATERMARK, font=font, stroke_width=2)
    at = ((image.width - (right - left)) / 2, (image.height - (bottom - top)) / 2)
    draw.text(
        at,
        WATERMARK,
        font=font,
        fill=(255, 255, 255, 170),
        stroke_width=2,
        stroke_fill=(0, 0, 0, 150),
    )
    return Image.alpha_composite(image, layer).convert("RGB")


def contact_sheet(pictures: list[np.ndarray], labels: list[str]) -> Image.Image:
    """pictures in a grid of SHEET_COLUMNS, each labelled and watermarked."""
    tile_w = max(p.shape[1] for p in pictures)
    tile_h = max(p.shape[0] for p in pictures)
    columns = min(SHEET_COLUMNS, len(pictures))
    rows = math.ceil(len(pictures) / columns)
    gap = 4
    sheet = Image.new("RGB", (columns * (tile_w + gap) + gap, rows * (tile_h + gap) + gap), "black")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    for n, (picture, label) in enumerate(zip(pictures, labels, strict=True)):
        x = gap + (n % columns) * (tile_w + gap)
        y = gap + (n // columns) * (tile_h + gap)
        sheet.paste(watermarked(picture), (x, y))
        draw.text(
            (x + 4, y + 2), label, font=font, fill="white", stroke_width=1, stroke_fill="black"
        )
    return sheet


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


class Previews(Step):
    name = "previews"
    version = 1
    FRAMES = FrameNeed("previews.rgb", 320, "rgb24", every_s=1.0, shot_starts=True)
    needs = (FRAMES,)

    def __init__(self, out_dir: str | Path) -> None:
        super().__init__()
        self.out_dir = Path(out_dir)
        self._frames = Reservoir(RESERVOIR)

    def consume(self, frame: Frame) -> None:
        picture = frame.images.get(self.FRAMES.name)
        if picture is not None:
            self._frames.offer(frame.index, picture)

    def finish(self, context: Context) -> list[dict[str, Any]]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        results: list[dict[str, Any]] = []
        firsts: list[tuple[int, float]] = []  # each shot's first kept frame and its time
        for shot in context.shots:
            kept = self._frames.indices(shot.start_frame, shot.end_frame)
            if not kept:
                results.append({})
                continue
            firsts.append((kept[0], shot.start_s))
            frames = [
                watermarked(self._frames.picture(i)) for i in spread(kept, FRAMES_PER_PREVIEW)
            ]
            name = PREVIEW_NAME.format(shot.index)
            frames[0].save(
                self.out_dir / name,
                "WEBP",
                save_all=True,
                append_images=frames[1:],
                duration=FRAME_MS,
                loop=0,
                quality=60,
            )
            self.stats.count("previews")
            results.append({"preview": name})
        if firsts:
            picks = [firsts[i] for i in spread(list(range(len(firsts))), SHEET_TILES)]
            sheet = contact_sheet(
                [self._frames.picture(i) for i, _ in picks], [_clock(t) for _, t in picks]
            )
            sheet.save(self.out_dir / SHEET_NAME, "JPEG", quality=80)
        return results
