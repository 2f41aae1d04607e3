"""The stored QPV residence after the participant's address, commune or entry date changes
(`update_participant`): kept while the address and the QPV list in force are the same, settled locally when
no geocoding is needed, otherwise reset to "to be resolved" for `clausier geo resolve-qpv` — never geocoded
from the edit itself. A manual override does not survive a new address. The profile at entry follows."""

import datetime

import pytest
from django.utils import timezone

from clausier.audit.models import Action, AuditEntry
from clausier.geo.geocoder import BanGeocoder
from clausier.geo.models import Commune
from clausier.geo.qpv import import_qpv, invalidate_index
from clausier.participants.actions import (
    override_participant_qpv,
    resolve_facilitator_qpv,
    resolve_participant_qpv,
    update_participant,
)
from clausier.participants.models import ParticipantProfile, QpvFlag, QpvMethod, QpvResidence
from tests.factories import FacilitatorFactory, ParticipantFactory, UserFactory, acting
from tests.geo.recordings.ban import ban_transport
from tests.official_data import QPV_2015

pytestmark = pytest.mark.django_db

ABBAL = "1 Place Abbal"  # in QP031007 Grand Mirail
CAPITOLE = "1 Place du Capitole"  # not in a QPV
IN_2015_LIST = datetime.date(2020, 3, 2)
RESET = ("", "", None, "", None, None)


@pytest.fixture(autouse=True)
def qpv2015():
    invalidate_index()
    import_qpv(QPV_2015, 2015)
    yield
    invalidate_index()


@pytest.fixture
def toulouse():
    return Commune.objects.create(insee_code="31555", name="Toulouse", department_code="31")


@pytest.fixture
def facilitator():
    return FacilitatorFactory()


@pytest.fixture
def staff(facilitator):
    return acting(UserFactory(member_of=facilitator))


@pytest.fixture
def requests():
    return []


@pytest.fixture
def ban(requests):
    return BanGeocoder(transport=ban_transport(requests=requests))


@pytest.fixture
def geocoded(facilitator, toulouse, staff, ban):
    """A participant found in QP031007 by geocoding (list 2015)."""
    participant = ParticipantFactory(
        facilitator=facilitator, address=ABBAL, postal_code="31100", commune=toulouse, entry_date=IN_2015_LIST
    )
    resolve_participant_qpv(participant, geocoder=ban, by=staff)
    participant.refresh_from_db()
    assert (participant.qpv_status, participant.qpv_code) == ("inside", "QP031007")
    return participant


@pytest.fixture
def manual(facilitator, toulouse, staff):
    """A participant placed in QP031011 by hand, with a reason."""
    participant = ParticipantFactory(
        facilitator=facilitator,
        address=CAPITOLE,
        postal_code="31000",
        commune=toulouse,
        entry_date=IN_2015_LIST,
    )
    override_participant_qpv(participant, qpv_code="QP031011", reason="Hébergée aux Izards", by=staff)
    participant.refresh_from_db()
    return participant


def qpv(participant):
    participant.refresh_from_db()
    return (
        participant.qpv_status,
        participant.qpv_code,
        participant.qpv_millesime,
        participant.qpv_method,
        participant.qpv_geocoding_score,
        participant.qpv_resolved_on,
    )


def last_update(participant):
    return AuditEntry.objects.filter(object_id=str(participant.uuid), action=Action.UPDATE).latest("id")


def flag(participant):
    return ParticipantProfile.objects.get(participant=participant).qpv_flag


# --- Automatic results ----------------------------------------------------------------------------------------


def test_a_new_address_resets_a_geocoded_result_and_the_batch_picks_it_up(geocoded, staff, ban, requests):
    assert flag(geocoded) == QpvFlag.INSIDE
    sent = len(requests)

    update_participant(participant=geocoded, by=staff, address=CAPITOLE, postal_code="31000")

    assert qpv(geocoded) == RESET
    assert geocoded.qpv_reason == "adresse modifiée"
    assert len(requests) == sent  # the edit never calls the geocoder
    assert flag(geocoded) == QpvFlag.UNKNOWN  # the profile at entry follows
    entry = last_update(geocoded)
    assert entry.changes["address"] == [ABBAL, CAPITOLE]
    assert entry.changes["qpv_status"] == ["inside", ""] and entry.changes["qpv_code"] == ["QP031007", ""]
    assert (
        entry.detail
        == "fiche participant modifiée ; résidence en QPV à déterminer de nouveau (adresse modifiée)"
    )

    report = resolve_facilitator_qpv(facilitator=geocoded.facilitator, geocoder=ban, only_unresolved=True)

    assert (report.total, report.changed) == (1, 1)
    assert qpv(geocoded)[:4] == ("outside", "", 2015, "geocoding")
    assert flag(geocoded) == QpvFlag.OUTSIDE


@pytest.mark.parametrize(
    "change",
    [{"postal_code": "31200"}, {"commune": None}, {"address": "3 rue Nouvelle"}],
    ids=["postal-code", "commune", "street"],
)
def test_every_part_of_the_address_counts(change, geocoded, staff):
    update_participant(participant=geocoded, by=staff, **change)
    assert qpv(geocoded) == RESET


def test_same_address_other_spacing_or_case_keeps_the_result(geocoded, staff):
    before = qpv(geocoded)
    update_participant(participant=geocoded, by=staff, address="  1  place ABBAL ", phone="0561000000")
    assert qpv(geocoded) == before
    assert "qpv_status" not in last_update(geocoded).changes


def test_an_entry_date_under_the_same_list_keeps_the_result(geocoded, staff):
    before = qpv(geocoded)
    update_participant(participant=geocoded, by=staff, entry_date=datetime.date(2022, 11, 7))
    assert qpv(geocoded) == before
    assert last_update(geocoded).detail == "fiche participant modifiée"


def test_an_entry_date_under_another_list_resets(geocoded, staff):
    update_participant(participant=geocoded, by=staff, entry_date=datetime.date(2024, 3, 1))
    assert qpv(geocoded) == RESET
    assert geocoded.qpv_reason == "date d'entrée modifiée (autre liste QPV en vigueur)"


def test_an_entry_before_any_list_is_settled_without_geocoding(geocoded, staff):
    update_participant(participant=geocoded, by=staff, entry_date=datetime.date(2013, 6, 3))
    assert qpv(geocoded) == ("no_list", "", None, "geocoding", None, timezone.localdate())
    assert "aucune liste QPV en vigueur" in geocoded.qpv_reason
    assert flag(geocoded) == QpvFlag.UNKNOWN
    assert "résidence en QPV recalculée" in last_update(geocoded).detail


def test_an_address_removed_is_settled_without_geocoding(geocoded, staff):
    update_participant(participant=geocoded, by=staff, address="")
    assert qpv(geocoded)[:4] == ("unlocated", "", None, "geocoding")
    assert geocoded.qpv_reason == "adresse manquante"


def test_an_unlocated_address_stays_unlocated_when_only_the_date_moves(facilitator, toulouse, staff, ban):
    participant = ParticipantFactory(
        facilitator=facilitator,
        address="Batiment C chez Mme X",
        postal_code="",
        commune=toulouse,
        entry_date=IN_2015_LIST,
    )
    resolve_participant_qpv(participant, geocoder=ban, by=staff)
    before = qpv(participant)
    assert before[0] == QpvResidence.UNLOCATED
    update_participant(participant=participant, by=staff, entry_date=datetime.date(2024, 5, 2))
    assert qpv(participant) == before


def test_never_resolved_stays_to_be_resolved(facilitator, toulouse, staff):
    participant = ParticipantFactory(facilitator=facilitator, address=ABBAL, commune=toulouse)
    update_participant(participant=participant, by=staff, address=CAPITOLE)
    assert qpv(participant) == RESET and participant.qpv_reason == ""


# --- Manual overrides -----------------------------------------------------------------------------------------


def test_a_manual_override_survives_an_edit_that_keeps_the_address(manual, staff):
    before = qpv(manual)
    update_participant(participant=manual, by=staff, phone="0561000000", entry_date=datetime.date(2021, 1, 4))
    assert qpv(manual) == before
    assert (manual.qpv_method, manual.qpv_reason) == (QpvMethod.MANUAL, "Hébergée aux Izards")


def test_a_new_address_cancels_a_manual_override(manual, staff):
    update_participant(participant=manual, by=staff, address=ABBAL, postal_code="31100")
    assert qpv(manual) == RESET
    assert manual.qpv_reason == "adresse modifiée"
    entry = last_update(manual)
    assert entry.changes["qpv_method"] == ["manual", ""]
    # The motive of the override stays in the log.
    assert entry.changes["qpv_reason"] == ["Hébergée aux Izards", "adresse modifiée"]
    assert entry.detail.startswith("fiche participant modifiée ; saisie manuelle du QPV annulée")


def test_another_list_cancels_a_manual_override(manual, staff):
    update_participant(participant=manual, by=staff, entry_date=datetime.date(2024, 1, 1))
    assert qpv(manual) == RESET  # QP031011 is a code of the 2015 list, not of the one in force now
