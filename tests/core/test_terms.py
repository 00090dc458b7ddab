import pytest

from outtake.core.terms import (
    ALLOWED,
    CONSTRAINED,
    NOT_ALLOWED,
    PROTECTIONS,
    USES,
    TermsError,
    default_terms,
    grants,
    validate_terms,
)


def test_six_uses_with_vocabulary_mapping():
    assert set(USES) == {
        "ai_training",
        "ai_generative_training",
        "data_mining",
        "ai_inference",
        "fine_tuning",
        "evaluation_only",
    }
    assert {u.cawg for u in USES.values() if u.cawg} == {
        "cawg.ai_training",
        "cawg.ai_generative_training",
        "cawg.data_mining",
        "cawg.ai_inference",
    }
    assert all(
        u.plus_data_mining.startswith("http://ns.useplus.org/ldf/vocab/DMI-") for u in USES.values()
    )


def test_protections_on_by_default():
    terms = default_terms()
    assert {c for c, on in terms["protections"].items() if on} == set(PROTECTIONS)


def test_constrained_needs_text_and_explicit_acceptance():
    with pytest.raises(TermsError):
        validate_terms({"uses": {"fine_tuning": {"state": CONSTRAINED}}})
    terms = validate_terms(
        {"uses": {"fine_tuning": {"state": CONSTRAINED, "constraint": "research only"}}}
    )
    ok, reason = grants(terms, ["fine_tuning"])
    assert not ok and "research only" in reason
    assert grants(terms, ["fine_tuning"], frozenset({"fine_tuning"})) == (True, "")


def test_not_allowed_never_granted():
    terms = validate_terms({"uses": {"ai_generative_training": NOT_ALLOWED}})
    assert not grants(terms, ["ai_training", "ai_generative_training"])[0]
    assert grants(terms, ["ai_training"]) == (True, "")
    assert terms["uses"]["ai_training"]["state"] == ALLOWED


def test_unknown_things_are_refused():
    with pytest.raises(TermsError):
        validate_terms({"uses": {"telepathy": ALLOWED}})
    with pytest.raises(TermsError):
        validate_terms({"protections": {"no_fun": True}})
    with pytest.raises(TermsError):
        validate_terms({"uses": {"ai_training": "maybe"}})


def test_precise_location_is_an_opt_in():
    assert default_terms()["precise_location"] is False
    assert validate_terms({})["precise_location"] is False  # terms saved before it existed
    assert validate_terms({"precise_location": True})["precise_location"] is True
