"""A buyer chooses a transcode profile for a delivered license: the next version is H.264 in that
profile, the sample JSON and C2PA say so, and the package still verifies."""

from __future__ import annotations

import io
import json

import av
import pyarrow.parquet as pq
from django.conf import settings

from outtake.delivery.models import Delivery
from outtake.provenance.c2pa_sign import MIME, assertion, read_state
from outtake.provenance.verify_package import FolderPackage, verify
from tests.delivery.packages import download, media_of


def test_chosen_profile_gives_a_transcoded_next_version(
    package, client, make_user, django_capture_on_commit_callbacks, tmp_path
):
    v1, *_, buyer = package
    url = f"/api/licenses/{v1.license_id}/transcode-profile"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {buyer.raw_token}"}
    names = [p["name"] for p in client.get("/api/delivery-profiles", **auth).json()]
    assert names[0] == "stream_copy" and "h264_720p_30fps" in names
    bad = client.post(url, {"profile": "h265_8k"}, content_type="application/json", **auth)
    assert bad.status_code == 400 and "profile must be one of" in bad.json()["detail"]
    other = make_user("buyer", "other@example.org")
    answer = client.post(
        url,
        {"profile": "h264_720p_30fps"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {other.raw_token}",
    )
    assert answer.status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            url, {"profile": "h264_720p_30fps"}, content_type="application/json", **auth
        )
    assert answer.status_code == 200, answer.content
    assert answer.json()["transcode_profile"] == "h264_720p_30fps"
    v2 = Delivery.objects.get(pk=answer.json()["next_delivery"]["id"])
    assert (v2.version, v2.status) == (2, Delivery.Status.READY)
    folder = download(v2, tmp_path / "v2")
    (row,) = [
        r for r in pq.read_table(folder / "index.parquet").to_pylist() if r["kind"] == "video"
    ]
    shard = (folder / row["shard"]).read_bytes()
    sample = json.loads(shard[row["json_offset"] : row["json_offset"] + row["json_size"]])
    prov = sample["provenance"]
    assert prov["transcode_profile"] == "h264_720p_30fps" and prov["transcode"]["fps"] == 30
    assert prov["cut"]["stream_copy"] is False and prov["cut"]["trim_start_s"] == 0.0
    data = media_of(folder, row)
    root = (settings.OUTTAKE_PKI_DIR / "root.pem").read_bytes()
    state, manifest, _ = read_state(data, MIME[".mp4"], root)
    actions = [a["action"] for a in assertion(manifest, "c2pa.actions.v2")["actions"]]
    assert state == "Trusted" and actions == ["c2pa.opened", "c2pa.transcoded"]
    with av.open(io.BytesIO(data)) as c:
        assert c.streams.video[0].average_rate == 30
    assert all(c.ok for c in verify(FolderPackage(folder), root))
    assert "h264_720p_30fps" in (folder / "DATASHEET.md").read_text()
