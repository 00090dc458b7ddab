import pytest

from outtake.audit.models import AppendOnlyError, AuditEvent
from outtake.audit.services import record, verify_chain
from outtake.rights.services import set_terms

pytestmark = pytest.mark.django_db


def test_state_changes_leave_a_verifiable_chain(make_user):
    creator = make_user("creator")
    set_terms(creator, {"exclusive_allowed": False})
    kinds = list(AuditEvent.objects.values_list("kind", flat=True))
    assert kinds == [
        "account.created",
        "account.ownership_attested",
        "token.created",
        "terms.version",
    ]
    assert verify_chain() == (True, "")


def test_events_are_append_only(make_user):
    event = record("test.event", data={"x": 1})
    event.data = {"x": 2}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_a_rewritten_row_is_caught(make_user):
    make_user("creator")
    record("test.event", data={"amount": 100})
    AuditEvent.objects.filter(kind="test.event").update(data={"amount": 1})
    ok, problem = verify_chain()
    assert not ok and "does not match" in problem


def test_a_user_or_organisation_named_by_events_is_not_deleted(make_user):
    from django.db.models import ProtectedError

    from outtake.accounts.models import Organization

    buyer = make_user("buyer")
    record("test.event", actor=buyer, org=buyer.organization)
    with pytest.raises(ProtectedError, match="AuditEvent"):
        buyer.delete()
    lone = Organization.objects.create(name="Gone Ltd")
    record("test.event", org=lone)
    with pytest.raises(ProtectedError, match="AuditEvent"):
        lone.delete()
    assert verify_chain() == (True, "")  # deleting would have nulled hashed ids
