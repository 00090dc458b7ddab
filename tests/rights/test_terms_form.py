"""The web terms form edits everything the terms hold and saves it as a new version."""

from __future__ import annotations

import pytest

from outtake.core.terms import USES
from outtake.rights.models import TermsVersion

pytestmark = pytest.mark.django_db


def form_post(**changes) -> dict:
    data = {f"use_{code}": "allowed" for code in USES}
    data.update(
        protect_no_digital_replica="on",
        protect_no_style_imitation="on",
        protect_no_reputational_harm="on",
    )
    data.update(changes)
    return data


def test_a_post_saves_every_field_as_a_new_version(make_user, client):
    creator, lab = make_user("creator"), make_user("buyer")
    client.force_login(creator)
    page = client.get("/terms/").content.decode()
    for name in ("min_price_per_minute", "territory", "precise_location", "refused_categories"):
        assert f'name="{name}"' in page
    assert 'name="original_c2pa_manifest"' in page
    assert "the signer's certificate, which may name your camera or you" in page
    assert lab.organization.pseudonym in page  # a buyer the creator can refuse

    response = client.post(
        "/terms/",
        form_post(
            use_ai_generative_training="not_allowed",
            use_fine_tuning="constrained",
            constraint_fine_tuning="research only",
            protect_no_style_imitation="",
            protect_no_political="on",
            loosen_protections="on",
            min_price_per_minute="2.5",
            territory="de, FR",
            term_years="3",
            training_stop_notice_days="30",
            refused_buyers=[str(lab.organization_id)],
            refused_categories=["defense", "adult"],
            approval_required="on",
            precise_location="on",
            original_c2pa_manifest="on",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [version] = TermsVersion.objects.filter(organization=creator.organization)
    terms = version.terms
    assert terms["uses"]["ai_generative_training"]["state"] == "not_allowed"
    assert terms["uses"]["fine_tuning"] == {"state": "constrained", "constraint": "research only"}
    assert terms["protections"] == {
        "no_digital_replica": True,
        "no_style_imitation": False,
        "no_reputational_harm": True,
        "no_political": True,
        "no_adult": False,
    }
    assert terms["exclusive_allowed"] is False
    assert terms["min_price_per_minute"] == "2.50"
    assert terms["territory"] == ["DE", "FR"] and terms["term_years"] == 3
    assert terms["training_stop_notice_days"] == 30
    assert terms["refused_buyers"] == [str(lab.organization_id)]
    assert terms["refused_categories"] == ["adult", "defense"]
    assert terms["approval_required"] is True and terms["precise_location"] is True
    assert terms["original_c2pa_manifest"] is True

    # The form shows the saved version back; a save with nothing changed keeps every value.
    page = client.get("/terms/").content.decode()
    assert 'value="DE, FR"' in page and 'value="2.50"' in page
    assert (  # the history
        "each deal needs my approval; precise location delivered; "
        "originals&#x27; C2PA manifests delivered" in page
    )
    client.post(
        "/terms/",
        form_post(
            use_ai_generative_training="not_allowed",
            use_fine_tuning="constrained",
            constraint_fine_tuning="research only",
            protect_no_political="on",
            protect_no_style_imitation="",
            loosen_protections="on",
            min_price_per_minute="2.50",
            territory="DE, FR",
            term_years="3",
            training_stop_notice_days="30",
            refused_buyers=[str(lab.organization_id)],
            refused_categories=["defense", "adult"],
            approval_required="on",
            precise_location="on",
            original_c2pa_manifest="on",
        ),
    )
    assert TermsVersion.objects.get(version=2).terms == terms


def test_loosening_a_protection_needs_an_explicit_confirmation(make_user, client):
    client.force_login(make_user("creator"))
    response = client.post("/terms/", form_post(protect_no_digital_replica=""))
    assert response.status_code == 200
    assert "confirm that you give it up" in response.content.decode()
    response = client.post("/terms/", form_post(territory="Germany"))
    assert "Not ISO country codes: GERMANY" in response.content.decode()
    assert not TermsVersion.objects.exists()
    response = client.post("/terms/", form_post())
    version = TermsVersion.objects.get()
    assert version.terms["precise_location"] is False  # the default: GPS coarsened
    assert version.terms["original_c2pa_manifest"] is False  # and no original's manifest
    protections = version.terms["protections"]
    assert [c for c, on in protections.items() if on] == [
        "no_digital_replica",
        "no_style_imitation",
        "no_reputational_harm",
    ]
