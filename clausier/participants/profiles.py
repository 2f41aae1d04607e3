"""Profiles at entry, computed once and stored for SQL reporting (domain.md §7 "Profils à l'entrée").

A participant's profile (`ParticipantProfile`, one row per participant, carrying `facilitator_id`) holds:
- `reference_date`: the date of entry — the start of the first contract, else the entry date in the scheme;
- `age_band`: < 26, 26–49, ≥ 50 at that date (full years: 25 years and 364 days is "< 26");
- `qualification_band`: infra 3, 3, 4, 5+ (from the reference level's `band`);
- the criteria at entry: those of the eligibility assessment valid at the reference date (the latest one
  if several overlap), one `ProfileCriterion` row each — a re-validation made later changes nothing;
- `qpv_flag` and `qpv_source`: in QPV / outside / unknown, by `QPV_RULE` (the address's residence resolved at
  entry, else the criterion declared at eligibility);
- `commune`.

Recomputed by `refresh_profile(participant)` from the actions that change a participant, its assessments or
its contracts, and in bulk by `refresh_profiles(...)` / `clausier refresh-profiles --facilitator SLUG`
(a constant number of queries per batch). The count functions below answer in one SQL query each; merged
duplicates are left out (their contracts moved to the kept record, which carries the person's profile).
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from clausier.participants.models import (
    AgeBand,
    EligibilityAssessment,
    Participant,
    ParticipantProfile,
    ProfileCriterion,
    QpvFlag,
    QpvResidence,
    QpvSource,
    QualificationBand,
)
from clausier.reference.models import EligibilityCriterion
from clausier.utils.models import same_tenant

DEFAULT_BATCH_SIZE = 1000
PROFILE_FIELDS = [
    "facilitator",
    "reference_date",
    "age_at_entry",
    "age_band",
    "qualification_band",
    "qpv_flag",
    "qpv_source",
    "qpv_code",
    "commune",
    "assessment",
    "computed_at",
]
DIMENSIONS = {
    "age_band": AgeBand,
    "qualification_band": QualificationBand,
    "qpv_flag": QpvFlag,
    "qpv_source": QpvSource,
}
QPV_CRITERION = "qpv_resident"
# Said in every bilan's method section (clausier.reporting.bilans.METHOD).
QPV_RULE = (
    "Résidence dans un quartier prioritaire à la date d'entrée : d'après l'adresse de la personne, géocodée et "
    "située dans les périmètres QPV en vigueur à cette date ; quand l'adresse ne le dit pas (non localisée, "
    "ou aucune liste de quartiers chargée pour cette date), d'après le critère « résident QPV » déclaré à la "
    "validation d'éligibilité en cours à l'entrée. Le bilan donne la part de chaque source."
)
_BANDS = {
    "infra 3": QualificationBand.INFRA_3,
    "infra3": QualificationBand.INFRA_3,
    "3": QualificationBand.LEVEL_3,
    "4": QualificationBand.LEVEL_4,
    "5+": QualificationBand.LEVEL_5_PLUS,
}


# --- The rules, one value at a time -----------------------------------------------------------------------


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    """Full years on `day` (someone born on 29 February turns a year older on 1 March in common years)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def age_band(age: int | None) -> str:
    if age is None:
        return AgeBand.UNKNOWN
    if age < 26:
        return AgeBand.UNDER_26
    if age < 50:
        return AgeBand.FROM_26_TO_49
    return AgeBand.FROM_50


def qualification_band(band: str | None) -> str:
    """The reporting band of a `QualificationLevel.band` ("infra 3", "3", "4", "5+"); unknown otherwise."""
    return _BANDS.get(" ".join((band or "").split()).lower(), QualificationBand.UNKNOWN)


def qpv_flag(status: str) -> str:
    """In QPV / outside / unknown ("no list in force", "not located", "not resolved yet" are unknowns)."""
    if status == QpvResidence.INSIDE:
        return QpvFlag.INSIDE
    if status == QpvResidence.OUTSIDE:
        return QpvFlag.OUTSIDE
    return QpvFlag.UNKNOWN


def reference_date(
    participant: Participant, first_contract_start: datetime.date | None
) -> datetime.date | None:
    """The date of entry: the first contract's start, else the entry date in the scheme, else unknown."""
    return first_contract_start or participant.entry_date


def assessment_at(assessments: Iterable[EligibilityAssessment], day: datetime.date | None):
    """The assessment valid on `day` (the latest validated, if several overlap), or None."""
    if day is None:
        return None
    valid = [a for a in assessments if a.assessed_on <= day <= a.valid_until]
    return max(valid, key=lambda a: (a.assessed_on, a.pk), default=None)


def compute_profile(
    participant: Participant,
    *,
    first_contract_start: datetime.date | None,
    assessments: Iterable[EligibilityAssessment],
    qpv_criterion: int | None = None,
    now=None,
) -> tuple[ParticipantProfile, list[int]]:
    """The profile row (unsaved) and the ids of the criteria at entry (`qpv_criterion`: the id of the
    « résident QPV » criterion, the fallback of `QPV_RULE`)."""
    day = reference_date(participant, first_contract_start)
    age = age_on(participant.birth_date, day) if day and participant.birth_date else None
    level = participant.qualification_level
    assessment = assessment_at(assessments, day)
    criteria = sorted({line.criterion_id for line in assessment.criterion_lines.all()}) if assessment else []
    flag = qpv_flag(participant.qpv_status)
    source = QpvSource.ADDRESS if flag != QpvFlag.UNKNOWN else QpvSource.NONE
    if flag == QpvFlag.UNKNOWN and qpv_criterion is not None and qpv_criterion in criteria:
        flag, source = QpvFlag.INSIDE, QpvSource.CRITERION
    profile = ParticipantProfile(
        participant_id=participant.pk,
        facilitator_id=participant.facilitator_id,
        reference_date=day,
        age_at_entry=age,
        age_band=age_band(age),
        qualification_band=qualification_band(level.band if level else None),
        qpv_flag=flag,
        qpv_source=source,
        qpv_code=participant.qpv_code if source == QpvSource.ADDRESS and flag == QpvFlag.INSIDE else "",
        commune_id=participant.commune_id,
        assessment_id=assessment.pk if assessment else None,
        computed_at=now or timezone.now(),
    )
    return profile, criteria


# --- Writing ---------------------------------------------------------------------------------------------


def _write_batch(ids: list[int]) -> int:
    """Compute and store the profiles of the participants `ids`: seven queries whatever their number."""
    participants = list(
        Participant.objects.filter(pk__in=ids)
        .select_related("qualification_level")
        .annotate(first_start=Min("contracts__start_date"))
        .order_by()
    )
    assessments = defaultdict(list)
    for assessment in (
        EligibilityAssessment.objects.filter(participant_id__in=ids)
        .only("pk", "participant_id", "assessed_on", "valid_until")
        .prefetch_related("criterion_lines")
        .order_by()
    ):
        assessments[assessment.participant_id].append(assessment)
    qpv_criterion = (
        EligibilityCriterion.objects.filter(code=QPV_CRITERION).values_list("pk", flat=True).first()
    )
    now = timezone.now()
    profiles, lines = [], []
    for participant in participants:
        profile, criteria = compute_profile(
            participant,
            first_contract_start=participant.first_start,
            assessments=assessments[participant.pk],
            qpv_criterion=qpv_criterion,
            now=now,
        )
        profiles.append(profile)
        lines += [
            ProfileCriterion(
                profile_id=participant.pk, facilitator_id=participant.facilitator_id, criterion_id=criterion
            )
            for criterion in criteria
        ]
    with transaction.atomic():
        ProfileCriterion.objects.filter(profile_id__in=ids).delete()
        ParticipantProfile.objects.bulk_create(
            profiles,
            update_conflicts=True,
            unique_fields=["participant"],
            update_fields=[f for f in PROFILE_FIELDS if f != "facilitator"],
        )
        ProfileCriterion.objects.bulk_create(lines)
    return len(profiles)


def refresh_profile(participant: Participant) -> None:
    """Recompute one participant's profile (call it inside the action that changed the person)."""
    _write_batch([participant.pk])


def refresh_profiles(participants: QuerySet | Iterable, *, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Recompute the profiles of `participants` (a queryset or ids), by batches of `batch_size`.

    A queryset is walked by primary key (keyset pagination), never loaded whole.
    """
    total = 0
    if isinstance(participants, QuerySet):
        queryset = participants.order_by("pk").values_list("pk", flat=True)
        last = 0
        while True:
            ids = list(queryset.filter(pk__gt=last)[:batch_size])
            if not ids:
                return total
            total += _write_batch(ids)
            last = ids[-1]
    ids = sorted({getattr(p, "pk", p) for p in participants})
    for start in range(0, len(ids), batch_size):
        total += _write_batch(ids[start : start + batch_size])
    return total


def refresh_facilitator_profiles(facilitator, *, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Recompute every profile of `facilitator` (`clausier refresh-profiles --facilitator SLUG`)."""
    return refresh_profiles(Participant.objects.filter(facilitator=facilitator), batch_size=batch_size)


# --- Reading: counts in one SQL query ------------------------------------------------------------------------


def profiles_of(facilitator, participants: QuerySet | None = None) -> QuerySet:
    """Profiles of the people (merged duplicates left out) of `facilitator`, optionally among `participants`
    (a queryset of participants, or of their ids, e.g. the holders of a year's contracts)."""
    profiles = ParticipantProfile.objects.filter(
        same_tenant(facilitator, "participant"), participant__merged_into__isnull=True
    )
    if participants is not None:
        profiles = profiles.filter(participant__in=participants)
    return profiles


def counts_by(facilitator, dimension: str, participants: QuerySet | None = None) -> dict[str, int]:
    """{band: people} for one dimension ("age_band", "qualification_band", "qpv_flag", "commune"), one query.

    Every band of the dimension is present (0 when nobody); communes are keyed by INSEE code ("" = unknown).
    """
    if dimension not in {*DIMENSIONS, "commune"}:
        raise ValueError(f"Dimension inconnue : {dimension}")
    field = "commune_id" if dimension == "commune" else dimension
    rows = profiles_of(facilitator, participants).values(field).annotate(n=Count("pk")).order_by(field)
    if dimension == "commune":
        return {row[field] or "": row["n"] for row in rows}
    counts = dict.fromkeys(DIMENSIONS[dimension].values, 0)
    counts.update({row[field]: row["n"] for row in rows})
    return counts


def profile_breakdown(facilitator, participants: QuerySet | None = None) -> dict[str, dict[str, int]]:
    """Every band of every dimension (plus `sex` and `total`), in one query of conditional counts."""
    aggregates = {"total": Count("pk")}
    for dimension, choices in DIMENSIONS.items():
        for value in choices.values:
            aggregates[f"{dimension}__{value}"] = Count("pk", filter=Q(**{dimension: value}))
    for sex in ("F", "M"):
        aggregates[f"sex__{sex}"] = Count("pk", filter=Q(participant__sex=sex))
    row = profiles_of(facilitator, participants).aggregate(**aggregates)
    result: dict[str, dict[str, int]] = {"total": {"total": row.pop("total")}}
    for key, value in row.items():
        dimension, band = key.split("__", 1)
        result.setdefault(dimension, {})[band] = value
    return result


def breakdown_and_communes(facilitator, participants: QuerySet | None = None) -> tuple[dict, dict[str, int]]:
    """`profile_breakdown()` and `counts_by(…, "commune")` together, from one query grouped by every band and
    the commune (a few hundred groups for a territory) where they were two scans of the people's profiles."""
    return _tally(
        profiles_of(facilitator, participants)
        .values_list(*DIMENSIONS, "participant__sex", "commune_id")
        .annotate(n=Count("pk"))
        .order_by()
    )


def counts_among(facilitator, people: set[int]) -> tuple[dict, dict[str, int], dict[str, int]]:
    """`breakdown_and_communes()` and `criteria_counts()` of `people` (ids of kept records), from the
    territory's profiles and criteria lines read whole by their facilitator index and kept in Python: a
    territory has a few thousand of each, where the people's subquery made PostgreSQL walk nested loops over
    every line (42 ms for the criteria of one territory among 200)."""
    groups: dict[tuple, int] = defaultdict(int)
    for participant_id, *bands in profiles_of(facilitator).values_list(
        "participant_id", *DIMENSIONS, "participant__sex", "commune_id"
    ):
        if participant_id in people:
            groups[tuple(bands)] += 1
    breakdown, communes = _tally([(*bands, n) for bands, n in groups.items()])
    holders: dict[str, set[int]] = defaultdict(set)
    for profile_id, code in _criteria_lines(facilitator).values_list("profile_id", "criterion__code"):
        if profile_id in people:
            holders[code].add(profile_id)
    return breakdown, communes, {code: len(holders[code]) for code in sorted(holders)}


def _tally(rows) -> tuple[dict, dict[str, int]]:
    """Rows of (*bands of DIMENSIONS, sex, commune, people) → the breakdown and the communes."""
    rows = list(rows)
    result: dict[str, dict[str, int]] = {"total": {"total": sum(row[-1] for row in rows)}}
    for position, (dimension, choices) in enumerate(DIMENSIONS.items()):
        counts = result[dimension] = dict.fromkeys(choices.values, 0)
        for row in rows:
            if row[position] in counts:
                counts[row[position]] += row[-1]
    sex = len(DIMENSIONS)
    result["sex"] = {s: sum(row[-1] for row in rows if row[sex] == s) for s in ("F", "M")}
    communes: dict[str, int] = {}
    for row in rows:
        communes[row[sex + 1] or ""] = communes.get(row[sex + 1] or "", 0) + row[-1]
    return result, communes


def _criteria_lines(facilitator) -> QuerySet:
    return ProfileCriterion.objects.filter(
        same_tenant(facilitator, "profile", "profile__participant"),
        profile__participant__merged_into__isnull=True,
    )


def criteria_counts(facilitator, participants: QuerySet | None = None) -> dict[str, int]:
    """{criterion code: people holding it at entry}, one query (a person may hold several criteria)."""
    lines = _criteria_lines(facilitator)
    if participants is not None:
        lines = lines.filter(profile__participant__in=participants)
    rows = (
        lines.values("criterion__code")
        .annotate(n=Count("profile_id", distinct=True))
        .order_by("criterion__code")
    )
    return {row["criterion__code"]: row["n"] for row in rows}


def missing_profiles(facilitator) -> QuerySet:
    """Participants of `facilitator` that have no profile yet (to refresh)."""
    return Participant.objects.filter(facilitator=facilitator, profile__isnull=True)
