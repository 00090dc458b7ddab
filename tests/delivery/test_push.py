"""Pushing a delivery into a lab's bucket, against a real S3 server: Ceph RGW on loopback."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import timedelta

import boto3
import pytest
from django.utils import timezone

from outtake.audit.models import AuditEvent
from outtake.delivery import push as push_service
from outtake.delivery.models import Delivery, Push, PushObject
from outtake.notices.models import Notification
from outtake.storage import get_store
from tests.factories import license_for, ready_clip

MIB = 1 << 20
# The big shard spans three 5 MiB parts (RGW's smallest part but the last).
FILES = {
    "shards/shard-000000.tar": 12 * MIB + 123,
    "shards/shard-000001.tar": 1 * MIB,
    "index.parquet": 2048,
    "MANIFEST.sha256": 300,
}


class Killed(BaseException):
    """What a worker killed mid-push looks like to the code: nothing after this line runs."""


@pytest.fixture
def lab(rgw):
    """The lab's side: an S3 client of its own and a fresh bucket."""
    s3 = boto3.client(
        "s3",
        endpoint_url=rgw.endpoint,
        aws_access_key_id=rgw.access_key,
        aws_secret_access_key=rgw.secret_key,
        region_name="us-east-1",
    )
    bucket = f"lab-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    return s3, bucket


@pytest.fixture
def delivery(db, make_user, settings):
    """A ready delivery whose files (random bytes, so no two pushes look alike) are in store."""
    settings.OUTTAKE_PUSH_PART_BYTES = 5 * MIB
    settings.OUTTAKE_ALLOW_PRIVATE_DESTINATIONS = True
    creator, buyer = make_user("creator"), make_user("buyer")
    license = license_for(buyer, [(ready_clip(creator), 300)])
    license.paid_at = timezone.now()
    license.save()
    d = Delivery.objects.create(license=license, status=Delivery.Status.READY)
    d.blob_key = f"deliveries/{d.id}"
    files = []
    for path, size in FILES.items():
        data = os.urandom(size)
        get_store().put_bytes(f"{d.blob_key}/{path}", data)
        files.append({"path": path, "size": size, "sha256": hashlib.sha256(data).hexdigest()})
    d.manifest = {"files": files}
    d.save()
    return d, buyer


def _keys(rgw) -> dict:
    return {
        "endpoint": rgw.endpoint,
        "access_key_id": rgw.access_key,
        "secret_access_key": rgw.secret_key,
    }


def _assert_landed(lab, delivery: Delivery, prefix: str) -> None:
    s3, bucket = lab
    key = f"{prefix}/{{}}" if prefix else "{}"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted(map(key.format, delivery.files))
    for path, entry in delivery.files.items():
        body = s3.get_object(Bucket=bucket, Key=key.format(path))["Body"].read()
        assert len(body) == entry["size"]
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], path


def test_push_lands_every_file_with_matching_sha256(
    rgw, lab, delivery, client, django_capture_on_commit_callbacks
):
    d, buyer = delivery
    auth = {"HTTP_AUTHORIZATION": f"Bearer {buyer.raw_token}"}
    body = {"bucket": lab[1], "prefix": "outtake/v1/", **_keys(rgw)}
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/api/deliveries/{d.id}/pushes", body, content_type="application/json", **auth
        )
    assert r.status_code == 201, r.content
    push_id = r.json()["id"]

    r = client.get(f"/api/pushes/{push_id}", **auth)
    out = r.json()
    assert out["status"] == "done", out["error"]
    assert out["destination"] == f"s3://{lab[1]}/outtake/v1"
    assert out["objects_total"] == out["objects_done"] == len(FILES)
    assert out["bytes_total"] == out["bytes_sent"] == sum(FILES.values())
    assert out["credentials_kept"] is False
    _assert_landed(lab, d, "outtake/v1")

    push = Push.objects.get(pk=push_id)
    assert push.credentials == "" and push.credentials_deleted_at is not None
    big = push.files.get(path="shards/shard-000000.tar")
    assert [p["n"] for p in big.parts] == [1, 2, 3]
    event = AuditEvent.objects.get(kind="delivery.pushed", subject_id=push_id)
    assert event.data["bytes"] == sum(FILES.values())
    assert event.data["credentials"] == "deleted"
    assert Notification.objects.filter(user=buyer, kind="delivery.pushed").exists()

    # Pushed again to the same place: every object is already there, nothing is sent.
    again = push_service.start_push(buyer, d, bucket=lab[1], prefix="outtake/v1", **_keys(rgw))
    again = push_service.run_push(str(again.id))
    assert again.status == Push.Status.DONE
    assert (again.objects_skipped, again.bytes_sent) == (len(FILES), 0)


def test_cut_off_push_resumes_without_resending_finished_parts(
    rgw, lab, delivery, django_capture_on_commit_callbacks
):
    d, buyer = delivery
    s3, bucket = lab
    with django_capture_on_commit_callbacks(execute=False):
        push = push_service.start_push(buyer, d, bucket=bucket, prefix="drop", **_keys(rgw))
    assert rgw.secret_key not in push.credentials  # kept encrypted while the push may run

    sent: list[tuple[str, int]] = []

    def killed_after_two_parts(path: str, n: int, size: int) -> None:
        sent.append((path, n))
        if (path, n) == ("shards/shard-000000.tar", 2):
            raise Killed

    with pytest.raises(Killed):
        push_service.run_push(str(push.id), on_part=killed_after_two_parts)
    # Files go in path order: MANIFEST.sha256, index.parquet, then two of the big shard's
    # three parts before the worker died.
    assert len(sent) == 4
    big = PushObject.objects.get(push=push, path="shards/shard-000000.tar")
    assert [p["n"] for p in big.parts] == [1, 2]
    stored = s3.list_parts(
        Bucket=bucket, Key="drop/shards/shard-000000.tar", UploadId=big.upload_id
    )
    assert [p["PartNumber"] for p in stored["Parts"]] == [1, 2]
    push.refresh_from_db()
    assert push.status == Push.Status.RUNNING

    with pytest.raises(push_service.PushError, match="cannot be resumed"):
        push_service.resume_push(buyer, push)  # still looks alive
    Push.objects.filter(pk=push.pk).update(started_at=timezone.now() - timedelta(hours=1))
    push.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False):
        push_service.resume_push(buyer, push)
    resumed: list[tuple[str, int]] = []
    push = push_service.run_push(str(push.id), on_part=lambda p, n, s: resumed.append((p, n)))

    assert push.status == Push.Status.DONE, push.error
    assert not set(resumed) & set(sent)
    assert ("shards/shard-000000.tar", 3) in resumed
    assert push.attempts == 2
    # Every byte went up exactly once over both attempts.
    assert push.bytes_sent == sum(FILES.values())
    _assert_landed(lab, d, "drop")
    assert AuditEvent.objects.filter(kind="delivery.push_resumed", subject_id=str(push.id)).exists()


def test_failed_part_is_recorded_and_resumed_through_the_api(
    rgw, lab, delivery, client, django_capture_on_commit_callbacks
):
    d, buyer = delivery
    auth = {"HTTP_AUTHORIZATION": f"Bearer {buyer.raw_token}"}
    with django_capture_on_commit_callbacks(execute=False):
        push = push_service.start_push(buyer, d, bucket=lab[1], **_keys(rgw))

    def network_drops(path: str, n: int, size: int) -> None:
        if path == "shards/shard-000000.tar" and n == 2:
            raise ConnectionResetError("connection reset by peer")

    push = push_service.run_push(str(push.id), on_part=network_drops)
    assert push.status == Push.Status.FAILED
    assert "connection reset" in push.error
    assert push.credentials  # kept, encrypted, for the resume
    event = AuditEvent.objects.get(kind="delivery.push_failed", subject_id=str(push.id))
    assert event.data["error"] == push.error
    assert Notification.objects.filter(user=buyer, kind="delivery.push_failed").exists()

    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/api/pushes/{push.id}/resume", {}, content_type="application/json", **auth
        )
    assert r.status_code == 200, r.content
    out = client.get(f"/api/pushes/{push.id}", **auth).json()
    assert out["status"] == "done", out["error"]
    assert out["bytes_sent"] == sum(FILES.values())
    _assert_landed(lab, d, "")


def test_wrong_keys_and_bad_destinations_say_why(rgw, lab, delivery, client, settings):
    d, buyer = delivery
    push = push_service.start_push(
        buyer, d, bucket=lab[1], **{**_keys(rgw), "secret_access_key": "not-the-secret"}
    )
    push = push_service.run_push(str(push.id))
    assert push.status == Push.Status.FAILED
    assert "access denied: check the keys, the secret key" in push.error

    missing = push_service.start_push(buyer, d, bucket="no-such-bucket-here", **_keys(rgw))
    assert "bucket does not exist" in push_service.run_push(str(missing.id)).error

    auth = {"HTTP_AUTHORIZATION": f"Bearer {buyer.raw_token}"}
    url = f"/api/deliveries/{d.id}/pushes"
    cases = [
        ({"bucket": "Bad_Bucket"}, "bucket name"),
        ({"bucket": "ok-bucket", "prefix": "a/../b"}, "prefix"),
        ({"bucket": "ok-bucket", "access_key_id": "only-the-id"}, "both"),
        ({"bucket": "ok-bucket", "endpoint": "ftp://example.org"}, "https://"),
    ]
    for body, reason in cases:
        r = client.post(url, body, content_type="application/json", **auth)
        assert r.status_code == 400 and reason in r.json()["detail"], (body, r.content)
    settings.OUTTAKE_ALLOW_PRIVATE_DESTINATIONS = False
    r = client.post(
        url, {"bucket": "ok-bucket", **_keys(rgw)}, content_type="application/json", **auth
    )
    assert r.status_code == 400 and "https" in r.json()["detail"]


def test_bucket_policy_push_uses_outtakes_own_account(rgw, lab, delivery, monkeypatch):
    """No keys from the lab: Outtake's account (here from the environment) must be granted."""
    d, buyer = delivery
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", rgw.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", rgw.secret_key)
    push = push_service.start_push(buyer, d, bucket=lab[1], prefix="p", endpoint=rgw.endpoint)
    assert push.bucket_policy and push.credentials == ""
    push = push_service.run_push(str(push.id))
    assert push.status == Push.Status.DONE, push.error
    _assert_landed(lab, d, "p")


def test_only_the_buyer_pushes_and_old_keys_are_deleted(rgw, lab, delivery, make_user, settings):
    d, buyer = delivery
    other = make_user("buyer")
    with pytest.raises(PermissionError):
        push_service.start_push(other, d, bucket=lab[1], **_keys(rgw))
    push = push_service.start_push(buyer, d, bucket=lab[1], **_keys(rgw))
    Push.objects.filter(pk=push.pk).update(
        status=Push.Status.FAILED, finished_at=timezone.now() - timedelta(hours=25)
    )
    assert push_service.forget_old_credentials() == 1
    push.refresh_from_db()
    assert push.credentials == "" and push.credentials_deleted_at is not None
    with pytest.raises(push_service.PushError, match="give them again"):
        push_service.resume_push(buyer, push)
    keys = {"access_key_id": rgw.access_key, "secret_access_key": rgw.secret_key}
    push_service.resume_push(buyer, push, **keys)
    assert push_service.run_push(str(push.id)).status == Push.Status.DONE


def test_push_form_on_the_delivery_page(
    rgw, lab, delivery, client, django_capture_on_commit_callbacks
):
    d, buyer = delivery
    client.force_login(buyer)
    url = f"/deliveries/{d.id}/push/"
    page = client.get(url)
    assert page.status_code == 200 and b'name="bucket"' in page.content

    form = {"action": "push", "bucket": "Not A Bucket", "secret_access_key": "s3cr3t-typed"}
    page = client.post(url, form)
    assert page.status_code == 400
    assert b"lower-case letters" in page.content and b"s3cr3t-typed" not in page.content

    form = {
        "action": "push",
        "bucket": lab[1],
        "prefix": "web",
        "region": "us-east-1",
        **_keys(rgw),
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, form).status_code == 302
    page = client.get(url).content.decode()
    assert f"s3://{lab[1]}/web" in page and "Done" in page and "deleted" in page
    assert rgw.secret_key not in page
    _assert_landed(lab, d, "web")


def test_cancelled_push_drops_its_unfinished_upload_and_keys(rgw, lab, delivery):
    d, buyer = delivery
    s3, bucket = lab
    push = push_service.start_push(buyer, d, bucket=bucket, **_keys(rgw))

    def network_drops(path: str, n: int, size: int) -> None:
        if path == "shards/shard-000000.tar":
            raise TimeoutError("read timed out")

    push = push_service.run_push(str(push.id), on_part=network_drops)
    assert push.status == Push.Status.FAILED
    assert len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1

    push = push_service.cancel_push(buyer, push)
    assert push.status == Push.Status.CANCELLED and push.credentials == ""
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert AuditEvent.objects.filter(
        kind="delivery.push_cancelled", subject_id=str(push.id)
    ).exists()
    with pytest.raises(push_service.PushError, match="cannot be resumed"):
        push_service.resume_push(buyer, push)
