"""The candidate pool: eligible people of the facilitator, searched by ROME job or domain (wished in a
validated candidacy, or worked in a contract), place (commune → EPCI → département, no coordinates),
criterion, availability and qualification."""

import datetime

import pytest
from django.urls import reverse

from clausier.matching import pool
from clausier.participants.models import Participant
from clausier.reference.models import EligibilityCriterion, QualificationLevel
from tests.factories import (
    CandidacyFactory,
    CommuneFactory,
    ContractFactory,
    EligibilityAssessmentFactory,
    FacilitatorFactory,
    JobOfferFactory,
    LotFactory,
    ParticipantFactory,
    UserFactory,
    ref,
    rome_job,
)

pytestmark = pytest.mark.django_db
DAY = datetime.date(2025, 3, 3)


@pytest.fixture
def territory():
    fac = FacilitatorFactory()
    toulouse = CommuneFactory()
    blagnac = CommuneFactory(insee_code="31069", name="Blagnac", postal_codes="31700")
    muret = CommuneFactory(
        insee_code="31395", name="Muret", postal_codes="31600", epci_code="243100633", epci_name="Le Muretain"
    )
    albi = CommuneFactory(
        insee_code="81004", name="Albi", postal_codes="81000", department_code="81", epci_code="248100737"
    )
    mason, fitter = rome_job("F1703", "Maçon"), rome_job("F1604", "Monteur de structures")

    def person(name, commune, *, wished=None, eligible=True, criteria=("deld",), available=None, **kwargs):
        p = ParticipantFactory(facilitator=fac, last_name=name, commune=commune, **kwargs)
        if eligible:
            EligibilityAssessmentFactory(
                participant=p, assessed_on=datetime.date(2024, 6, 1), criteria=list(criteria)
            )
        if wished:
            candidacy = CandidacyFactory(
                facilitator=fac,
                validated=True,
                participant=p,
                available_from=available,
                birth_date=p.birth_date,
            )
            candidacy.wished_jobs.set([wished], through_defaults={"facilitator": fac})
        return p

    people = {
        "toulouse": person("Toulouse", toulouse, wished=mason),
        "blagnac": person("Blagnac", blagnac),  # worked as a mason (contract below)
        "muret": person("Muret", muret, wished=fitter, criteria=("rqth",)),
        "albi": person("Albi", albi, wished=mason),
        "not_eligible": person("Inéligible", toulouse, wished=mason, eligible=False),
        "busy": person("Occupé", toulouse, wished=mason),
        "later": person("Plus tard", toulouse, wished=mason, available=datetime.date(2025, 6, 1)),
        "level4": person("Bachelier", toulouse, wished=mason, qualification_level=ref_level("level4")),
    }
    ContractFactory(
        participant=people["blagnac"],
        lot__market__facilitator=fac,
        rome_code="F1703",
        start_date=datetime.date(2023, 1, 2),
        end_date=datetime.date(2023, 6, 30),
    )
    ContractFactory(
        participant=people["busy"],
        lot__market__facilitator=fac,
        rome_code="F1703",
        start_date=datetime.date(2025, 1, 6),
        end_date=datetime.date(2025, 12, 31),
    )
    return fac, people, {"toulouse": toulouse, "albi": albi}, {"mason": mason, "fitter": fitter}


def ref_level(code):
    return ref(QualificationLevel, code)


def names(queryset):
    return sorted(p.last_name for p in queryset)


def base(fac, day=DAY):
    return pool.in_pool(Participant.objects.filter(facilitator=fac), day)


def test_the_pool_is_the_eligible_people_and_says_when_they_are_available(territory):
    fac, people, _, _ = territory
    found = {p.last_name: p for p in base(fac)}
    assert "Inéligible" not in found
    assert set(found) == {"Toulouse", "Blagnac", "Muret", "Albi", "Occupé", "Plus tard", "Bachelier"}
    assert found["Plus tard"].available_from == datetime.date(2025, 6, 1)
    assert found["Occupé"].busy and not found["Toulouse"].busy
    assert names(pool.available_on(base(fac), DAY)) == ["Albi", "Bachelier", "Blagnac", "Muret", "Toulouse"]
    assert "Plus tard" in names(
        pool.available_on(base(fac, datetime.date(2025, 6, 2)), datetime.date(2025, 6, 2))
    )


def test_search_by_job_or_domain_wished_or_worked(territory):
    fac, _, _, jobs = territory
    mason = names(pool.by_job(base(fac), rome_job=jobs["mason"]))
    assert "Blagnac" in mason and "Toulouse" in mason and "Muret" not in mason  # Blagnac worked as a mason
    assert names(pool.by_job(base(fac), domain=jobs["fitter"].domain)) == ["Muret"]  # F16
    grand = names(pool.by_job(base(fac), domain=jobs["mason"].domain.parent))  # F: the whole building trade
    assert "Muret" in grand and "Toulouse" in grand


def test_search_by_place_widens_from_the_commune_to_the_epci_and_the_department(territory):
    fac, _, communes, _ = territory
    toulouse = communes["toulouse"]
    commune = names(pool.by_place(base(fac), commune=toulouse))
    assert "Blagnac" not in commune and "Toulouse" in commune
    epci = names(pool.by_place(base(fac), commune=toulouse, zone=pool.Zone.EPCI))
    assert "Blagnac" in epci and "Muret" not in epci
    department = names(pool.by_place(base(fac), commune=toulouse, zone=pool.Zone.DEPARTMENT))
    assert "Muret" in department and "Albi" not in department
    assert names(pool.by_place(base(fac), department="81")) == ["Albi"]


def test_search_by_criterion_and_level(territory):
    fac, _, _, _ = territory
    rqth = ref(EligibilityCriterion, "rqth")
    assert names(pool.by_criterion(base(fac), rqth, DAY)) == ["Muret"]
    assert names(base(fac).filter(qualification_level__code="level4")) == ["Bachelier"]


def test_pool_page_searches_and_an_offer_prefills_its_job_and_place(territory, client_for):
    fac, _, communes, jobs = territory
    user = UserFactory(member_of=fac)
    client = client_for(user)
    url = reverse("www:matching_pool")
    page = client.get(url, {"rome_job": "F1703", "commune": "31555", "zone": "epci", "day": "03/03/2025"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "TOULOUSE" in html and "BLAGNAC" in html and "MURET" not in html and "ALBI" not in html
    assert "OCCUPÉ" not in html and "PLUS TARD" not in html and "INÉLIGIBLE" not in html
    offer = JobOfferFactory(
        lot=LotFactory(market__facilitator=fac), rome_job=jobs["mason"], commune=communes["toulouse"]
    )
    html = client.get(reverse("www:offer_pool", kwargs={"uuid": offer.uuid})).content.decode()
    assert "TOULOUSE" in html and "MURET" not in html and "ALBI" not in html  # F1703 in the 31, by default
    assert "Ajouter à la sélection" in html


def test_the_jobs_a_person_held_latest_first_each_once(world_a):
    person = ParticipantFactory(facilitator=world_a.facilitator)
    lot = world_a.objects["lot"]
    for start, title, code in (
        (datetime.date(2022, 3, 1), "Maçon", "F1703"),
        (datetime.date(2025, 1, 6), "Coffreur-bancheur", "F1701"),
        (datetime.date(2023, 9, 4), "Maçon", "F1703"),
        (datetime.date(2021, 5, 3), "Aide", ""),
    ):
        end = start + datetime.timedelta(days=90)
        ContractFactory(
            lot=lot, participant=person, job_title=title, rome_code=code, start_date=start, end_date=end
        )

    [found] = pool.with_jobs_worked(Participant.objects.filter(pk=person.pk))

    assert pool.jobs_worked(found) == ["Coffreur-bancheur (F1701)", "Maçon (F1703)", "Aide"]
