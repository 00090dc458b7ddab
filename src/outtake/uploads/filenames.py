"""Make a client-given file name safe to keep as metadata and to offer back in a download.

Uploads are never stored under these names (files on disk are named by upload id); the name is
only a label, but one that later ends up in packages, manifests and Content-Disposition headers.
"""

import re
import unicodedata

MAX_BYTES = 200
_MAX_EXTENSION_BYTES = 16
_SEPARATORS = re.compile(r"[/\\]")
_DOT_RUNS = re.compile(r"\.{2,}")
_EDGES = re.compile(r"^[\s.]+|[\s.]+$")
# Bidirectional overrides let "movie\u202eexe.mp4" display as "moviemp4.exe".
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _allowed(char: str) -> bool:
    # Cc: control characters including NUL; Cs: lone surrogates, which cannot be encoded;
    # Zl/Zp: line and paragraph separators that break headers and logs.
    return unicodedata.category(char) not in {"Cc", "Cs", "Zl", "Zp"} and char not in _BIDI_CONTROLS


def _clean(name: str) -> str:
    name = "".join(char for char in name if _allowed(char))
    name = _SEPARATORS.split(name)[-1]
    return _EDGES.sub("", _DOT_RUNS.sub(".", name))


def _truncate(name: str) -> str:
    if len(name.encode()) <= MAX_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension.encode()) > _MAX_EXTENSION_BYTES:
        stem, extension = name, ""
    else:
        extension = "." + extension
    budget = MAX_BYTES - len(extension.encode())
    # Cutting bytes may split a character: drop the partial one rather than fail.
    stem = stem.encode()[:budget].decode("utf-8", "ignore")
    return _clean(stem + extension)


def safe_filename(name: str) -> str:
    """Return the last path component of `name`, cleaned and at most 200 UTF-8 bytes.

    Both "/" and "\\" count as separators; control, surrogate and bidi-override characters are
    dropped; runs of dots collapse to one and leading/trailing dots and spaces go, so the result
    is never "." or ".."; the text is NFC-normalised; a long name keeps its extension. An empty
    result becomes "upload".
    """
    name = _truncate(_clean(unicodedata.normalize("NFC", name)))
    return name or "upload"
