"""The text of a rendered PDF as a reader would search it."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader


def pdf_text(pdf: bytes) -> tuple[int, str]:
    """(page count, all text with whitespace collapsed: line breaks are layout, not content)."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", text)
