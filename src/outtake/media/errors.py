"""The one exception the media package raises for files it refuses."""

from __future__ import annotations

CODES = frozenset(
    {"empty", "not_decodable", "unsupported", "truncated", "too_large", "timeout", "out_of_memory"}
)
# Refusals that may say more about the machine than the file (it was busy, or its limits were
# low): worth another try, where every other code is the file's verdict.
TRANSIENT_CODES = frozenset({"timeout", "out_of_memory"})


class MediaError(Exception):
    """A refusal with a reason a creator can read."""

    def __init__(self, reason: str, code: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown media error code {code!r}")
        # Both in args so the exception pickles (huey and multiprocessing re-create it from args).
        super().__init__(reason, code)
        self.reason = reason
        self.code = code

    def __str__(self) -> str:
        return self.reason
