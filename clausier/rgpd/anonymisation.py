"""Anonymising participants: the retention rule (2 years without contact, CNIL délibération 2023-095) and
erasure on request.

A person is a kept record and the duplicates merged into it: they are anonymised together, on the latest
contact of any of them. Last contact = the latest of: a contract's end (a running contract is a contact
today), a month of declared hours, an eligibility assessment, an outcome, the entry date, the last update
of the record.

What anonymising does, per record:
- identity and contact fields get neutral values (names "Anonyme", no e-mail, phone, address, postal code,
  birth name, referent); the birth date becomes the 1st of January or the 31st of December of the birth
  year, whichever keeps the age at entry (so the age band of every indicator stays);
- kept for the indicators: sex, birth year, commune, qualification, situation at entry, dates of entry,
  prescriber, QPV residence (status and code), contracts, hours, assessments' criteria, outcomes' categories;
- dropped: evidence kinds and dates of the criteria, reasons (assessments, placements without eligibility,
  manual QPV), outcome details;
- the audit log: the names, reasons and other personal values already written in the entries about the
  person (the record, its assessments, outcomes, contracts and hours) are replaced by "[anonymisé]". This is
  the one sanctioned rewrite of the append-only log: keeping identities there would defeat the retention rule.
- a new audit entry on each record says who anonymised it, when and why (the field names, never the values).
"""

import datetime
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from clausier.audit.log import record
from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import Contract, HoursRecord
from clausier.organizations.models import FacilitatorSettings
from clausier.participants.models import (
    AssessmentCriterion,
    EligibilityAssessment,
    Outcome,
    Participant,
    ParticipantProfile,
)
from clausier.participants.profiles import refresh_profiles
from clausier.utils.locking import claim

NEUTRAL = "Anonyme"
REDACTED = "[anonymisé]"
IDENTITY_VALUES = {
    "first_name": NEUTRAL,
    "last_name": NEUTRAL,
    "birth_name": "",
    "email": "",
    "phone": "",
    "address": "",
    "postal_code": "",
    "referent": "",
    "qpv_reason": "",
}
# Keys whose values are redacted in the audit entries about the person.
REDACTED_KEYS = {
    *IDENTITY_VALUES,
    "birth_date",
    "normalized_name",
    "reason",
    "detail",
    "eligibility_override_reason",
    "evidence_date",
    "evidence_kind",
    "criteria",
}
DEFAULT_RETENTION_YEARS = 2


def retention_years(facilitator) -> int:
    years = (
        FacilitatorSettings.objects.filter(facilitator=facilitator)
        .values_list("retention_years", flat=True)
        .first()
    )
    return years or DEFAULT_RETENTION_YEARS


def years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_preserving_birth_date(birth_date: datetime.date, reference: datetime.date | None) -> datetime.date:
    """1 January or 31 December of the birth year: the one that gives the same age on `reference`."""
    if reference is None:
        return datetime.date(birth_date.year, 7, 1)
    had_birthday = (reference.month, reference.day) >= (birth_date.month, birth_date.day)
    return datetime.date(birth_date.year, 1, 1) if had_birthday else datetime.date(birth_date.year, 12, 31)


# --- Who is due ----------------------------------------------------------------------------------------------


@dataclass
class Person:
    kept_id: int
    record_ids: list[int] = field(default_factory=list)
    last_contact: datetime.date | None = None
    running_contract: bool = False


def people_of(facilitator) -> dict[int, Person]:
    """Every person of the facilitator not yet anonymised, with their last contact (six queries)."""
    records = Participant.objects.filter(facilitator=facilitator, anonymised_on__isnull=True).values_list(
        "pk", "merged_into_id", "entry_date", "updated_at"
    )
    people: dict[int, Person] = {}
    person_of: dict[int, int] = {}
    for pk, merged_into_id, entry_date, updated_at in records:
        kept = merged_into_id or pk
        person = people.setdefault(kept, Person(kept))
        person.record_ids.append(pk)
        person_of[pk] = kept
        _touch(person, entry_date)
        _touch(person, timezone.localdate(updated_at) if updated_at else None)

    def touch_all(rows):
        for participant_id, day in rows:
            if participant_id in person_of:
                _touch(people[person_of[participant_id]], day)

    contracts = (
        Contract.objects.filter(facilitator=facilitator)
        .values("participant_id")
        .annotate(
            last_end=Max("end_date"),
            last_start=Max("start_date"),
            running=Count("pk", filter=Q(end_date__isnull=True)),
        )
    )
    today = timezone.localdate()
    for row in contracts:
        kept = person_of.get(row["participant_id"])
        if kept is None:
            continue
        person = people[kept]
        _touch(person, row["last_end"])
        _touch(person, row["last_start"])
        if row["running"] or (row["last_end"] and row["last_end"] >= today):
            person.running_contract = True
    touch_all(
        HoursRecord.objects.filter(facilitator=facilitator)
        .values("contract__participant_id")
        .annotate(last=Max("month"))
        .values_list("contract__participant_id", "last")
    )
    for model, date_field in ((EligibilityAssessment, "assessed_on"), (Outcome, "observed_on")):
        touch_all(
            model.objects.filter(facilitator=facilitator)
            .values("participant_id")
            .annotate(last=Max(date_field))
            .values_list("participant_id", "last")
        )
    return people


def _touch(person: Person, day):
    if day is not None and (person.last_contact is None or day > person.last_contact):
        person.last_contact = day


def due_for_anonymisation(facilitator, *, years: int | None = None, today: datetime.date | None = None):
    """The people without contact for `years` (the facilitator's retention, 2 years by default)."""
    today = today or timezone.localdate()
    years = years if years is not None else retention_years(facilitator)
    limit = years_before(today, years)
    return sorted(
        (
            person
            for person in people_of(facilitator).values()
            if not person.running_contract and person.last_contact is not None and person.last_contact < limit
        ),
        key=lambda person: person.kept_id,
    )


# --- Anonymising ---------------------------------------------------------------------------------------------


def anonymise_records(record_ids: list[int], *, by, detail: str, today: datetime.date | None = None) -> int:
    """Anonymise these participant records (one person: a kept record and its duplicates). Atomic."""
    today = today or timezone.localdate()
    with transaction.atomic():
        rows = list(
            Participant.objects.select_for_update()
            .filter(pk__in=record_ids, anonymised_on__isnull=True)
            .order_by("pk")
        )
        if not rows:
            return 0
        ids = [row.pk for row in rows]
        references = _reference_dates(ids)
        related_uuids = _related_uuids(ids)
        for row in rows:
            claim(row)
            for name, value in IDENTITY_VALUES.items():
                setattr(row, name, value)
            row.birth_date = age_preserving_birth_date(row.birth_date, references.get(row.pk))
            row.anonymised_on = today
            row.save()
        assessments = EligibilityAssessment.objects.filter(participant_id__in=ids)
        assessments.update(reason="")
        AssessmentCriterion.objects.filter(assessment__in=assessments).update(
            evidence_kind=AssessmentCriterion.EvidenceKind.OTHER, evidence_date=None
        )
        Outcome.objects.filter(participant_id__in=ids).update(detail="")
        Contract.objects.filter(participant_id__in=ids).update(eligibility_override_reason="")
        _redact_audit(rows, related_uuids)
        refresh_profiles(ids)  # same age band, commune, QPV, criteria: the indicators do not move
        changed = sorted([*IDENTITY_VALUES, "birth_date"])
        for row in rows:
            record(
                action=Action.UPDATE,
                obj=row,
                by=by,
                changes={"anonymised_on": [None, str(today)], "anonymised_fields": [None, changed]},
                detail=detail,
            )
    return len(rows)


def _reference_dates(ids: list[int]) -> dict[int, datetime.date | None]:
    """The entry date each record's profile is computed at (first contract of the person, else entry date)."""
    profiles = dict(
        ParticipantProfile.objects.filter(participant_id__in=ids).values_list(
            "participant_id", "reference_date"
        )
    )
    first_starts = dict(
        Contract.objects.filter(participant_id__in=ids)
        .values("participant_id")
        .annotate(first=models.Min("start_date"))
        .values_list("participant_id", "first")
    )
    entries = dict(Participant.objects.filter(pk__in=ids).values_list("pk", "entry_date"))
    return {pk: profiles.get(pk) or first_starts.get(pk) or entries.get(pk) for pk in ids}


def _related_uuids(ids: list[int]) -> dict[str, type]:
    uuids = {}
    for model, lookup in (
        (EligibilityAssessment, "participant_id__in"),
        (Outcome, "participant_id__in"),
        (Contract, "participant_id__in"),
        (HoursRecord, "contract__participant_id__in"),
    ):
        for value in model.objects.filter(**{lookup: ids}).values_list("uuid", flat=True):
            uuids[str(value)] = model
    return uuids


def _redact(changes):
    if not isinstance(changes, dict):
        return changes
    return {key: ([REDACTED, REDACTED] if key in REDACTED_KEYS else value) for key, value in changes.items()}


def _redact_audit(rows: list[Participant], related_uuids: dict[str, type]) -> None:
    """Replace the person's names and reasons in the audit entries already written about them.

    The audit queryset refuses `update()` (append-only for the application); the retention rule is the
    one exception, written here with the base QuerySet's update.
    """
    object_ids = {str(row.uuid): str(row) for row in rows}
    for uuid, model in related_uuids.items():
        object_ids[uuid] = f"{model._meta.verbose_name} (personne anonymisée)"
    entries = AuditEntry.objects.filter(object_id__in=list(object_ids)).values_list(
        "pk", "object_id", "changes"
    )
    for pk, object_id, changes in entries.iterator(chunk_size=500):
        models.QuerySet.update(
            AuditEntry.objects.filter(pk=pk),
            object_repr=object_ids[object_id][:255],
            changes=_redact(changes),
        )


# --- Entry points --------------------------------------------------------------------------------------------


@dataclass
class RetentionReport:
    people: int = 0
    records: int = 0
    years: int = DEFAULT_RETENTION_YEARS
    limit: datetime.date | None = None
    dry_run: bool = False

    def summary(self) -> str:
        verb = "seraient anonymisées" if self.dry_run else "anonymisée(s)"
        return (
            f"{self.people} personne(s) sans contact depuis le {self.limit:%d/%m/%Y} "
            f"({self.years} an(s)) {verb} — {self.records} fiche(s), doublons fusionnés compris."
        )


def apply_retention(
    facilitator,
    *,
    years: int | None = None,
    dry_run: bool = False,
    by=None,
    today: datetime.date | None = None,
) -> RetentionReport:
    """Anonymise every person of `facilitator` without contact for `years` (default: its retention)."""
    today = today or timezone.localdate()
    years = years if years is not None else retention_years(facilitator)
    due = due_for_anonymisation(facilitator, years=years, today=today)
    report = RetentionReport(
        people=len(due),
        records=sum(len(p.record_ids) for p in due),
        years=years,
        limit=years_before(today, years),
        dry_run=dry_run,
    )
    if dry_run:
        return report
    for person in due:
        anonymise_records(
            person.record_ids,
            by=by,
            today=today,
            detail=(
                f"anonymisation : aucun contact depuis le {person.last_contact:%d/%m/%Y} "
                f"(conservation {years} an(s))"
            ),
        )
    return report


class ErasureRefused(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def erase_participant(*, participant: Participant, by, reason: str) -> int:
    """Erasure on request (RGPD art. 17): anonymise the person now — the record and its merged duplicates.

    Facilitator admins only, with a reason (kept in the audit entry). Contracts and hours stay, anonymous:
    they are the facilitator's and its partners' accounting of the clause.
    """
    from clausier.organizations.access import is_facilitator_admin

    if not is_facilitator_admin(by) or by.current_organization.pk != participant.facilitator_id:
        raise ErasureRefused("Seul un administrateur du facilitateur peut effacer une personne.")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ErasureRefused("Indiquez le motif de l'effacement (demande de la personne, date…).")
    if participant.anonymised_on is not None:
        raise ErasureRefused("Cette personne est déjà anonymisée.")
    kept_id = participant.merged_into_id or participant.pk
    ids = list(
        Participant.objects.filter(Q(pk=kept_id) | Q(merged_into_id=kept_id)).values_list("pk", flat=True)
    )
    return anonymise_records(ids, by=by, detail=f"effacement à la demande : {reason}"[:500])
