"""A revocation reaches the buyer: the next version leaves the clip out, removals.json names it,
and the buyer's acknowledgement is recorded."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import webdataset as wds
from django.conf import settings

from outtake.audit.models import AuditEvent
from outtake.delivery import services
from outtake.delivery.models import Delivery
from outtake.provenance.verify_package import FolderPackage, verify
from outtake.rights.claims import request_removal, resolve_removal
from tests.delivery.packages import download


def test_removal_request_to_next_version_to_acknowledgement(
    package, client, django_capture_on_commit_callbacks, tmp_path, make_user
):
    v1, _, video, photo, buyer = package
    assert services.deliver_removals() == []  # nothing revoked yet
    removal = request_removal(
        video.asset_id,
        email="person@example.org",
        reason="I am the person in this clip and never agreed.",
        clip_id=video.id,
    )
    assert services.deliver_removals() == []  # paused, not revoked, until a reviewer decides
    resolve_removal(make_user("reviewer"), removal, upheld=True)
    with django_capture_on_commit_callbacks(execute=True):
        (v2,) = services.deliver_removals()
    v2 = Delivery.objects.get(pk=v2.pk)
    assert (v2.license_id, v2.version, v2.status) == (v1.license_id, 2, Delivery.Status.READY)
    assert services.deliver_removals() == []  # the latest version already removes it
    folder = download(v2, tmp_path / "v2")
    removals = json.loads((folder / "removals.json").read_bytes())
    assert removals["delete_sample_ids"] == [str(video.id)] and removals["version"] == 2
    assert "  removals.json\n" in (folder / "MANIFEST.sha256").read_text()
    shards = sorted(str(p) for p in (folder / "shards").glob("*.tar"))
    assert {s["__key__"] for s in wds.WebDataset(shards, shardshuffle=False)} == {str(photo.id)}
    assert [r["key"] for r in pq.read_table(folder / "index.parquet").to_pylist()] == [
        str(photo.id)
    ]
    checks = verify(FolderPackage(folder), (settings.OUTTAKE_PKI_DIR / "root.pem").read_bytes())
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert "removals" in {c.name for c in checks}
    # The buyer sees what to delete next to the files, and confirms it there.
    client.force_login(buyer)
    page = client.post(f"/deliveries/{v2.id}/download/").content.decode()
    assert str(video.id) in page and 'id="acknowledge"' in page
    answer = client.post(f"/deliveries/{v2.id}/acknowledge/")
    assert answer.status_code == 302 and answer["Location"] == f"/licenses/{v2.license_id}/"
    page = client.post(f"/deliveries/{v2.id}/download/").content.decode()
    assert "Deletion confirmed" in page and 'id="acknowledge"' not in page
    v2.refresh_from_db()
    assert v2.removals_acknowledged_by == buyer
    event = AuditEvent.objects.get(kind="delivery.removals_acknowledged", subject_id=str(v2.id))
    assert event.data["removed"] == [str(video.id)]
    # The API shows the same; version 1 removed nothing, so there is nothing to acknowledge.
    auth = {"HTTP_AUTHORIZATION": f"Bearer {buyer.raw_token}"}
    listed = client.get(f"/api/licenses/{v2.license_id}/deliveries", **auth).json()
    assert {d["version"]: bool(d["removals_acknowledged_at"]) for d in listed} == {
        1: False,
        2: True,
    }
    assert client.post(f"/api/deliveries/{v1.id}/acknowledge", **auth).status_code == 409
