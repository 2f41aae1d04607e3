import pytest

from clausier.audit.log import diff, record, snapshot
from clausier.audit.models import Action, AuditEntry
from clausier.organizations.models import Organization, OrganizationKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def facilitator():
    return Organization.objects.create(kind=OrganizationKind.FACILITATOR, name="Cellule test")


def test_record_create_and_update_with_before_after(facilitator):
    buyer = Organization.objects.create(kind=OrganizationKind.BUYER, name="Ville A", siret="21310555400017")
    entry = record(action=Action.CREATE, obj=buyer)
    assert entry.changes["name"] == [None, "Ville A"]
    assert entry.object_id == str(buyer.uuid)

    before = snapshot(buyer)
    buyer.name = "Ville B"
    buyer.save()
    changes = diff(before, snapshot(buyer))
    assert changes == {"name": ["Ville A", "Ville B"]}
    record(action=Action.UPDATE, obj=buyer, changes=changes)
    assert AuditEntry.objects.filter(object_id=str(buyer.uuid)).count() == 2


def test_entries_cannot_be_edited_or_deleted(facilitator):
    entry = record(action=Action.CREATE, obj=facilitator)
    entry.detail = "changé"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.update(detail="x")
    assert AuditEntry.objects.get().detail == ""
