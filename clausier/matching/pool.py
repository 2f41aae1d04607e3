"""The candidate pool: the people a facilitator may propose for a job, and the search through it.

The pool is the facilitator's participant records (not merged, not anonymised) with an eligibility
assessment valid on the reference date (the job's start, or today). A validated candidacy always leads to
such a record (validation creates or links it and records the assessment), so validated candidacies are in
the pool through their participant, bringing the jobs wished and the availability the prescriber gave.

Place: communes carry no coordinates in this project (the COG files have none, and the QPV perimeters are
not communes), so there is no distance in kilometres: the search widens from the commune to its
intercommunality (EPCI) and to its département.

Every filter is a subquery on the participant row: one query for the page whatever the data size.
"""

import datetime

from django.db.models import Exists, OuterRef, Q, Subquery

from clausier.employment.models import Contract
from clausier.matching.models import Candidacy, CandidacyStatus
from clausier.participants.models import AssessmentCriterion, EligibilityAssessment


class Zone:
    COMMUNE = "commune"
    EPCI = "epci"
    DEPARTMENT = "departement"
    CHOICES = [
        (COMMUNE, "La commune"),
        (EPCI, "Son intercommunalité (EPCI)"),
        (DEPARTMENT, "Son département"),
    ]


def _assessments_valid_on(day: datetime.date):
    return EligibilityAssessment.objects.filter(
        participant=OuterRef("pk"), assessed_on__lte=day, valid_until__gte=day
    )


def _validated_candidacies():
    return Candidacy.objects.filter(participant=OuterRef("pk"), status=CandidacyStatus.VALIDATED)


def in_pool(participants, day: datetime.date):
    """`participants` (already scoped to the user) that stand in the pool on `day`, annotated with
    `eligible_until` (the latest end of an assessment valid that day), `available_from` (from the latest
    validated candidacy) and `busy` (a contract running that day)."""
    valid = _assessments_valid_on(day)
    return (
        participants.filter(merged_into__isnull=True, anonymised_on__isnull=True)
        .annotate(
            eligible_until=Subquery(valid.order_by("-valid_until").values("valid_until")[:1]),
            available_from=Subquery(
                _validated_candidacies().order_by("-decided_at", "-pk").values("available_from")[:1]
            ),
            busy=Exists(Contract.objects.filter(participant=OuterRef("pk")).active_on(day)),
        )
        .filter(eligible_until__isnull=False)
    )


def by_job(participants, *, rome_job=None, domain=None):
    """People who wish this ROME job (a validated candidacy) or have worked in it (a contract's ROME code);
    `domain` is a domaine professionnel (F17) or a grand domaine (F)."""
    if rome_job is not None:
        wished = _validated_candidacies().filter(wished_jobs=rome_job)
        worked = Contract.objects.filter(participant=OuterRef("pk"), rome_code=rome_job.code)
        participants = participants.filter(Q(Exists(wished)) | Q(Exists(worked)))
    if domain is not None:
        lookup = "wished_jobs__domain__parent" if domain.parent_id is None else "wished_jobs__domain"
        wished = _validated_candidacies().filter(**{lookup: domain})
        worked = Contract.objects.filter(participant=OuterRef("pk"), rome_code__startswith=domain.code)
        participants = participants.filter(Q(Exists(wished)) | Q(Exists(worked)))
    return participants


def by_place(participants, *, commune=None, zone: str = Zone.COMMUNE, department: str = ""):
    if commune is not None:
        if zone == Zone.DEPARTMENT:
            participants = participants.filter(commune__department_code=commune.department_code)
        elif zone == Zone.EPCI and commune.epci_code:
            participants = participants.filter(commune__epci_code=commune.epci_code)
        else:
            participants = participants.filter(commune=commune)
    if department:
        participants = participants.filter(commune__department_code=department)
    return participants


def by_criterion(participants, criterion, day: datetime.date):
    """People whose eligibility valid on `day` rests on `criterion` (facilitator staff only: RGPD)."""
    lines = AssessmentCriterion.objects.filter(
        criterion=criterion,
        assessment__participant=OuterRef("pk"),
        assessment__assessed_on__lte=day,
        assessment__valid_until__gte=day,
    )
    return participants.filter(Exists(lines))


def available_on(participants, day: datetime.date):
    """Available on `day`: no contract running then, and available from that day at the latest."""
    return participants.filter(busy=False).filter(Q(available_from__isnull=True) | Q(available_from__lte=day))
