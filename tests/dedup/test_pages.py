"""The hash-list upload page (labs' corpus, creators' published footage), with Django's client:
a plain form with a file field, nothing a browser would add."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from outtake.dedup.models import HashList, ListMatch
from tests.factories import ready_clip

pytestmark = pytest.mark.django_db


def test_a_lab_uploads_a_sha256_list_on_its_page_and_the_clip_leaves_its_quotes(client, make_user):
    creator, lab = make_user("creator"), make_user("buyer")
    clip = ready_clip(creator)
    client.force_login(lab)
    page = client.get("/hash-lists/")
    assert page.status_code == 200 and "Footage you already have" in page.content.decode()
    listed = f"{clip.asset.sha256}  theirs/copy.mp4\n".encode()
    response = client.post(
        "/hash-lists/",
        {"name": "our corpus", "kind": "sha256", "file": SimpleUploadedFile("l.txt", listed)},
        follow=True,
    )
    assert "our corpus: 1 clip(s) matched" in response.content.decode()
    hash_list = HashList.objects.get(owner=lab.organization)
    assert (hash_list.purpose, hash_list.sha256_count) == ("corpus", 1)
    assert ListMatch.objects.get(hash_list=hash_list).clip == clip
    body = {"title": "t", "minutes_wanted": "10", "budget": "1000"}
    answer = client.post(
        "/api/requests",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {lab.raw_token}",
    ).json()
    assert answer["clip_count"] == 0 and answer["excluded"]["already in your corpus"] == 1


def test_a_bad_list_is_refused_with_the_reason_and_creators_list_what_they_published(
    client, make_user
):
    creator = make_user("creator")
    client.force_login(creator)
    assert "Footage you have published" in client.get("/hash-lists/").content.decode()
    bad = SimpleUploadedFile("l.txt", b"not a hash\n")
    response = client.post("/hash-lists/", {"kind": "pdq", "file": bad})
    assert response.status_code == 200
    assert "not a 64-hex-digit hash" in response.content.decode()
    binary = SimpleUploadedFile("l.bin", b"\xff\xfe\x00")
    response = client.post("/hash-lists/", {"kind": "pdq", "file": binary})
    assert "a hash list is a text file" in response.content.decode()
    assert not HashList.objects.exists()
    client.force_login(make_user("reviewer"))
    assert client.get("/hash-lists/").status_code == 403
