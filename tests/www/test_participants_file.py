"""The participant file: creation (with the duplicate warning and its "Créer quand même"), edition with its
history in the audit log, French error messages with nothing saved, staff only."""

import datetime

import pytest
from django.urls import reverse
from django.utils.html import escape

from clausier.audit.models import Action, AuditEntry
from clausier.participants.models import Participant
from tests.factories import CommuneFactory, ParticipantFactory

pytestmark = pytest.mark.django_db

CREATE = reverse("www:participant_create")


def payload(world, **extra):
    return {
        "first_name": "Léa",
        "last_name": "Nouvelle-Personne",
        "birth_name": "",
        "birth_date": "12/07/1995",
        "sex": "F",
        "email": "lea@example.org",
        "phone": "06 12 34 56 78",
        "address": "1 Place Abbal",
        "postal_code": "31100",
        "commune": "31555",
        "qualification_level": "level3",
        "situation_at_entry": "long_term_job_seeker",
        "entry_date": "02/03/2024",
        "prescriber": str(world.orgs["prescriber"].uuid),
        "referent": "M. Conseiller",
        "informed_on": "02/03/2024",
        **extra,
    }


def refused(response):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert "rien n'a été enregistré" in html
    return html


def test_create_a_participant(world_a, facilitator_member_client):
    toulouse = CommuneFactory()
    response = facilitator_member_client.post(CREATE, payload(world_a))
    assert response.status_code == 302
    person = Participant.objects.get(last_name="Nouvelle-Personne")
    assert response["Location"] == reverse("www:participant_detail", kwargs={"uuid": person.uuid})
    assert person.facilitator == world_a.facilitator
    assert person.birth_date == datetime.date(1995, 7, 12)
    assert person.commune == toulouse and person.qualification_level.code == "level3"
    assert person.prescriber == world_a.orgs["prescriber"]
    assert person.informed_on == datetime.date(2024, 3, 2)
    entry = AuditEntry.objects.get(object_type="participants.participant", object_id=str(person.uuid))
    assert entry.action == Action.CREATE and entry.actor == world_a.users["facilitator_member"]
    page = facilitator_member_client.get(response["Location"]).content.decode()
    assert "Le participant a été enregistré." in page
    assert "02/03/2024" in page  # informed on


def test_the_list_offers_to_add_a_participant_to_staff_only(
    world_a, facilitator_member_client, company_client
):
    url = reverse("www:participant_list")
    assert CREATE in facilitator_member_client.get(url).content.decode()
    assert CREATE not in company_client.get(url).content.decode()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"first_name": ""}, "Indiquez le prénom."),
        ({"last_name": ""}, "Indiquez le nom d'usage."),
        ({"birth_date": ""}, "Indiquez la date de naissance (jj/mm/aaaa)."),
        ({"birth_date": "31/02/1990"}, "Date de naissance invalide : jj/mm/aaaa."),
        ({"birth_date": "01/01/2090"}, "La date de naissance ne peut pas être dans le futur."),
        ({"sex": ""}, "Indiquez le sexe."),
        ({"postal_code": "3110"}, "Le code postal compte 5 chiffres."),
        ({"commune": "Atlantide"}, "Commune inconnue : saisissez son code INSEE."),
        ({"email": "pas-une-adresse"}, "Saisissez une adresse de courriel valide."),
        ({"entry_date": "01/01/1990"}, "La date d'entrée ne peut pas précéder la date de naissance."),
        (
            {"prescriber": "not-a-uuid"},
            "Choix invalide : cette valeur ne fait pas partie des choix proposés.",
        ),
    ],
)
def test_invalid_forms_say_why_in_french_and_save_nothing(
    changes, message, world_a, facilitator_member_client
):
    CommuneFactory()
    before = Participant.objects.count()
    html = refused(facilitator_member_client.post(CREATE, payload(world_a, **changes)))
    assert escape(message) in html
    assert Participant.objects.count() == before
    assert not AuditEntry.objects.filter(
        action=Action.CREATE, object_type="participants.participant"
    ).exists()


def test_a_prescriber_of_another_facilitator_is_an_invalid_choice(worlds, facilitator_member_client):
    a, b = worlds
    before = Participant.objects.count()
    html = refused(
        facilitator_member_client.post(
            CREATE, payload(a, commune="", prescriber=str(b.orgs["prescriber"].uuid))
        )
    )
    assert "Choix invalide" in html
    assert Participant.objects.count() == before


def test_the_commune_by_name(world_a, facilitator_member_client):
    CommuneFactory()
    response = facilitator_member_client.post(CREATE, payload(world_a, commune="toulouse"))
    assert response.status_code == 302
    assert Participant.objects.get(last_name="Nouvelle-Personne").commune.insee_code == "31555"


# --- Duplicates on creation ----------------------------------------------------------------------------------


def test_a_likely_duplicate_is_shown_and_nothing_is_saved(world_a, facilitator_member_client):
    existing = ParticipantFactory(
        facilitator=world_a.facilitator,
        first_name="eloise",
        last_name="dupont martin",
        birth_date=datetime.date(1990, 4, 3),
    )
    before = Participant.objects.count()
    data = payload(
        world_a, first_name="Éloïse", last_name="DUPONT-MARTIN", birth_date="03/04/1990", commune=""
    )

    html = refused(facilitator_member_client.post(CREATE, data))

    assert Participant.objects.count() == before
    assert 'data-testid="duplicates"' in html
    assert html.count('data-testid="duplicate"') == 1
    assert reverse("www:participant_detail", kwargs={"uuid": existing.uuid}) in html
    assert "eloise DUPONT MARTIN" in html and "03/04/1990" in html
    assert "100 %" in html  # the similarity score
    assert "Créer quand même" in html
    assert 'value="Éloïse"' in html  # the input is kept

    # Confirmed: created.
    response = facilitator_member_client.post(CREATE, {**data, "create_anyway": "on"})
    assert response.status_code == 302
    assert Participant.objects.count() == before + 1


def test_no_warning_for_someone_else(world_a, facilitator_member_client):
    ParticipantFactory(
        facilitator=world_a.facilitator,
        first_name="Jean",
        last_name="Autre",
        birth_date=datetime.date(1990, 4, 3),
    )
    response = facilitator_member_client.post(CREATE, payload(world_a, birth_date="03/04/1990", commune=""))
    assert response.status_code == 302


def test_the_records_of_another_facilitator_are_not_candidates(worlds, facilitator_member_client):
    a, b = worlds
    ParticipantFactory(
        facilitator=b.facilitator,
        first_name="Léa",
        last_name="Nouvelle-Personne",
        birth_date=datetime.date(1995, 7, 12),
    )
    response = facilitator_member_client.post(CREATE, payload(a, commune=""))
    assert response.status_code == 302


# --- Edition and its history ---------------------------------------------------------------------------------


def edit_url(person):
    return reverse("www:participant_edit", kwargs={"uuid": person.uuid})


def test_edit_keeps_the_history_in_the_audit_log(world_a, facilitator_member_client):
    person = world_a.objects["participant"]
    form = facilitator_member_client.get(edit_url(person)).content.decode()
    assert f'value="{person.first_name}"' in form and 'value="1990-05-17"' in form
    assert "Créer quand même" not in form

    data = payload(
        world_a,
        first_name=person.first_name,
        last_name=person.last_name,
        birth_date="17/05/1990",
        commune="",
        phone="05 61 00 00 00",
    )
    assert facilitator_member_client.post(edit_url(person), data).status_code == 302
    assert (
        facilitator_member_client.post(edit_url(person), {**data, "phone": "05 62 00 00 00"}).status_code
        == 302
    )

    person.refresh_from_db()
    assert person.phone == "05 62 00 00 00"
    entries = AuditEntry.objects.filter(
        object_type="participants.participant", object_id=str(person.uuid), action=Action.UPDATE
    ).order_by("id")
    assert [e.changes["phone"] for e in entries] == [
        ["", "05 61 00 00 00"],
        ["05 61 00 00 00", "05 62 00 00 00"],
    ]
    assert all(e.actor == world_a.users["facilitator_member"] for e in entries)


def test_an_invalid_edit_saves_nothing(world_a, facilitator_member_client):
    person = world_a.objects["participant"]
    html = refused(
        facilitator_member_client.post(
            edit_url(person),
            payload(world_a, first_name="", last_name="X", birth_date="17/05/1990", commune=""),
        )
    )
    assert "Indiquez le prénom." in html
    person.refresh_from_db()
    assert person.last_name != "X"


@pytest.mark.parametrize("role", ["buyer", "company", "structure", "prescriber"])
def test_non_staff_get_404(role, world_a, client_for):
    client = client_for(world_a.users[role])
    person = world_a.objects["participant"]
    for url in (CREATE, edit_url(person), reverse("www:participant_merges")):
        assert client.get(url).status_code == 404
    assert client.post(CREATE, payload(world_a)).status_code == 404
