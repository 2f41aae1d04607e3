"""One person, one record: duplicate candidates by birth date and name similarity."""

import datetime

import pytest

from clausier.participants.duplicates import Identity, duplicates_of, find_duplicates, similarity
from clausier.participants.models import Participant
from tests.factories import FacilitatorFactory, ParticipantFactory

pytestmark = pytest.mark.django_db

D = datetime.date
BORN = D(1990, 4, 3)


@pytest.fixture
def facilitator():
    return FacilitatorFactory()


@pytest.fixture
def eloise(facilitator):
    return ParticipantFactory(
        facilitator=facilitator, first_name="eloise", last_name="dupont martin", birth_date=BORN
    )


def found(facilitator, first, last, born=BORN, birth_name="", **kwargs):
    return {
        c.participant.pk: c for c in find_duplicates(facilitator, first, last, born, birth_name, **kwargs)
    }


def test_acceptance_eloise_dupont_martin(facilitator, eloise):
    typed = datetime.datetime.strptime("03/04/1990", "%d/%m/%Y").date()

    (candidate,) = find_duplicates(facilitator, "Éloïse", "DUPONT-MARTIN", typed)

    assert candidate.participant == eloise
    assert candidate.score == 1.0
    assert candidate.reasons == ["même date de naissance"]


@pytest.mark.parametrize(
    ("first", "last", "minimum"),
    [
        ("ÉLOÏSE", "Dupont Martin", 1.0),
        ("Eloise", "MARTIN-DUPONT", 1.0),  # compound name in the other order
        ("Éloïse", "Dupont", 0.9),  # half of the compound name
        ("Eloise", "Dupond-Martin", 0.9),  # a typo
        ("Eloïse", "Dupont  –  Martin", 1.0),  # en dash, spaces
        ("Héloïse", "Dupont-Martin", 0.9),
        ("Dupont-Martin", "Éloïse", 0.9),  # first and last names the wrong way round
    ],
)
def test_variants_of_the_same_person(facilitator, eloise, first, last, minimum):
    candidates = found(facilitator, first, last)
    assert eloise.pk in candidates, (first, last)
    assert candidates[eloise.pk].score >= minimum


def test_particles_and_compound_first_names(facilitator):
    jean = ParticipantFactory(
        facilitator=facilitator, first_name="Jean-Pierre", last_name="de La Fontaine", birth_date=BORN
    )
    assert found(facilitator, "jean pierre", "LA FONTAINE")[jean.pk].score == 1.0
    assert found(facilitator, "Jean Pierre", "Fontaine")[jean.pk].score == 1.0
    assert found(facilitator, "Jean", "de la Fontaine")[jean.pk].score >= 0.9


def test_birth_name_on_either_side(facilitator):
    married = ParticipantFactory(
        facilitator=facilitator,
        first_name="Eloïse",
        last_name="Durand",
        birth_name="Dupont-Martin",
        birth_date=BORN,
    )
    # Typed with her birth name as last name.
    candidate = found(facilitator, "Eloise", "DUPONT-MARTIN")[married.pk]
    assert candidate.score == 1.0
    assert "nom de naissance" in candidate.reasons
    # A record under the birth name, typed with the married name and the birth name.
    maiden = ParticipantFactory(
        facilitator=facilitator, first_name="Nadia", last_name="Benali", birth_date=BORN
    )
    assert maiden.pk not in found(facilitator, "Nadia", "Moreau")
    assert found(facilitator, "Nadia", "Moreau", birth_name="Benali")[maiden.pk].score == 1.0


def test_day_and_month_swapped(facilitator, eloise):
    candidate = found(facilitator, "Eloise", "Dupont-Martin", born=D(1990, 3, 4))[eloise.pk]
    assert candidate.score == pytest.approx(0.9)
    assert "jour et mois de naissance inversés" in candidate.reasons


def test_other_people_are_not_candidates(facilitator, eloise):
    ParticipantFactory(facilitator=facilitator, first_name="Karim", last_name="Benali", birth_date=BORN)
    ParticipantFactory(
        facilitator=facilitator, first_name="Eloise", last_name="Dupont-Martin", birth_date=D(1991, 4, 3)
    )
    ParticipantFactory(first_name="Eloise", last_name="Dupont-Martin", birth_date=BORN)  # another facilitator
    ParticipantFactory(facilitator=facilitator, first_name="Louise", last_name="Dumont", birth_date=BORN)

    assert list(found(facilitator, "Eloise", "Dupont-Martin")) == [eloise.pk]
    assert found(facilitator, "Karim", "Dupont-Martin").get(eloise.pk) is None
    assert find_duplicates(facilitator, "Marc", "Petit", BORN) == []


def test_best_first_merged_records_left_out_and_exclude(facilitator, eloise):
    half = ParticipantFactory(
        facilitator=facilitator, first_name="Eloise", last_name="Dupont", birth_date=BORN
    )
    merged = ParticipantFactory(
        facilitator=facilitator, first_name="Eloise", last_name="Dupont-Martin", birth_date=BORN
    )
    Participant.objects.filter(pk=merged.pk).update(merged_into=eloise)

    candidates = find_duplicates(facilitator, "Éloïse", "DUPONT-MARTIN", BORN)
    assert [c.participant for c in candidates] == [eloise, half]
    assert candidates[0].score > candidates[1].score

    assert [c.participant for c in duplicates_of(eloise)] == [half]
    assert [
        c.participant for c in find_duplicates(facilitator.pk, "Eloise", "Dupont", BORN, exclude=half)
    ] == [eloise]


def test_threshold(facilitator, eloise):
    assert found(facilitator, "Elodie", "Dupont-Martin", threshold=0.95) == {}
    assert eloise.pk in found(facilitator, "Elodie", "Dupont-Martin", threshold=0.5)


def test_one_query(facilitator, eloise, django_assert_num_queries):
    for n in range(30):
        ParticipantFactory(
            facilitator=facilitator, first_name=f"Personne{n}", last_name="Autre", birth_date=BORN
        )
    with django_assert_num_queries(1):
        assert find_duplicates(facilitator, "Éloïse", "DUPONT-MARTIN", BORN)[0].participant == eloise


def test_similarity_is_symmetric_enough():
    a = Identity.of("Éloïse", "DUPONT-MARTIN")
    b = Identity.of("eloise", "martin dupont", "durand")
    assert similarity(a, b)[0] == similarity(b, a)[0] == 1.0
    assert Identity.of("Anne", "d'Arc", "D'ARC").last_names == ("arc",)


def test_a_name_made_of_particles_only(facilitator):
    le = ParticipantFactory(facilitator=facilitator, first_name="Minh", last_name="Lê", birth_date=BORN)
    da = ParticipantFactory(facilitator=facilitator, first_name="Rachid", last_name="Da", birth_date=BORN)
    assert found(facilitator, "minh", "LE")[le.pk].score == 1.0
    assert found(facilitator, "Rachid", "DA")[da.pk].score == 1.0
    assert le.normalized_name == "le|minh"
