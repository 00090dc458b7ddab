import json

import pytest
from pyld import jsonld

from outtake.core.terms import PROTECTIONS, USES
from outtake.provenance.odrl import (
    CONTEXT_FILE,
    ODRL_CONTEXT_URL,
    build_policy,
    expand,
    load_local_document,
)
from tests.provenance.pdftext import pdf_text

ODRL = "http://www.w3.org/ns/odrl/2/"
PREFIXES = {"odrl:": ODRL, "tdm:": "http://www.w3.org/ns/tdmrep#"}
ALIASES = {"uid": "@id", "type": "@type"}  # the ODRL context's own keyword aliases


@pytest.fixture
def policy(license_doc):
    return build_policy(license_doc, "http://127.0.0.1:8000")


def keys(node) -> set[str]:
    if isinstance(node, list):
        return set().union(*(keys(n) for n in node)) if node else set()
    if isinstance(node, dict):
        own = {ALIASES.get(k, k) for k in node if k != "@context"}
        return own.union(*(keys(v) for k, v in node.items() if k != "@context"))
    return set()


def iris(node, found=None) -> set[str]:
    """Every @id and @type value in an expanded document."""
    found = set() if found is None else found
    if isinstance(node, list):
        for n in node:
            iris(n, found)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == "@id":
                found.add(v)
            elif k == "@type":
                found.update(v if isinstance(v, list) else [v])
            else:
                iris(v, found)
    return found


def full(compact_iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if compact_iri.startswith(prefix):
            return ns + compact_iri.removeprefix(prefix)
    raise AssertionError(compact_iri)


def test_context_file_is_the_odrl_vocabulary():
    context = json.loads(CONTEXT_FILE.read_text())["@context"]
    assert context["odrl"] == ODRL
    assert context["uid"] == "@id" and context["type"] == "@type"
    for term in ("permission", "prohibition", "obligation", "action", "constraint", "duty"):
        assert context[term]["@id"] == f"odrl:{term}"


def test_policy_expands_offline_without_dropping_a_term(policy):
    options = {"documentLoader": load_local_document, "base": None}
    expanded = expand(policy)
    assert len(expanded) == 1 and expanded[0]["@type"] == [ODRL + "Agreement"]
    # pyld drops a key it cannot map without a word. Map every key the policy uses on its own
    # (an unmapped one expands to nothing), then require exactly those IRIs after expansion.
    mapped = set()
    for key in {k for k in keys(policy) if not k.startswith("@")}:
        probe = jsonld.expand({"@context": policy["@context"], key: "probe"}, options)
        assert probe, f"{key} is not mapped by the context"
        [iri] = probe[0]
        mapped.add(iri)
    assert {k for k in keys(expanded) if not k.startswith("@")} == mapped
    assert all(iri.startswith(("http://", "https://")) for iri in mapped)
    # And no value expanded to a relative IRI (an unmapped @vocab value such as an action would).
    assert all(":" in iri for iri in iris(expanded))


def test_expanded_actions_are_the_terms_table(policy, license_doc):
    expanded = expand(policy)[0]
    actions = {a["@id"] for p in expanded[ODRL + "permission"] for a in p[ODRL + "action"]}
    assert actions == {full(USES[code].odrl_action) for code in license_doc.uses}
    assert "http://www.w3.org/ns/tdmrep#mine" in actions  # data mining, the TDMRep action
    assert expanded[ODRL + "profile"] == [{"@id": "http://www.w3.org/ns/tdmrep"}]
    assert expanded[ODRL + "conflict"] == [{"@id": ODRL + "prohibit"}]


def test_the_loader_refuses_to_fetch():
    with pytest.raises(ValueError):
        load_local_document("https://example.org/other.jsonld")
    assert load_local_document(ODRL_CONTEXT_URL)["document"]["@context"]["odrl"] == ODRL


def _purpose(rule) -> str:
    return next(c["rightOperand"] for c in rule["constraint"] if c["leftOperand"] == "purpose")


def test_policy_agrees_with_the_pdf(policy, license_doc, license_pdf):
    _, text = pdf_text(license_pdf)
    permissions = policy["permission"]
    # Uses: the same codes, each named in the PDF's grant clause.
    granted = {_purpose(p) for p in permissions}
    assert granted == set(license_doc.uses)
    for code in granted:
        assert f"{USES[code].label} (use code {code}" in text
    # The constrained use carries the creator's text, which the PDF shows as accepted.
    [conditioned] = [p for p in permissions if "dct:description" in p]
    assert _purpose(conditioned) == "ai_training"
    clause = conditioned["dct:description"].split(": ", 1)[1]
    assert f"“{clause}” Accepted explicitly by the Licensee." in text
    # Term and territory.
    for p in permissions:
        scope = {c["leftOperand"]: c["rightOperand"] for c in p["constraint"]}
        assert f"ending on {scope['dateTime']['@value']}" in text
        assert ", ".join(scope["spatial"]) + " (ISO 3166-1" in text
    # Prohibitions: every protection in the PDF, the one a creator waived for a clip narrowed.
    prohibited = {p["dct:identifier"]: p for p in policy["prohibition"]}
    assert set(prohibited) == set(PROTECTIONS)
    for rule in prohibited.values():
        assert rule["dct:description"] in text
    waived_clip = license_doc.clips[2].clip_id
    assert f"This applies to the Licensed Clips {license_doc.clips[0].clip_id}" in text
    assert isinstance(prohibited["no_digital_replica"]["target"], dict)  # a sub-collection
    assert waived_clip not in json.dumps(prohibited["no_digital_replica"])
    # Price.
    payment = policy["obligation"][0]["action"][0]["refinement"][0]
    assert payment["rightOperand"]["@value"] == "22.18"
    assert payment["unit"]["@id"].endswith("United_States_dollar")
    assert "pay 22.18 USD" in text
    # The clips: ids and hashes, in the PDF's schedule too.
    collection = next(
        r["target"]
        for r in permissions + policy["obligation"]
        if isinstance(r["target"], dict) and "dct:hasPart" in r["target"]
    )
    # Each clip is its original upload (by hash) and its in and out times there, not a file
    # hash the license cannot know yet.
    assert [
        (
            a["dct:identifier"],
            a["dct:source"]["schema:sha256"],
            a.get("schema:startOffset"),
            a.get("schema:endOffset"),
        )
        for a in collection["dct:hasPart"]
    ] == [(c.clip_id, c.original_sha256, c.start_s, c.end_s) for c in license_doc.clips]
    assert not any("schema:sha256" in a for a in collection["dct:hasPart"])
    for clip in license_doc.clips:
        assert clip.clip_id in text
