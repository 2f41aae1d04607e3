"""A world with history for the RGPD tests, and every figure that must not move."""

import datetime

from clausier.matching.actions import (
    CriterionLine,
    answer_proposal,
    decline_candidacy,
    propose_candidacy,
    validate_candidacy,
)
from clausier.participants.actions import merge_participants, update_participant
from clausier.participants.models import Participant
from clausier.participants.profiles import criteria_counts, profile_breakdown, refresh_facilitator_profiles
from clausier.reference.models import EligibilityCriterion
from clausier.reporting.indicators import participants_per_year, territory_figures
from tests.factories import (
    ContractFactory,
    EligibilityAssessmentFactory,
    JobOfferFactory,
    OutcomeFactory,
    ParticipantFactory,
    ProposalFactory,
    acting,
    build_world,
    monthly_hours,
    ref,
    rome_job,
)

YEARS = range(2019, 2028)
D = datetime.date


def at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(10), tzinfo=datetime.UTC)


def backdate(obj, day: datetime.date) -> None:
    """A candidacy or a proposal (and its log) as written on `day`."""
    dates = {"created_at": at(day), "updated_at": at(day)}
    for name in ("decided_at", "sent_at", "answered_at"):
        if getattr(obj, name, None) is not None:
            dates[name] = at(day)
    type(obj).objects.filter(pk=obj.pk).update(**dates)
    obj.transitions.update(at=at(day))


def propose(world, *, by=None, **values):
    deld = CriterionLine(ref(EligibilityCriterion, "deld"), "france_travail", D(2020, 1, 20))
    values = {"birth_date": D(1998, 11, 20), "sex": "F", "informed_on": D(2020, 2, 1), **values}
    return propose_candidacy(
        facilitator=world.facilitator,
        by=by or acting(world.users["prescriber"]),
        criteria=[deld],
        wished_jobs=[rome_job()],
        **values,
    )


def world_with_history():
    """World A, plus a person last seen in 2021 (two records merged, contract, hours, assessment, outcome;
    a validated candidacy, an earlier one declined, a proposal refused by the company), and candidacies of
    people without a record: declined in 2021, declined today, proposed in 2021 and never reviewed."""
    world = build_world("A")
    fac = world.facilitator
    old = ParticipantFactory(
        facilitator=fac,
        first_name="Rosalie",
        last_name="Vieillecasse",
        birth_name="Ancienom",
        birth_date=datetime.date(1998, 11, 20),
        email="rosalie@example.org",
        phone="0601020304",
        address="3 rue des Archives",
        entry_date=datetime.date(2020, 3, 1),
        referent="Mme Conseillère",
        prescriber=world.prescriber,
    )
    duplicate = ParticipantFactory(
        facilitator=fac,
        first_name="Rosalie",
        last_name="Vieillecaze",
        birth_date=datetime.date(1998, 11, 20),
        entry_date=datetime.date(2020, 3, 1),
    )
    contract = ContractFactory(
        lot=world.lot,
        participant=duplicate,
        company=world.company,
        start_date=datetime.date(2020, 3, 2),
        end_date=datetime.date(2021, 2, 28),
        eligibility_override_reason="Situation connue de Rosalie Vieillecase",
    )
    monthly_hours(contract, {datetime.date(2020, 3, 1): 100, datetime.date(2021, 2, 1): 80})
    EligibilityAssessmentFactory(
        participant=old,
        assessed_on=datetime.date(2020, 2, 15),
        valid_until=datetime.date(2022, 2, 15),
        reason="Avis motivé au sujet de Rosalie Vieillecase",
    )
    OutcomeFactory(contract=contract, detail="CDI chez le cousin de Rosalie Vieillecase")
    # Matching: proposed by the prescriber in 2020, linked to her record; an earlier candidacy, declined, stays
    # without a record; the duplicate record was proposed for a job and refused by the company.
    staff = acting(world.users["facilitator_member"])
    identity = {"first_name": "Rosalie", "last_name": "Vieillecase", "birth_name": "Ancienom"}
    earlier = propose(world, **identity, prescriber_opinion="Première orientation de Rosalie Vieillecasse")
    decline_candidacy(candidacy=earlier, by=staff, reason="Rosalie Vieillecasse part de Toulouse")
    candidacy = propose(
        world,
        **identity,
        email="rosalie@example.org",
        phone="0601020304",
        address="3 rue des Archives",
        referent="Mme Conseillère",
        prescriber_opinion="Rosalie Vieillecasse est revenue : très motivée",
        available_from=D(2020, 3, 1),
    )
    validate_candidacy(
        candidacy=candidacy,
        by=staff,
        assessed_on=D(2020, 2, 15),
        lines=[CriterionLine(ref(EligibilityCriterion, "deld"), "france_travail", D(2020, 1, 20))],
        participant=old,
        comment="Rosalie Vieillecasse reçue le 14 février",
    )
    offer = JobOfferFactory(
        lot=world.lot, company=world.company, start_date=D(2020, 3, 2), end_date=D(2020, 9, 30)
    )
    proposal = ProposalFactory(offer=offer, participant=duplicate)
    answer_proposal(
        proposal=proposal,
        by=acting(world.users["company"]),
        accept=False,
        reason="Rosalie Vieillecaze n'a pas le permis",
    )
    for obj, day in ((earlier, D(2019, 12, 10)), (candidacy, D(2020, 2, 15)), (proposal, D(2020, 2, 28))):
        obj.refresh_from_db()
        backdate(obj, day)
    world.objects.update(earlier_candidacy=earlier, candidacy=candidacy, proposal=proposal)
    # Candidacies of people without a record.
    someone = {"first_name": "Octave", "birth_date": D(1980, 5, 6), "sex": "M"}
    world.objects["declined_2021"] = decline_candidacy(
        candidacy=propose(world, **someone, last_name="Ancien", phone="0611111111"),
        by=staff,
        reason="Octave Ancien a trouvé un emploi",
    )
    world.objects["declined_today"] = decline_candidacy(
        candidacy=propose(world, **someone, last_name="Récent"),
        by=staff,
        reason="Octave Récent : hors critères",
    )
    world.objects["pending_2021"] = propose(world, **someone, last_name="Attente")
    backdate(world.declined_2021, D(2021, 3, 1))
    backdate(world.pending_2021, D(2021, 3, 1))
    admin = acting(world.users["facilitator_admin"])
    update_participant(participant=old, by=admin, last_name="Vieillecase")  # the audit log keeps both names
    merge_participants(kept=old, duplicate=duplicate, by=admin)
    # Their records were last updated in 2021 (an update is a contact).
    Participant.objects.filter(pk__in=[old.pk, duplicate.pk]).update(
        updated_at=datetime.datetime(2021, 1, 15, tzinfo=datetime.UTC)
    )
    # Someone still in a contract (never due).
    world.objects["current"] = ContractFactory(
        lot=world.lot, company=world.company, start_date=datetime.date(2019, 1, 1), end_date=None
    )
    refresh_facilitator_profiles(fac)
    old.refresh_from_db()
    duplicate.refresh_from_db()
    world.objects["old"], world.objects["duplicate"] = old, duplicate
    return world


def every_figure(facilitator) -> dict:
    return {
        "all": territory_figures(facilitator).as_json(),
        **{year: territory_figures(facilitator, year).as_json() for year in YEARS},
        "per_year": participants_per_year(facilitator, until=YEARS[-1]),
        "profiles": profile_breakdown(facilitator),
        "criteria": criteria_counts(facilitator),
    }
