"""The candidate pool: the people a facilitator may propose for a job, and the search through it.

The pool is the facilitator's participant records (not merged, not anonymised) with an eligibility
assessment valid on the reference date (the job's start, or today). A validated candidacy always leads to
such a record (validation creates or links it and records the assessment), so validated candidacies are in
the pool through their participant, bringing the jobs wished and the availability the prescriber gave.

Place: the search widens from the commune to its intercommunality (EPCI) and to its département, or, when
the communes carry coordinates (`clausier geo locate-communes`), keeps the people whose commune (the
participant's, or that of one of their validated candidacies) lies within N km of the chosen one
(`by_distance`: a bounding box in SQL on the indexed latitude/longitude, then the exact great-circle
distance in Python on the communes left).

Every filter is a subquery on the participant row: one query for the page whatever the data size (plus one
for the communes around, with a distance).
"""

import datetime
import math

from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery

from clausier.employment.models import Contract
from clausier.geo.models import Commune
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


def _in_jobs(participants, jobs):
    """People who wish one of `jobs` (a validated candidacy) or have worked in one (a contract's ROME code)."""
    wished = _validated_candidacies().filter(wished_jobs__in=jobs)
    worked = Contract.objects.filter(participant=OuterRef("pk"), rome_code__in=[job.code for job in jobs])
    return participants.filter(Q(Exists(wished)) | Q(Exists(worked)))


def by_job(participants, *, rome_job=None, domain=None, jobs=()):
    """People who wish this ROME job (a validated candidacy) or have worked in it (a contract's ROME code),
    or one of `jobs` (those a job's name designates, `RomeJob.objects.named`); `domain` is a domaine
    professionnel (F17) or a grand domaine (F)."""
    if rome_job is not None:
        participants = _in_jobs(participants, [rome_job])
    if jobs:
        participants = _in_jobs(participants, list(jobs))
    if domain is not None:
        lookup = "wished_jobs__domain__parent" if domain.parent_id is None else "wished_jobs__domain"
        wished = _validated_candidacies().filter(**{lookup: domain})
        worked = Contract.objects.filter(participant=OuterRef("pk"), rome_code__startswith=domain.code)
        participants = participants.filter(Q(Exists(wished)) | Q(Exists(worked)))
    return participants


def with_jobs_worked(participants):
    """Prefetch what `jobs_worked` reads: the people's contracts, latest first (one query per page)."""
    contracts = Contract.objects.only("pk", "participant_id", "rome_code", "job_title", "start_date")
    return participants.prefetch_related(
        Prefetch("contracts", queryset=contracts.order_by("-start_date", "-pk"), to_attr="worked_contracts")
    )


def jobs_worked(person) -> list[str]:
    """The jobs a person has held on contracts, latest first, each once ("Maçon (F1703)")."""
    titles = (
        f"{c.job_title} ({c.rome_code})" if c.rome_code else c.job_title for c in person.worked_contracts
    )
    return list(dict.fromkeys(title for title in titles if title))


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


EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in kilometres between two WGS84 points (degrees)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, km: float) -> tuple[float, float, float | None, float | None]:
    """(min_lat, max_lat, min_lon, max_lon) holding every point within `km` of (lat, lon); no longitude
    bounds (None) near a pole or across the antimeridian."""
    angle = km / EARTH_RADIUS_KM
    min_lat, max_lat = lat - math.degrees(angle), lat + math.degrees(angle)
    if max_lat >= 90 or min_lat <= -90:
        return max(min_lat, -90.0), min(max_lat, 90.0), None, None
    # The widest longitude reached on the circle (tangent meridians), wider than at the centre's latitude.
    dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(lat)))))
    if lon - dlon < -180 or lon + dlon > 180:
        return min_lat, max_lat, None, None
    return min_lat, max_lat, lon - dlon, lon + dlon


def communes_within(commune, km: float) -> list[str]:
    """INSEE codes of the located communes within `km` of `commune` (located): one query."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(commune.latitude, commune.longitude, km)
    around = Commune.objects.filter(latitude__gte=min_lat, latitude__lte=max_lat, longitude__isnull=False)
    if min_lon is not None:
        around = around.filter(longitude__gte=min_lon, longitude__lte=max_lon)
    return [
        code
        for code, lat, lon in around.values_list("insee_code", "latitude", "longitude")
        if haversine_km(commune.latitude, commune.longitude, lat, lon) <= km
    ]


def is_located(commune) -> bool:
    return commune is not None and commune.latitude is not None and commune.longitude is not None


def by_distance(participants, *, commune, km: float):
    """People whose commune (theirs, or that of one of their validated candidacies) lies within `km` of
    `commune`; None when `commune` has no coordinates (the caller falls back to `by_place`)."""
    if not is_located(commune):
        return None
    codes = communes_within(commune, km)
    near_candidacy = _validated_candidacies().filter(commune_id__in=codes)
    return participants.filter(Q(commune_id__in=codes) | Q(Exists(near_candidacy)))


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
