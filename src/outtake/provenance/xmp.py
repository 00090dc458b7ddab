"""XMP rights metadata for delivered files: IPTC/PLUS DataMining, model releases, the licensor.

Written before C2PA signing (any later edit breaks the hash binding). Our own writer, because
Debian's exiftool is too old for plus:DataMining and pyexiv2 cannot write MP4: JPEG gets an APP1
segment and PNG an iTXt chunk (provenance.cut), MP4/MOV a top-level XMP uuid box appended after
the media data, so no sample offset moves.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from outtake.core.terms import ALLOWED, CONSTRAINED, PLUS, USES
from outtake.provenance.bmff import boxes

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
DMI_ALLOWED = PLUS + "DMI-ALLOWED"
DMI_SEE_CONSTRAINT = PLUS + "DMI-PROHIBITED-SEECONSTRAINT"
# Most restrictive first: the first use a license does not grant names the DataMining value.
_RESTRICTIVENESS = ("data_mining", "ai_training", "ai_generative_training", "ai_inference")


def data_mining_value(states: dict[str, dict]) -> str:
    """The one PLUS DataMining value for a file from its per-use states (core.terms.USES)."""
    for code in _RESTRICTIVENESS:
        if states[code]["state"] not in (ALLOWED, CONSTRAINED):
            return USES[code].plus_data_mining
    if any(s["state"] == CONSTRAINED for s in states.values()):
        return DMI_SEE_CONSTRAINT
    return DMI_ALLOWED


def model_release_status(people: str, release_ids: list[str]) -> str:
    """PLUS ModelReleaseStatus from a clip's people summary and its release ids: not
    applicable (no identifiable people), limited (releases cover AI training only), none."""
    if "no identifiable" in people:
        return "MR-NAP"
    return "MR-LMR" if release_ids else "MR-NON"


@dataclass(frozen=True)
class RightsXmp:
    data_mining: str
    usage_terms: str
    web_statement: str
    licensor: str
    creator: str
    model_release_status: str  # "MR-NON" (none), "MR-NAP" (not applicable), ...
    model_release_ids: tuple[str, ...] = field(default_factory=tuple)

    def packet(self) -> bytes:
        releases = "".join(f"<rdf:li>{escape(r)}</rdf:li>" for r in self.model_release_ids)
        body = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="{NS["x"]}">
 <rdf:RDF xmlns:rdf="{NS["rdf"]}">
  <rdf:Description rdf:about="" xmlns:plus="{NS["plus"]}" xmlns:xmpRights="{NS["xmpRights"]}"
    xmlns:dc="{NS["dc"]}">
   <plus:DataMining>{escape(self.data_mining)}</plus:DataMining>
   <plus:ModelReleaseStatus>{PLUS}{escape(self.model_release_status)}</plus:ModelReleaseStatus>
   <plus:ModelReleaseID><rdf:Bag>{releases}</rdf:Bag></plus:ModelReleaseID>
   <plus:Licensor><rdf:Seq><rdf:li rdf:parseType="Resource">
    <plus:LicensorName>{escape(self.licensor)}</plus:LicensorName>
   </rdf:li></rdf:Seq></plus:Licensor>
   <xmpRights:Marked>True</xmpRights:Marked>
   <xmpRights:WebStatement>{escape(self.web_statement)}</xmpRights:WebStatement>
   <xmpRights:UsageTerms><rdf:Alt><rdf:li xml:lang="x-default">{escape(self.usage_terms)}</rdf:li>
   </rdf:Alt></xmpRights:UsageTerms>
   <dc:creator><rdf:Seq><rdf:li>{escape(self.creator)}</rdf:li></rdf:Seq></dc:creator>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
        return body.encode()


def xmp_box(packet: bytes) -> bytes:
    """An ISO BMFF top-level uuid box holding an XMP packet (XMP spec part 3)."""
    return struct.pack(">I", 8 + 16 + len(packet)) + b"uuid" + XMP_UUID + packet


def find_xmp(data: bytes) -> bytes | None:
    """The XMP packet of a JPEG, PNG or MP4/MOV (first found), or None."""
    if data[4:8] in (b"ftyp", b"wide", b"moov", b"mdat", b"free"):
        try:
            for box in boxes(data):
                if box.kind == b"uuid" and data[box.payload : box.payload + 16] == XMP_UUID:
                    return data[box.payload + 16 : box.end]
        except ValueError:
            pass  # a damaged box: no XMP to be found past it
        return None
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        return None
    end = data.find(b"</x:xmpmeta>", start)
    return data[start : end + len(b"</x:xmpmeta>")] if end > 0 else None


def read_rights(packet: bytes) -> dict[str, object]:
    """The fields RightsXmp writes, read back from a packet by their namespaces."""
    start = packet.find(b"<x:xmpmeta")
    end = packet.rfind(b"</x:xmpmeta>") + len(b"</x:xmpmeta>")
    root = ET.fromstring(packet[start:end])
    desc = root.find("rdf:RDF/rdf:Description", NS)
    if desc is None:
        return {}

    def text(path: str) -> str:
        node = desc.find(path, NS)
        return (node.text or "").strip() if node is not None else ""

    return {
        "DataMining": text("plus:DataMining"),
        "ModelReleaseStatus": text("plus:ModelReleaseStatus").removeprefix(PLUS),
        "ModelReleaseID": [
            (li.text or "") for li in desc.findall("plus:ModelReleaseID/rdf:Bag/rdf:li", NS)
        ],
        "LicensorName": text("plus:Licensor/rdf:Seq/rdf:li/plus:LicensorName"),
        "UsageTerms": text("xmpRights:UsageTerms/rdf:Alt/rdf:li"),
        "WebStatement": text("xmpRights:WebStatement"),
        "creator": text("dc:creator/rdf:Seq/rdf:li"),
    }
