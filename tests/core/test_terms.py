import pytest

from outtake.core.terms import (
    ALL_PROTECTIONS,
    ALLOWED,
    CONSTRAINED,
    NOT_ALLOWED,
    PROTECTIONS,
    USES,
    TermsError,
    default_terms,
    grants,
    protection_texts,
    validate_terms,
    with_protection_texts,
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


def test_protections_read_in_the_words_the_sale_pinned():
    pinned = with_protection_texts(default_terms())
    assert protection_texts(pinned) == ALL_PROTECTIONS
    assert "fine-tuning" in protection_texts(pinned)["no_style_imitation"]
    # Terms kept before sales pinned the wording read as they were then.
    before = protection_texts(default_terms())
    assert set(before) == set(ALL_PROTECTIONS)
    assert before["no_style_imitation"] == "No imitation of the creator's style by name."
    # A creator's input cannot word a protection: validation keeps no texts.
    assert "protection_texts" not in validate_terms({"protection_texts": {"no_adult": "ok"}})


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
