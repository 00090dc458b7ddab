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
from outtake.provenance.c2pa_sign import read_state
from outtake.provenance.signing import verify_detached

FIXTURES = Path(__file__).parent.parent / "fixtures"
# A real clip with no people in it, so it is sellable without model releases.
VIDEO = FIXTURES / "video" / "te-pattern-hd-no-bar.mp4"

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
        metadata={
            "filename": name or path.name,
            "sha256": sha256(path.read_bytes()),
            "attest": "1",
        },
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
    assert (probe["width"], probe["height"], probe["video_codec"]) == (720, 1280, "h264")
    assert probe["fps"] == pytest.approx(30, abs=0.01)
    assert probe["duration_s"] == pytest.approx(6.87, abs=0.05)
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
    lines = tagged.json()["clips"][0]["price_lines"]
    assert [ln["code"] for ln in lines if ln["kind"] != "deduction"] == ["720p", "aerial"]
    # The clip's quiet soundtrack is a quality warning: a deduction line with its reason.
    assert [ln["code"] for ln in lines if ln["kind"] == "deduction"] == ["loudness"]

    # The buyer sees metadata but no original; a constrained use is licensed only once the
    # buyer has accepted the creator's condition, by its id, after reading its text.
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
    assert q["clip_count"] == 1, q["excluded"]
    [clause] = q["clauses"]
    assert (clause["use"], clause["text"], clause["accepted"]) == ("fine_tuning", "no faces", False)
    price = q["items"][0]["price_minor"]
    assert (
        q["total_minor"]
        == price
        == sum(ln["amount"]["minor"] for ln in q["items"][0]["price_lines"])
    )
    declined = bs.post(exchange.url(f"/api/quotes/{q['id']}/accept"))
    assert declined.status_code == 400 and "condition" in declined.json()["detail"]

    lic = bs.post(
        exchange.url(f"/api/quotes/{q['id']}/accept"), json={"accepted_clauses": [clause["id"]]}
    )
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
    files = {f["path"]: f for f in link["files"]}
    assert link["url"] == files["MANIFEST.sha256"]["url"]
    got = {}
    for path, f in files.items():
        response = bs.get(exchange.url(f["url"]))
        assert response.status_code == 200, path
        assert sha256(response.content) == f["sha256"] and len(response.content) == f["size"]
        got[path] = response.content
    assert sha256(got["MANIFEST.sha256"]) == delivery["sha256"]
    # HTTP Range on a shard: a resumed download gets the rest.
    shard = files["shards/shard-000000.tar"]
    part = bs.get(exchange.url(shard["url"]), headers={"Range": "bytes=1000-"})
    assert part.status_code == 206 and part.content == got[shard["path"]][1000:]
    forged = shard["url"].replace("/download/", "/download/x")
    assert bs.get(exchange.url(forged)).status_code == 403

    # Every file is listed in MANIFEST.sha256, which Outtake signed.
    root = (exchange.home / "pki" / "root.pem").read_bytes()
    sums = got["MANIFEST.sha256"]
    sig = json.loads(got["MANIFEST.sha256.sig"])
    assert verify_detached(sums, sig, root) == (True, "")
    assert verify_detached(sums.replace(b"shard", b"shard_", 1), sig, root)[0] is False
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in sums.decode().splitlines()}
    assert set(listed) == set(files) - {"MANIFEST.sha256", "MANIFEST.sha256.sig"}
    assert all(sha256(got[p]) == h for p, h in listed.items())

    # One sample: the clip by stream copy, and its labels and provenance.
    with tarfile.open(fileobj=io.BytesIO(got[shard["path"]])) as tar:
        names = sorted(tar.getnames())
        assert names == [f"{clip['id']}.json", f"{clip['id']}.mp4"]
        sample = json.loads(tar.extractfile(f"{clip['id']}.json").read())
        media = tar.extractfile(f"{clip['id']}.mp4").read()
    prov = sample["provenance"]
    assert prov["delivered_sha256"] == sha256(media)
    assert prov["original_sha256"] == sha256(VIDEO.read_bytes())
    assert prov["clip_id"] == clip["id"] and prov["asset_id"] == asset["id"]
    assert prov["creator"].startswith("creator-") and "ana" not in json.dumps(sample)
    assert prov["license_id"] == lic["id"]
    assert prov["cut"]["stream_copy"] is True and prov["cut"]["video_codec"] == "h264"
    assert prov["terms_snapshot"]["terms"]["uses"]["fine_tuning"]["state"] == "constrained"
    assert "camera_serial" not in json.dumps(sample["labels"])
    assert read_state(media, "video/mp4", root)[0] == "Trusted"

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
