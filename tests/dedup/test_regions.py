"""Region hashes from one luma are pdqhash's own, bit for bit, at a fraction of its cost."""

import av
import numpy as np
import pdqhash
import pytest
from PIL import Image

from outtake.media.analysis.hashes import pdq_view
from outtake.media.dedup.hashes import central_box, cut_boxes
from outtake.media.dedup.regions import luma, region_hash, region_hashes
from tests.dedup.conftest import FIXTURES


def pictures() -> list[np.ndarray]:
    """The fixture photos, a photo in an odd mode and a few frames of two fixture videos, as
    the dedup step sees them (bars cropped, levels stretched, 512 px wide for video)."""
    found = [
        np.asarray(Image.open(FIXTURES / "photo" / name).convert("RGB"))
        for name in ("astronaut.png", "coffee.png", "modes/LA.png")
    ]
    for name in ("bikes.mp4", "te-pattern-sd-grey-bar.mp4"):
        with av.open(str(FIXTURES / "video" / name)) as container:
            for number, frame in enumerate(container.decode(video=0)):
                if number % 25 == 0:
                    found.append(frame.reformat(width=512, format="rgb24").to_ndarray())
                if number > 100:
                    break
    return [pdq_view(p).picture for p in found]


@pytest.mark.parametrize("cut", [0.0, 0.025, 0.05, 0.075, 0.1, 0.13])
def test_a_region_hash_is_pdqhash_of_the_cropped_picture(cut):
    for picture in pictures():
        height, width = picture.shape[:2]
        dy, dx = round(height * cut), round(width * cut / 2)  # unequal shares, odd sizes
        cropped = np.ascontiguousarray(picture[dy : height - dy, dx : width - 2 * dx])
        bits, quality = pdqhash.compute(cropped)
        expected = np.packbits(bits.astype(np.uint8)).tobytes(), quality
        assert region_hash(luma(picture), dy, height - dy, dx, width - 2 * dx) == expected


def test_regions_hashed_together_are_pdqhash_of_each_cropped_picture():
    """The central regions and cuts of a frame, hashed together sharing their passes (some
    from the transposed picture), are each pdqhash's hash of that crop."""
    for picture in pictures():
        shape = picture.shape[:2]
        shares = (0.0125, 0.025, 0.05)  # a halfway region among them
        boxes = [central_box(shape, share) for share in shares] + cut_boxes(shape)
        for box, hashed in zip(boxes, region_hashes(luma(picture), boxes), strict=True):
            top, bottom, left, right = box
            bits, _ = pdqhash.compute(np.ascontiguousarray(picture[top:bottom, left:right]))
            assert hashed == np.packbits(bits.astype(np.uint8)).tobytes(), box
