"""QPV residence of participants: geocoding → point → QPV of the list in force at entry; manual override;
`clausier geo resolve-qpv` in batches. The BAN is replaced by the recordings of tests/geo/recordings/."""

import datetime

import httpx
import pytest
from django.core.management import call_command
from django.utils import timezone

from clausier.audit.models import Action, AuditEntry
from clausier.geo import geocoder as geocoding
from clausier.geo.geocoder import BanGeocoder, GeocoderError
from clausier.geo.models import Commune
from clausier.geo.qpv import import_qpv, invalidate_index
from clausier.participants.actions import (
    Refused,
    override_participant_qpv,
    qpv_reference_date,
    resolve_facilitator_qpv,
    resolve_participant_qpv,
)
from clausier.participants.models import Participant, QpvMethod, QpvResidence
from tests.factories import (
    CompanyFactory,
    ContractFactory,
    FacilitatorFactory,
    ParticipantFactory,
    UserFactory,
    acting,
)
from tests.geo.recordings.ban import ban_transport
from tests.official_data import QPV_2015

pytestmark = pytest.mark.django_db

ABBAL = "1 Place Abbal"  # in QP031007 Grand Mirail
IZARDS = "12 Chemin des Izards"  # in QP031011 Les Izards - La Vache
CAPITOLE = "1 Place du Capitole"  # not in a QPV
IN_2015_LIST = datetime.date(2020, 3, 2)


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
    return FacilitatorFactory(slug="cellule-toulouse")


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
def person(facilitator, toulouse):
    def make(address=ABBAL, postal_code="31100", entry_date=IN_2015_LIST, **kwargs):
        return ParticipantFactory(
            facilitator=facilitator,
            address=address,
            postal_code=postal_code,
            commune=toulouse,
            entry_date=entry_date,
            **kwargs,
        )

    return make


def qpv_fields(participant):
    participant.refresh_from_db()
    return (
        participant.qpv_status,
        participant.qpv_code,
        participant.qpv_millesime,
        participant.qpv_method,
    )


def test_an_address_in_a_qpv(person, ban, staff, requests):
    participant = person()

    resolve_participant_qpv(participant, geocoder=ban, by=staff)

    assert qpv_fields(participant) == ("inside", "QP031007", 2015, "geocoding")
    assert participant.get_qpv_status_display() == "Réside en QPV"
    assert participant.qpv_geocoding_score == pytest.approx(0.9612345)
    assert participant.qpv_resolved_on == timezone.localdate()
    assert participant.qpv_reason == ""
    assert requests[0].url.params["q"] == "1 Place Abbal 31100 Toulouse"
    entry = AuditEntry.objects.get(object_id=str(participant.uuid))
    assert (entry.action, entry.actor) == (Action.UPDATE, staff)
    assert entry.changes["qpv_code"] == ["", "QP031007"]
    assert entry.changes["qpv_status"] == ["", "inside"]


def test_an_address_outside(person, ban, staff):
    participant = person(address=CAPITOLE, postal_code="31000")
    resolve_participant_qpv(participant, geocoder=ban, by=staff)
    assert qpv_fields(participant) == ("outside", "", 2015, "geocoding")


def test_an_entry_in_2013_is_unknown_not_outside_and_nothing_is_geocoded(person, ban, staff, requests):
    participant = person(entry_date=datetime.date(2013, 6, 3))

    resolve_participant_qpv(participant, geocoder=ban, by=staff)

    assert qpv_fields(participant) == ("no_list", "", None, "geocoding")
    assert participant.qpv_status != QpvResidence.OUTSIDE
    assert "aucune liste QPV en vigueur à cette date" in participant.qpv_reason
    assert requests == []


def test_the_2024_list_in_force_but_not_imported(person, ban, staff):
    participant = person(entry_date=datetime.date(2024, 2, 1))
    resolve_participant_qpv(participant, geocoder=ban, by=staff)
    assert qpv_fields(participant) == ("not_loaded", "", 2024, "geocoding")
    assert "n'a pas été importée" in participant.qpv_reason


def test_reference_date_entry_then_first_contract_then_today(person):
    participant = person(entry_date=None)
    assert qpv_reference_date(participant) == timezone.localdate()
    ContractFactory(
        participant=participant,
        lot__market__facilitator=participant.facilitator,
        start_date=datetime.date(2019, 9, 1),
        end_date=datetime.date(2019, 12, 31),
    )
    ContractFactory(
        participant=participant,
        lot__market__facilitator=participant.facilitator,
        start_date=datetime.date(2021, 1, 4),
        end_date=datetime.date(2021, 6, 30),
    )
    assert qpv_reference_date(participant) == datetime.date(2019, 9, 1)
    participant.entry_date = datetime.date(2018, 5, 2)
    assert qpv_reference_date(participant) == datetime.date(2018, 5, 2)


def test_first_contract_decides_the_millesime_without_entry_date(person, ban, staff):
    participant = person(entry_date=None)
    ContractFactory(
        participant=participant,
        lot__market__facilitator=participant.facilitator,
        start_date=datetime.date(2019, 9, 1),
        end_date=datetime.date(2019, 12, 31),
    )
    resolve_participant_qpv(participant, geocoder=ban, by=staff)
    assert qpv_fields(participant) == ("inside", "QP031007", 2015, "geocoding")


def test_a_low_score_leaves_the_residence_unknown(person, ban, staff):
    participant = person(address="Batiment C chez Mme X", postal_code="")
    resolve_participant_qpv(participant, geocoder=ban, by=staff)
    assert qpv_fields(participant) == ("unlocated", "", None, "geocoding")
    assert participant.qpv_geocoding_score == pytest.approx(0.3198765)
    assert participant.qpv_reason.startswith("score de géocodage 0,32 inférieur au seuil 0,50")


def test_no_address(person, ban, staff, requests):
    participant = person(address="", postal_code="31100")
    resolve_participant_qpv(participant, geocoder=ban, by=staff)
    assert qpv_fields(participant) == ("unlocated", "", None, "geocoding")
    assert participant.qpv_reason == "adresse manquante"
    assert requests == []


def test_same_result_again_writes_nothing(person, ban, staff):
    participant = person()
    resolve_participant_qpv(participant, geocoder=ban, by=staff)
    resolve_participant_qpv(participant, geocoder=ban, by=staff)
    assert AuditEntry.objects.filter(object_id=str(participant.uuid)).count() == 1


def test_service_down_writes_nothing(person, staff):
    participant = person()
    with pytest.raises(GeocoderError):
        resolve_participant_qpv(
            participant, geocoder=BanGeocoder(transport=ban_transport(status_code=503)), by=staff
        )
    assert qpv_fields(participant) == ("", "", None, "")
    assert not AuditEntry.objects.filter(object_id=str(participant.uuid)).exists()


def test_only_the_facilitator_staff(person, ban, facilitator):
    participant = person()
    company_user = acting(UserFactory(member_of=CompanyFactory(partner_of=facilitator)))
    other_staff = acting(UserFactory(member_of=FacilitatorFactory()))
    for user in (company_user, other_staff):
        with pytest.raises(Refused, match="Seule l'équipe du facilitateur"):
            resolve_participant_qpv(participant, geocoder=ban, by=user)
        with pytest.raises(Refused, match="Seule l'équipe du facilitateur"):
            override_participant_qpv(participant, qpv_code="QP031007", reason="Vu le bail", by=user)
    with pytest.raises(Refused):
        override_participant_qpv(participant, qpv_code="QP031007", reason="Vu le bail", by=None)
    assert qpv_fields(participant) == ("", "", None, "")


# --- Manual override ------------------------------------------------------------------------------------------


def test_manual_override_with_a_reason(person, staff):
    participant = person(address=CAPITOLE, postal_code="31000")

    override_participant_qpv(
        participant, qpv_code="qp031011", reason="Hébergée chez sa sœur aux Izards", by=staff
    )

    assert qpv_fields(participant) == ("inside", "QP031011", 2015, "manual")
    assert participant.qpv_reason == "Hébergée chez sa sœur aux Izards"
    assert participant.qpv_geocoding_score is None
    entry = AuditEntry.objects.get(object_id=str(participant.uuid))
    assert entry.detail == "QPV saisi à la main : Hébergée chez sa sœur aux Izards"
    assert entry.changes["qpv_method"] == ["", "manual"]

    override_participant_qpv(participant, qpv_code=None, reason="A déménagé avant l'entrée", by=staff)
    assert qpv_fields(participant) == ("outside", "", 2015, "manual")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"qpv_code": "QP031007", "reason": "  "}, "le motif : il est obligatoire"),
        ({"qpv_code": "QP031099", "reason": "Vu"}, "Le QPV QP031099 ne figure pas dans la liste 2015"),
        ({"qpv_code": "QN031001", "reason": "Vu"}, "Le QPV QN031001 ne figure pas dans la liste 2015"),
    ],
)
def test_manual_override_refusals(person, staff, kwargs, message):
    participant = person()
    with pytest.raises(Refused, match=message):
        override_participant_qpv(participant, by=staff, **kwargs)
    assert qpv_fields(participant) == ("", "", None, "")


def test_no_manual_override_before_any_list(person, staff):
    participant = person(entry_date=datetime.date(2014, 12, 31))
    with pytest.raises(Refused, match="Aucune liste QPV n'était en vigueur le 31/12/2014"):
        override_participant_qpv(participant, qpv_code=None, reason="Vu", by=staff)


def test_geocoding_keeps_a_manual_override_unless_asked(person, ban, staff):
    participant = person(address=CAPITOLE, postal_code="31000")
    override_participant_qpv(participant, qpv_code="QP031011", reason="Hébergée aux Izards", by=staff)

    resolve_participant_qpv(participant, geocoder=ban, by=staff)
    assert qpv_fields(participant) == ("inside", "QP031011", 2015, "manual")

    resolve_participant_qpv(participant, geocoder=ban, by=staff, overwrite_manual=True)
    assert qpv_fields(participant) == ("outside", "", 2015, "geocoding")
    assert participant.qpv_reason == ""


# --- Batch: clausier geo resolve-qpv --------------------------------------------------------------------------


@pytest.fixture
def batch_requests(monkeypatch):
    """`default_geocoder()` answers from the recordings; the requests are collected."""
    requests = []
    monkeypatch.setattr(
        geocoding, "default_geocoder", lambda: BanGeocoder(transport=ban_transport(requests=requests))
    )
    return requests


def test_resolve_qpv_command(person, facilitator, staff, batch_requests, capsys):
    abbal = person()
    izards = person(address=IZARDS, postal_code="31200")
    capitole = person(address=CAPITOLE, postal_code="31000")
    vague = person(address="Batiment C chez Mme X", postal_code="")
    old = person(entry_date=datetime.date(2012, 1, 9))
    homeless = person(address="")
    manual = person(address=CAPITOLE, postal_code="31000")
    override_participant_qpv(manual, qpv_code="QP031007", reason="Hébergé au Mirail", by=staff)
    merged = person()
    Participant.objects.filter(pk=merged.pk).update(merged_into=abbal)
    elsewhere = ParticipantFactory(address=ABBAL, entry_date=IN_2015_LIST)  # another facilitator

    call_command("geo", "resolve-qpv", "--facilitator", "cellule-toulouse", "--chunk-size", "2")

    out = capsys.readouterr().out
    assert out.startswith(facilitator.name)
    assert (
        "6 participant(s) : 2 en QPV, 1 hors QPV, 1 sans liste QPV en vigueur à leur date d'entrée, " in out
    )
    assert (
        "2 à l'adresse non localisée ; 6 fiche(s) modifiée(s), 1 saisie(s) manuelle(s) conservée(s)." in out
    )
    assert qpv_fields(abbal) == ("inside", "QP031007", 2015, "geocoding")
    assert qpv_fields(izards) == ("inside", "QP031011", 2015, "geocoding")
    assert qpv_fields(capitole) == ("outside", "", 2015, "geocoding")
    assert qpv_fields(vague)[0] == "unlocated"
    assert qpv_fields(old)[0] == "no_list"
    assert (qpv_fields(homeless)[0], homeless.qpv_reason) == ("unlocated", "adresse manquante")
    assert qpv_fields(manual) == ("inside", "QP031007", 2015, "manual")
    assert qpv_fields(merged)[0] == ""
    assert qpv_fields(elsewhere)[0] == ""
    # Batches of at most 2 addresses through the CSV endpoint; nobody without an address or a list is sent.
    assert {r.url.path for r in batch_requests} == {"/search/csv/"}
    assert 2 <= len(batch_requests) <= 3
    sent = b"".join(r.content for r in batch_requests)
    assert b"Capitole" in sent and b"Izards" in sent
    assert AuditEntry.objects.filter(action=Action.UPDATE, actor=None).count() == 6

    # Again: same answers, nothing written; --non-resolus only takes the unlocated ones ("no list" is final).
    call_command("geo", "resolve-qpv", "--facilitator", "cellule-toulouse", "--non-resolus")
    out = capsys.readouterr().out
    assert "2 participant(s) : 2 à l'adresse non localisée ; 0 fiche(s) modifiée(s)." in out


def test_resolve_qpv_one_transaction_per_chunk(person, facilitator, monkeypatch, capsys):
    first, second, third = (
        person(),
        person(address=IZARDS, postal_code="31200"),
        person(address=CAPITOLE, postal_code="31000"),
    )
    calls = []
    replay = ban_transport()

    def second_call_fails(request):
        calls.append(request)
        if len(calls) == 2:
            raise httpx.ConnectError("délai dépassé", request=request)
        return replay.handle_request(request)

    monkeypatch.setattr(
        geocoding, "default_geocoder", lambda: BanGeocoder(transport=httpx.MockTransport(second_call_fails))
    )

    call_command("geo", "resolve-qpv", "--facilitator", "cellule-toulouse", "--chunk-size", "1")

    captured = capsys.readouterr()
    assert "délai dépassé" in captured.err
    assert "1 en erreur (géocodage indisponible)" in captured.out
    assert qpv_fields(first)[0] == "inside"
    assert qpv_fields(second)[0] == ""  # its chunk failed: nothing written
    assert qpv_fields(third)[0] == "outside"


def test_resolve_qpv_unknown_facilitator():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="Facilitateur « inconnu » introuvable"):
        call_command("geo", "resolve-qpv", "--facilitator", "inconnu")


def test_batch_action_directly(person, facilitator, ban):
    person()
    report = resolve_facilitator_qpv(facilitator=facilitator, geocoder=ban)
    assert (report.total, report.counts["inside"], report.changed, report.failed) == (1, 1, 1, 0)
    assert Participant.objects.get().qpv_method == QpvMethod.GEOCODING
