"""The QPV block of the participant page (staff only): status, method, score, date; "Déterminer" geocodes
through the geocoder named by the setting `GEOCODER_FACTORY` (here: the recorded BAN responses, no network);
the manual override requires a reason."""

import datetime

import pytest
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.geo.geocoder import BanGeocoder, GeocoderError
from clausier.geo.models import Commune
from clausier.geo.qpv import import_qpv, invalidate_index
from clausier.participants.models import QpvMethod, QpvResidence
from tests.geo.recordings.ban import ban_transport
from tests.official_data import QPV_2015

pytestmark = pytest.mark.django_db

REQUESTS = []


def recorded_geocoder():
    return BanGeocoder(transport=ban_transport(requests=REQUESTS))


class Unreachable:
    min_score = 0.5

    def geocode(self, address, *, key=""):
        raise GeocoderError("Service de géocodage (BAN) indisponible : délai dépassé")

    def geocode_many(self, queries):
        raise GeocoderError("Service de géocodage (BAN) indisponible : délai dépassé")


def unreachable_geocoder():
    return Unreachable()


@pytest.fixture(autouse=True)
def qpv2015():
    invalidate_index()
    import_qpv(QPV_2015, 2015)
    REQUESTS.clear()
    yield
    invalidate_index()


@pytest.fixture
def person(world_a):
    participant = world_a.objects["participant"]
    participant.address = "1 Place Abbal"
    participant.postal_code = "31100"
    participant.commune = Commune.objects.create(insee_code="31555", name="Toulouse", department_code="31")
    participant.entry_date = datetime.date(2020, 3, 2)
    participant.save()
    return participant


def detail(person):
    return reverse("www:participant_detail", kwargs={"uuid": person.uuid})


def resolve(person):
    return reverse("www:participant_qpv_resolve", kwargs={"uuid": person.uuid})


def override(person):
    return reverse("www:participant_qpv_override", kwargs={"uuid": person.uuid})


def test_determine_with_the_recorded_ban(person, settings, facilitator_member_client):
    settings.GEOCODER_FACTORY = "tests.www.test_participants_qpv.recorded_geocoder"
    page = facilitator_member_client.get(detail(person)).content.decode()
    assert 'data-testid="qpv"' in page and "À déterminer</strong>." in page and resolve(person) in page

    response = facilitator_member_client.post(resolve(person))

    assert response.status_code == 302 and response["Location"] == detail(person) + "#qpv"
    assert REQUESTS[0].url.params["q"] == "1 Place Abbal 31100 Toulouse"
    person.refresh_from_db()
    assert (person.qpv_status, person.qpv_code, person.qpv_millesime) == ("inside", "QP031007", 2015)
    page = facilitator_member_client.get(response["Location"]).content.decode()
    assert "En QPV : QP031007 — Grand Mirail" in page
    assert "(liste 2015)" in page
    assert "Géocodage de l&#x27;adresse (BAN)" in page and "score de géocodage : 0,96" in page
    assert f"déterminé le {datetime.date.today():%d/%m/%Y}" in page
    assert "Résidence en QPV déterminée : Réside en QPV." in page


def test_get_never_geocodes(person, settings, facilitator_member_client):
    settings.GEOCODER_FACTORY = "tests.www.test_participants_qpv.recorded_geocoder"
    response = facilitator_member_client.get(resolve(person))
    assert response.status_code == 302 and response["Location"] == detail(person)
    assert REQUESTS == []
    person.refresh_from_db()
    assert person.qpv_status == ""


def test_an_unreachable_geocoder_writes_nothing(person, settings, facilitator_member_client):
    settings.GEOCODER_FACTORY = "tests.www.test_participants_qpv.unreachable_geocoder"
    response = facilitator_member_client.post(resolve(person), follow=True)
    assert "La résidence en QPV n&#x27;a pas pu être déterminée" in response.content.decode()
    person.refresh_from_db()
    assert person.qpv_status == ""
    # Nothing written (the page shown after the redirection logs its "view" entry, a read).
    assert not AuditEntry.objects.filter(object_id=str(person.uuid)).exclude(action=Action.VIEW).exists()


def test_an_entry_before_2015_is_unknown_and_says_why(person, settings, facilitator_member_client):
    settings.GEOCODER_FACTORY = "tests.www.test_participants_qpv.recorded_geocoder"
    person.entry_date = datetime.date(2013, 6, 3)
    person.save()
    facilitator_member_client.post(resolve(person))
    person.refresh_from_db()
    assert person.qpv_status == QpvResidence.NO_LIST and REQUESTS == []
    page = facilitator_member_client.get(detail(person)).content.decode()
    assert "aucune liste QPV en vigueur à la date d&#x27;entrée" in page
    assert "Raison : " in page


def test_manual_override_requires_a_reason(person, facilitator_member_client):
    response = facilitator_member_client.post(override(person), {"residence": "outside", "reason": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Indiquez le motif : il est obligatoire pour une saisie manuelle du QPV." in html
    response = facilitator_member_client.post(override(person), {"residence": "inside", "reason": "Vérifié"})
    assert "Indiquez le code du QPV de résidence." in response.content.decode()
    response = facilitator_member_client.post(
        override(person), {"residence": "inside", "qpv_code": "QP099999", "reason": "Vérifié"}
    )
    assert "Le QPV QP099999 ne figure pas dans la liste 2015 importée." in response.content.decode()
    person.refresh_from_db()
    assert person.qpv_status == ""


def test_manual_override(person, settings, facilitator_member_client):
    response = facilitator_member_client.post(
        override(person),
        {"residence": "inside", "qpv_code": "qp031011", "reason": "Justificatif de domicile vérifié"},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.qpv_status, person.qpv_code, person.qpv_method) == ("inside", "QP031011", QpvMethod.MANUAL)
    page = facilitator_member_client.get(detail(person)).content.decode()
    assert (
        "QP031011" in page
        and "Saisie manuelle" in page
        and "Motif : Justificatif de domicile vérifié" in page
    )
    entry = AuditEntry.objects.filter(object_id=str(person.uuid)).exclude(action=Action.VIEW).latest("id")
    assert entry.changes["qpv_code"] == ["", "QP031011"]

    # "Déterminer" afterwards replaces the manual value (the staff asked for it explicitly).
    settings.GEOCODER_FACTORY = "tests.www.test_participants_qpv.recorded_geocoder"
    facilitator_member_client.post(resolve(person))
    person.refresh_from_db()
    assert (person.qpv_code, person.qpv_method) == ("QP031007", QpvMethod.GEOCODING)


@pytest.mark.parametrize("role", ["buyer", "company", "structure", "prescriber"])
def test_non_staff_neither_see_nor_change_the_qpv(role, person, world_a, client_for, settings):
    settings.GEOCODER_FACTORY = "tests.www.test_participants_qpv.recorded_geocoder"
    client = client_for(world_a.users[role])
    assert client.post(resolve(person)).status_code == 404
    assert client.get(override(person)).status_code == 404
    assert client.post(override(person), {"residence": "outside", "reason": "x"}).status_code == 404
    response = client.get(detail(person))
    if response.status_code == 200:
        assert 'data-testid="qpv"' not in response.content.decode()
    assert REQUESTS == []
    person.refresh_from_db()
    assert person.qpv_status == ""


# --- After an edit of the file (clausier.participants.actions.update_participant) ---------------------------


def edit(client, world, person, **changes):
    from tests.www.test_participants_file import payload

    current = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "birth_date": f"{person.birth_date:%d/%m/%Y}",
        "address": person.address,
        "postal_code": person.postal_code,
        "commune": person.commune_id,
        "entry_date": f"{person.entry_date:%d/%m/%Y}",
    }
    data = payload(world, **{**current, **changes})
    url = reverse("www:participant_edit", kwargs={"uuid": person.uuid})
    response = client.post(url, data, follow=True)
    assert response.redirect_chain[-1][0] == detail(person)
    return response.content.decode()


def test_a_new_address_cancels_the_manual_override_and_says_so(person, world_a, facilitator_member_client):
    facilitator_member_client.post(
        override(person), {"residence": "inside", "qpv_code": "QP031011", "reason": "Bail vérifié"}
    )
    page = edit(
        facilitator_member_client, world_a, person, address="1 Place du Capitole", postal_code="31000"
    )
    assert "L&#x27;adresse a changé : la saisie manuelle de la résidence en QPV a été annulée." in page
    assert "Elle est à déterminer" in page
    assert "À déterminer</strong> (adresse modifiée)." in page
    person.refresh_from_db()
    assert (person.qpv_status, person.qpv_method, person.qpv_code) == ("", "", "")
    assert REQUESTS == []  # nothing geocoded by the edit


def test_an_edit_that_keeps_the_address_keeps_the_qpv(person, world_a, settings, facilitator_member_client):
    settings.GEOCODER_FACTORY = "tests.www.test_participants_qpv.recorded_geocoder"
    facilitator_member_client.post(resolve(person))
    page = edit(facilitator_member_client, world_a, person, phone="05 61 00 00 00")
    assert "En QPV : QP031007" in page and "ne vaut plus" not in page
    person.refresh_from_db()
    assert (person.qpv_status, person.qpv_method) == ("inside", QpvMethod.GEOCODING)
    # Another list in force at the new entry date: the geocoded result is to be resolved again.
    page = edit(facilitator_member_client, world_a, person, entry_date="01/02/2024")
    assert (
        "La nouvelle date d&#x27;entrée relève d&#x27;une autre liste QPV : la résidence en QPV enregistrée "
        "ne vaut plus. Elle est à déterminer" in page
    )
    person.refresh_from_db()
    assert person.qpv_status == ""
