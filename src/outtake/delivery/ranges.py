"""HTTP byte ranges for resumable downloads (RFC 9110 §14), pure: the view only applies them.

One range is served (206); a header that is not one valid byte range — another unit, bad
syntax, a last position before the first, several ranges — is ignored and the whole file sent
(200), as RFC 9110 allows. A valid range that starts past the end cannot be satisfied (416).
"""

from __future__ import annotations

import re

_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.IGNORECASE)


class Unsatisfiable(ValueError):
    """The range is valid but lies outside the file: answer 416 with `bytes */size`."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte positions, inclusive, to send for a Range header; None: send all."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or not (match[1] or match[2]):
        return None
    if match[1]:
        first = int(match[1])
        if match[2] and int(match[2]) < first:
            return None  # invalid, not unsatisfiable
        if first >= size:
            raise Unsatisfiable(header)
        return first, min(int(match[2]), size - 1) if match[2] else size - 1
    suffix = int(match[2])  # the last `suffix` bytes
    if suffix == 0 or size == 0:
        raise Unsatisfiable(header)
    return max(size - suffix, 0), size - 1


def if_range_allows(if_range: str | None, etag: str) -> bool:
    """Whether a Range still applies under If-Range: only when it names the file's current
    strong ETag (a date, or a weak or other ETag, means the file may have changed: send all)."""
    return if_range is None or if_range.strip() == etag
