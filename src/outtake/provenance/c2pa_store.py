"""The certificate that signed a file's C2PA manifest, read from the manifest store (pure Python).

c2pa-python checks a signature and its chain to a trust anchor but names only the signer; a
verifier that must know which certificate signed (Outtake's C2PA leaf, not a buyer's or one
for another purpose, all under the same root) needs the certificate itself: the first of the
x5chain in the manifest's COSE_Sign1 signature. The store (JUMBF) sits where each format keeps
it: JPEG APP11 segments, a BMFF (MP4, MOV) `uuid` box, a PNG `caBX` chunk, a WebP `C2PA` chunk.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from cryptography import x509

from outtake.provenance.bmff import boxes
from outtake.provenance.chunks import (
    JPEG_SOI,
    PNG_SIGNATURE,
    Part,
    jpeg_segments,
    png_chunks,
    riff_chunks,
)

C2PA_BMFF_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
X5CHAIN = 33  # COSE header label
SIGNATURE_LABEL = "c2pa.signature"


def signer_certificate(data: bytes, manifest_label: str) -> x509.Certificate | None:
    """The certificate that signed the manifest labelled manifest_label (a URN, as c2pa's
    Reader names the active manifest) in this file; None when the file has no readable one."""
    try:
        for store in _stores(data):
            cose = _signature(store, manifest_label)
            if cose is not None:
                return x509.load_der_x509_certificate(_x5chain(cose)[0])
    except (ValueError, IndexError, TypeError, KeyError, UnicodeDecodeError, RecursionError):
        return None
    return None


def _stores(data: bytes) -> Iterator[bytes]:
    """The JUMBF boxes a file embeds, by container."""
    if data.startswith(JPEG_SOI):
        yield from _jpeg(data)
    elif data.startswith(PNG_SIGNATURE):
        yield from (_body(data, c) for c in png_chunks(data) if c.kind == b"caBX")
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        yield from (_body(data, c) for c in riff_chunks(data) if c.kind == b"C2PA")
    else:
        yield from _bmff(data)


def _body(data: bytes, part: Part) -> bytes:
    return data[part.payload : part.payload_end]


def _jpeg(data: bytes) -> Iterator[bytes]:
    """APP11 JUMBF segments (ISO 19566-5), joined per box instance: the first carries the box
    from its start; each later one repeats the box's header before the next bytes."""
    boxes: dict[bytes, bytearray] = {}
    for segment in jpeg_segments(data):
        if segment.kind != b"\xeb":  # APP11
            continue
        body = _body(data, segment)
        if body[:2] != b"JP":
            continue
        instance, payload = body[2:4], body[8:]
        if instance in boxes:
            header = 16 if struct.unpack(">I", payload[:4])[0] == 1 else 8
            boxes[instance] += payload[header:]
        else:
            boxes[instance] = bytearray(payload)
    yield from (bytes(b) for b in boxes.values())


def _bmff(data: bytes) -> Iterator[bytes]:
    """The C2PA `uuid` box's manifest store: after the uuid, version and flags, the purpose
    "manifest" and a 64-bit offset of Merkle data."""
    view = memoryview(data)  # the boxes of media data are passed over, not copied
    for kind, body in _boxes(view, 0, len(view)):
        if kind == b"uuid" and body[:16] == C2PA_BMFF_UUID:
            box = bytes(body)
            purpose_end = box.index(b"\x00", 20)
            if box[20:purpose_end] == b"manifest":
                yield box[purpose_end + 1 + 8 :]


def _boxes(
    data: bytes | memoryview, start: int, end: int
) -> Iterator[tuple[bytes, bytes | memoryview]]:
    """(type, payload) of the boxes between start and end (BMFF and JUMBF share the layout)."""
    for box in boxes(data, start, end):
        yield box.kind, data[box.payload : box.end]


def _superbox(payload: bytes) -> tuple[str, list[tuple[bytes, bytes]]]:
    """A JUMBF superbox's label (from its description box) and its content boxes."""
    (kind, description), *content = list(_boxes(payload, 0, len(payload)))
    if kind != b"jumd":
        raise ValueError("JUMBF superbox without a description")
    label = ""
    if description[16] & 0x02:  # the label is present
        label = description[17 : description.index(b"\x00", 17)].decode()
    return label, content


def _signature(store: bytes, manifest_label: str) -> bytes | None:
    """The COSE_Sign1 bytes of one manifest's signature box in a manifest store."""
    for kind, payload in _boxes(store, 0, len(store)):
        if kind != b"jumb" or _superbox(payload)[0] != "c2pa":
            continue
        for _, manifest in _superbox(payload)[1]:
            label, parts = _superbox(manifest)
            if label != manifest_label:
                continue
            for _, part in parts:
                label, content = _superbox(part)
                if label == SIGNATURE_LABEL:
                    return next(body for kind, body in content if kind == b"cbor")
    return None


def _x5chain(cose: bytes) -> list[bytes]:
    """The DER certificates of a COSE_Sign1's x5chain, signer first (C2PA puts it in the
    protected header; version 1 claims had it unprotected)."""
    sign1, _ = _cbor(cose, 0)
    protected, _ = _cbor(sign1[0], 0) if sign1[0] else ({}, 0)
    chain = protected.get(X5CHAIN) or sign1[1].get(X5CHAIN)
    if isinstance(chain, bytes):
        return [chain]
    if not chain or not all(isinstance(c, bytes) for c in chain):
        raise ValueError("no x5chain in the signature")
    return chain


def _cbor(data: bytes, pos: int) -> tuple[Any, int]:
    """One CBOR item (RFC 8949) of definite length, and the position after it. Tags are read
    through; floats and simple values are returned as their raw integers (not needed here)."""
    major, info = data[pos] >> 5, data[pos] & 0x1F
    pos += 1
    if info < 24:
        arg = info
    elif info < 28:
        width = 1 << (info - 24)
        arg = int.from_bytes(data[pos : pos + width], "big")
        pos += width
    else:
        raise ValueError("indefinite-length CBOR is not read here")
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major in (2, 3):
        if pos + arg > len(data):
            raise ValueError("truncated CBOR string")
        raw = data[pos : pos + arg]
        return (raw if major == 2 else raw.decode()), pos + arg
    if major == 4:
        items = []
        for _ in range(arg):
            item, pos = _cbor(data, pos)
            items.append(item)
        return items, pos
    if major == 5:
        mapping = {}
        for _ in range(arg):
            key, pos = _cbor(data, pos)
            mapping[key], pos = _cbor(data, pos)
        return mapping, pos
    if major == 6:
        return _cbor(data, pos)
    return arg, pos
