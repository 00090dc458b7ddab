"""Download links: one signed token per file, and HTTP Range as RFC 9110 has it."""

from __future__ import annotations

import hashlib
import os

import pytest
from django.utils import timezone

from outtake.delivery.models import Delivery
from outtake.storage import get_store
from tests.factories import license_for, ready_clip

DATA = os.urandom(1000)


@pytest.fixture
def links(db, make_user, client):
    """{path: link} of a ready package of two files, as its buyer got them from the API."""
    buyer = make_user("buyer")
    license = license_for(buyer, [(ready_clip(make_user("creator")), 100)])
    license.paid_at = timezone.now()
    license.save()
    files = {"shards/shard-000000.tar": DATA, "MANIFEST.sha256": b"sums\n"}
    delivery = Delivery.objects.create(
        license=license,
        status=Delivery.Status.READY,
        blob_key="deliveries/d1",
        manifest={
            "files": [
                {"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                for p, d in files.items()
            ]
        },
    )
    for path, data in files.items():
        get_store().put_bytes(f"deliveries/d1/{path}", data)
    answer = client.post(
        f"/api/deliveries/{delivery.id}/link", HTTP_AUTHORIZATION=f"Bearer {buyer.raw_token}"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    by_path = {f["path"]: f for f in body["files"]}
    assert body["url"] == by_path["MANIFEST.sha256"]["url"]
    return by_path


def _get(client, url: str, **headers):
    response = client.get(
        url, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    )
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_a_token_opens_only_its_own_file(client, links):
    shard, sums = links["shards/shard-000000.tar"], links["MANIFEST.sha256"]
    assert _get(client, shard["url"])[1] == DATA
    assert _get(client, sums["url"])[1] == b"sums\n"
    token = shard["url"].split("/")[2]
    assert token != sums["url"].split("/")[2]
    other, body = _get(client, f"/download/{token}/MANIFEST.sha256")
    assert other.status_code == 403 and b"another file" in body
    forged, _ = _get(client, shard["url"].replace("/download/", "/download/x"))
    assert forged.status_code == 403


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=10-19", 10, 19),
        ("bytes=990-", 990, 999),
        ("bytes=995-5000", 995, 999),  # a last position past the end stops at the end
        ("bytes=-5", 995, 999),
        ("bytes=-5000", 0, 999),  # a suffix longer than the file: all of it
        ("bytes=0-0", 0, 0),
    ],
)
def test_one_range_is_partial_content(client, links, header, first, last):
    url = links["shards/shard-000000.tar"]["url"]
    response, body = _get(client, url, Range=header)
    assert response.status_code == 206
    assert body == DATA[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/1000"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_outside_the_file_is_416(client, links, header):
    response, _ = _get(client, links["shards/shard-000000.tar"]["url"], Range=header)
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */1000"


@pytest.mark.parametrize(
    "header", ["bytes=5-3", "bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=-", "bytes 0-5"]
)
def test_an_invalid_or_multiple_range_is_ignored(client, links, header):
    response, body = _get(client, links["shards/shard-000000.tar"]["url"], Range=header)
    assert response.status_code == 200 and body == DATA
    assert "Content-Range" not in response and response["Content-Length"] == "1000"


def test_if_range_resumes_only_the_same_file(client, links):
    shard = links["shards/shard-000000.tar"]
    etag = f'"{shard["sha256"]}"'
    response, body = _get(client, shard["url"], Range="bytes=500-", If_Range=etag)
    assert response.status_code == 206 and body == DATA[500:] and response["ETag"] == etag
    for changed in ('"' + "0" * 64 + '"', f"W/{etag}", "Wed, 21 Oct 2015 07:28:00 GMT"):
        response, body = _get(client, shard["url"], Range="bytes=500-", If_Range=changed)
        assert response.status_code == 200 and body == DATA, changed
