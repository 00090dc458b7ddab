"""The whole path through the HTTP API against a real running exchange."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from decimal import Decimal
from pathlib import Path

import pytest
from tusclient import client as tus

from outtake.core.money import Money
from outtake.provenance.signing import verify_detached

FIXTURES = Path(__file__).parent.parent / "fixtures"
VIDEO = FIXTURES / "video" / "bigbuckbunny.mp4"

pytestmark = pytest.mark.e2e


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tus_upload(
    exchange,
    token: str,
    path: Path,
    *,
    stop_after_chunks: int | None = None,
    url: str | None = None,
    chunk_size: int = 256 * 1024,
    name: str | None = None,
):
    c = tus.TusClient(exchange.url("/uploads/"), headers={"Authorization": f"Bearer {token}"})
    uploader = c.uploader(
        file_path=str(path),
        chunk_size=chunk_size,
        url=url,
        metadata={"filename": name or path.name, "sha256": sha256(path.read_bytes())},
    )
    if stop_after_chunks is None:
        uploader.upload()
    else:
        for _ in range(stop_after_chunks):
            uploader.upload_chunk()
    return uploader


def wait_asset(exchange, session, status_not="processing", count=1):
    def ready():
        assets = session.get(exchange.url("/api/assets")).json()
        done = [a for a in assets if a["status"] != status_not]
        return assets if len(done) >= count and len(assets) >= count else None

    return exchange.wait_for(ready, timeout=90, what="ingest")


def test_creator_to_buyer_to_package(exchange, tmp_path):
    creator = exchange.create_user("creator", "ana@example.org")
    buyer = exchange.create_user("buyer", "lab@example.org")
    reviewer = exchange.create_user("reviewer", "rev@example.org")
    cs, bs, rs = (exchange.api(u["token"]) for u in (creator, buyer, reviewer))

    # An interrupted upload, resumed by a new client from the same URL.
    first = tus_upload(exchange, creator["token"], VIDEO, stop_after_chunks=2)
    assert 0 < first.offset < VIDEO.stat().st_size
    resumed = tus_upload(exchange, creator["token"], VIDEO, url=first.url)
    assert resumed.offset == VIDEO.stat().st_size

    (asset,) = wait_asset(exchange, cs)
    assert asset["status"] == "ready", asset["status_reason"]
    assert asset["sha256"] == sha256(VIDEO.read_bytes())
    assert asset["size_bytes"] == VIDEO.stat().st_size
    probe = asset["probe"]
    assert (probe["width"], probe["height"], probe["video_codec"]) == (1280, 720, "h264")
    assert probe["fps"] == pytest.approx(25, abs=0.01)
    assert probe["duration_s"] == pytest.approx(5.3, abs=0.2)
    assert probe["has_audio"] is True
    (clip,) = asset["clips"]
    assert clip["tier"] == "720p" and clip["sellable"]
    # The skip check: the server knows this file now.
    known = cs.post(
        exchange.url("/api/assets/known"), json={"sha256": [asset["sha256"], "0" * 64]}
    ).json()
    assert known == {"known": [asset["sha256"]]}
    # Thumbnail served to its creator.
    thumb = cs.get(exchange.url(asset["thumbnail_url"]))
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"

    # Terms and a creator tag that earns a premium line.
    terms = cs.put(
        exchange.url("/api/terms"),
        json={"uses": {"fine_tuning": {"state": "constrained", "constraint": "no faces"}}},
    )
    assert terms.status_code == 200 and terms.json()["version"] == 1
    tagged = cs.put(exchange.url(f"/api/assets/{asset['id']}/tags"), json={"tags": ["Drone"]})
    assert [ln["code"] for ln in tagged.json()["clips"][0]["price_lines"]] == ["720p", "aerial"]

    # The buyer sees metadata but no original; a constrained use is not quoted automatically.
    catalog = bs.get(exchange.url("/api/catalog")).json()
    assert [c["id"] for c in catalog] == [clip["id"]]
    assert "camera_serial" not in catalog[0]["metadata"]
    assert "filename" not in catalog[0] and "blob_key" not in json.dumps(catalog)
    q = bs.post(
        exchange.url("/api/requests"),
        json={
            "title": "cartoons",
            "minutes_wanted": "1",
            "budget": "50",
            "uses_needed": ["ai_training", "fine_tuning"],
        },
    ).json()
    assert q["clip_count"] == 0 and sum(q["excluded"].values()) == 1
    q = bs.post(
        exchange.url("/api/requests"),
        json={
            "title": "cartoons",
            "minutes_wanted": "1",
            "budget": "50",
            "uses_needed": ["ai_training", "fine_tuning"],
            "accepted_constraints": ["fine_tuning"],
        },
    ).json()
    assert q["clip_count"] == 1
    price = q["items"][0]["price_minor"]
    assert (
        q["total_minor"]
        == price
        == sum(ln["amount"]["minor"] for ln in q["items"][0]["price_lines"])
    )

    lic = bs.post(exchange.url(f"/api/quotes/{q['id']}/accept"))
    assert lic.status_code == 201, lic.text
    lic = lic.json()
    assert lic["status"] == "awaiting_payment"
    assert lic["clips"][0]["terms"]["terms"]["uses"]["fine_tuning"]["constraint"] == "no faces"

    # Nothing is delivered before it is paid.
    assert bs.get(exchange.url(f"/api/licenses/{lic['id']}/deliveries")).json() == []
    assert (
        bs.post(
            exchange.url(f"/api/invoices/{lic['invoice_id']}/payments"),
            json={"amount_minor": price},
        ).status_code
        == 403
    )
    paid = rs.post(
        exchange.url(f"/api/invoices/{lic['invoice_id']}/payments"),
        json={"amount_minor": price, "reference": "BANK-42"},
    )
    assert paid.status_code == 201, paid.text

    def delivered():
        ds = bs.get(exchange.url(f"/api/licenses/{lic['id']}/deliveries")).json()
        return ds if ds and ds[0]["status"] == "ready" else None

    (delivery,) = exchange.wait_for(delivered, timeout=90, what="the package")
    link = bs.post(exchange.url(f"/api/deliveries/{delivery['id']}/link")).json()
    package = bs.get(exchange.url(link["url"]))
    assert package.status_code == 200
    assert sha256(package.content) == delivery["sha256"]
    # HTTP Range: a resumed download gets the rest.
    part = bs.get(exchange.url(link["url"]), headers={"Range": "bytes=1000-"})
    assert part.status_code == 206 and part.content == package.content[1000:]
    assert bs.get(exchange.url(link["url"].replace("/download/", "/download/x"))).status_code == 403

    with tarfile.open(fileobj=io.BytesIO(package.content)) as tar:
        manifest_bytes = tar.extractfile("manifest.json").read()
        manifest = json.loads(manifest_bytes)
        sig = json.loads(tar.extractfile("manifest.json.sig").read())
        (entry,) = manifest["files"]
        media = tar.extractfile(entry["path"]).read()
    assert entry["sha256"] == sha256(media) == sha256(VIDEO.read_bytes())
    assert entry["size"] == len(media)
    assert entry["clip_id"] == clip["id"] and entry["asset_id"] == asset["id"]
    assert entry["creator"].startswith("creator-") and "ana" not in json.dumps(manifest)
    assert manifest["license_id"] == lic["id"]
    assert entry["terms"]["terms"]["uses"]["fine_tuning"]["state"] == "constrained"
    root = (exchange.home / "pki" / "root.pem").read_bytes()
    assert verify_detached(manifest_bytes, sig, root) == (True, "")
    assert verify_detached(manifest_bytes.replace(b"license", b"licence", 1), sig, root)[0] is False

    # Money: 85 % payable to the creator; notifications sent.
    earnings = cs.get(exchange.url("/api/earnings")).json()
    assert earnings["payable_minor"] == Money(price).times(Decimal("0.85")).minor
    assert earnings["pending_minor"] == 0
    kinds = {n["kind"] for n in cs.get(exchange.url("/api/inbox")).json()}
    assert {"asset.ready", "earnings"} <= kinds
    kinds = {n["kind"] for n in bs.get(exchange.url("/api/inbox")).json()}
    assert {"quote.accepted", "payment.received", "package.ready"} <= kinds
    mails = list((exchange.home / "mail").glob("*.log"))
    assert any("package is ready" in m.read_text() for m in mails)
