"""Anonymising participants: the retention rule (2 years without contact, CNIL délibération 2023-095) and
erasure on request.

A person is a kept record and the duplicates merged into it: they are anonymised together, on the latest
contact of any of them. Last contact = the latest of: a contract's end (a running contract is a contact
today), a month of declared hours, an eligibility assessment, an outcome, the entry date, the last update
of the record, the last activity of a candidacy linked to a record or of a proposal of a record for a job
offer (matching: a change or a transition of its log).

A candidacy declined without a participant record is a person of its own: anonymised once its last activity
(change, decision, transition) is older than the retention period. A candidacy still to review never is.

What anonymising does, per record:
- identity and contact fields get neutral values (names "Anonyme", no e-mail, phone, address, postal code,
  birth name, referent); the birth date becomes the 1st of January or the 31st of December of the birth
  year, whichever keeps the age at entry (so the age band of every indicator stays);
- kept for the indicators: sex, birth year, commune, qualification, situation at entry, dates of entry,
  prescriber, QPV residence (status and code), contracts, hours, assessments' criteria, outcomes' categories;
- dropped: evidence kinds and dates of the criteria, reasons (assessments, placements without eligibility,
  manual QPV), outcome details;
- the person's candidacies (matching) get the same neutral identity and contact, lose the prescriber's
  opinion, the decline reason, the comments of their log and the criteria the prescriber proposed (only an
  assessment's criteria count in the indicators); kept: sex, birth year, commune, qualification, situation,
  availability, jobs wished, prescriber, status and dates. The person's proposals lose the company's refusal
  reason and the comments of their log; kept: offer, status and dates;
- the audit log: the names, reasons and other personal values already written in the entries about the
  person (the record, its assessments, outcomes, contracts and hours, its candidacies and proposals —
  including a proposal deleted as a double at a merge — where the free text after " : " in a detail goes
  too) are replaced by "[anonymisé]". This is the one sanctioned rewrite of the append-only log: keeping
  identities there would defeat the retention rule.
- a new audit entry on each record and candidacy says who anonymised it, when and why (the field names,
  never the values).
"""

import datetime
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from clausier.audit.log import record
from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import Contract, HoursRecord
from clausier.matching.models import (
    Candidacy,
    CandidacyCriterion,
    CandidacyStatus,
    CandidacyTransition,
    Proposal,
    ProposalTransition,
)
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
from clausier.utils.names import normalize_name

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
CANDIDACY_VALUES = {
    **{name: value for name, value in IDENTITY_VALUES.items() if name != "qpv_reason"},
    "prescriber_opinion": "",
    "decline_reason": "",
}
# Keys whose values are redacted in the audit entries about the person.
REDACTED_KEYS = {
    *IDENTITY_VALUES,
    *CANDIDACY_VALUES,
    "refusal_reason",
    "comment",
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
    """Every person of the facilitator not yet anonymised, with their last contact (eight queries)."""
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
    # Matching: a candidacy linked to a record, a proposal of a record (a change or a transition of its log).
    for model in (Candidacy, Proposal):
        rows = (
            model.objects.filter(facilitator=facilitator, participant__isnull=False)
            .values("participant_id")
            .annotate(changed=Max("updated_at"), moved=Max("transitions__at"))
            .values_list("participant_id", "changed", "moved")
        )
        touch_all((pk, _day(moment)) for pk, *moments in rows for moment in moments)
    return people


def _day(moment: datetime.datetime | None) -> datetime.date | None:
    return timezone.localdate(moment) if moment else None


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


ANONYMISED_CANDIDACY = Q(first_name=NEUTRAL, last_name=NEUTRAL)


def candidacies_due(facilitator, *, years: int | None = None, today: datetime.date | None = None):
    """{candidacy id: last activity} of the candidacies declined without a participant record and without
    activity (change, decision, transition) for `years` (the facilitator's retention by default)."""
    today = today or timezone.localdate()
    years = years if years is not None else retention_years(facilitator)
    limit = years_before(today, years)
    rows = (
        Candidacy.objects.filter(
            facilitator=facilitator, status=CandidacyStatus.DECLINED, participant__isnull=True
        )
        .exclude(ANONYMISED_CANDIDACY)
        .annotate(moved=Max("transitions__at"))
        .values_list("pk", "updated_at", "decided_at", "moved")
    )
    due = {}
    for pk, *moments in rows:
        last = max(_day(moment) for moment in moments if moment)
        if last < limit:
            due[pk] = last
    return dict(sorted(due.items()))


def candidacies_of(records: list[Participant]):
    """The person's candidacies: those linked to one of its records, and those not linked under the same
    identity (same name, as normalised, and birth date: a candidacy declined before the record existed)."""
    ids = [r.pk for r in records]
    identities = {(r.normalized_name, r.birth_date) for r in records if r.anonymised_on is None}
    same_identity = [
        pk
        for pk, first_name, last_name, birth_date in Candidacy.objects.filter(
            facilitator_id__in={r.facilitator_id for r in records},
            participant__isnull=True,
            birth_date__in={birth_date for _, birth_date in identities},
        )
        .exclude(ANONYMISED_CANDIDACY)
        .values_list("pk", "first_name", "last_name", "birth_date")
        if (normalize_name(first_name, last_name), birth_date) in identities
    ]
    return Candidacy.objects.filter(Q(participant_id__in=ids) | Q(pk__in=same_identity))


def dropped_proposal_uuids(record_uuids) -> list[str]:
    """The proposals deleted as doubles when records of the person were merged (`merge_participants`)."""
    entries = AuditEntry.objects.filter(
        object_id__in=[str(u) for u in record_uuids], action=Action.MERGE
    ).values_list("changes", flat=True)
    return [
        item["proposal"]
        for changes in entries
        if isinstance(changes, dict)
        for item in (changes.get("proposals_dropped") or [None, []])[1]
    ]


# --- Anonymising ---------------------------------------------------------------------------------------------


def anonymise_records(
    record_ids: list[int],
    *,
    by,
    detail: str,
    today: datetime.date | None = None,
    candidacy_ids: list[int] | None = None,
) -> int:
    """Anonymise these participant records (one person: a kept record and its duplicates), their candidacies
    and proposals, and the candidacies `candidacy_ids` (not linked, the same person's). Atomic."""
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
        candidacies = list(
            Candidacy.objects.select_for_update()
            .filter(Q(participant_id__in=ids) | Q(pk__in=candidacy_ids or []))
            .order_by("pk")
        )
        related_uuids.update({str(c.uuid): Candidacy for c in candidacies})
        related_uuids.update(dict.fromkeys(dropped_proposal_uuids(row.uuid for row in rows), Proposal))
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
        proposals = Proposal.objects.filter(participant_id__in=ids)
        proposals.update(refusal_reason="")
        ProposalTransition.objects.filter(proposal__in=proposals).update(comment="")
        _redact_candidacies(candidacies)
        _redact_audit({str(row.uuid): str(row) for row in rows}, related_uuids)
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
        _record_candidacies(candidacies, by=by, detail=detail)
    return len(rows)


def anonymise_candidacies(candidacy_ids: list[int], *, by, detail: str) -> int:
    """Anonymise candidacies on their own (declined without a participant record: the retention rule)."""
    with transaction.atomic():
        candidacies = list(
            Candidacy.objects.select_for_update()
            .filter(pk__in=candidacy_ids)
            .exclude(ANONYMISED_CANDIDACY)
            .order_by("pk")
        )
        _redact_candidacies(candidacies)
        _redact_audit({}, {str(c.uuid): Candidacy for c in candidacies})
        _record_candidacies(candidacies, by=by, detail=detail)
    return len(candidacies)


def _redact_candidacies(candidacies: list[Candidacy]) -> None:
    """Neutral identity and contact, no opinion, reason, comment or proposed criterion (the new audit
    entries: `_record_candidacies`, once the older ones are redacted)."""
    for candidacy in candidacies:
        for name, value in CANDIDACY_VALUES.items():
            setattr(candidacy, name, value)
        candidacy.birth_date = age_preserving_birth_date(
            candidacy.birth_date, timezone.localdate(candidacy.created_at)
        )
        candidacy.save(update_fields=[*CANDIDACY_VALUES, "birth_date", "updated_at"])
    CandidacyCriterion.objects.filter(candidacy__in=candidacies).delete()
    CandidacyTransition.objects.filter(candidacy__in=candidacies).update(comment="")


def _record_candidacies(candidacies: list[Candidacy], *, by, detail: str) -> None:
    changed = sorted([*CANDIDACY_VALUES, "birth_date", "criteria"])
    for candidacy in candidacies:
        record(
            action=Action.UPDATE,
            obj=candidacy,
            by=by,
            changes={"anonymised_fields": [None, changed]},
            detail=detail,
        )


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
        (Proposal, "participant_id__in"),
    ):
        for value in model.objects.filter(**{lookup: ids}).values_list("uuid", flat=True):
            uuids[str(value)] = model
    return uuids


def _redact(changes):
    if not isinstance(changes, dict):
        return changes
    return {key: ([REDACTED, REDACTED] if key in REDACTED_KEYS else value) for key, value in changes.items()}


# Matching entries end their detail with free text (a decline or refusal reason, a comment) after " : ".
FREE_TEXT_DETAILS = (Candidacy, Proposal)


def _redact_detail(detail: str) -> str:
    head, sep, _ = detail.partition(" : ")
    return f"{head}{sep}{REDACTED}" if sep else detail


def _redact_audit(object_ids: dict[str, str], related_uuids: dict[str, type]) -> None:
    """Replace the person's names and reasons in the audit entries already written about them.

    `object_ids`: the records' uuids and their (neutral) names; `related_uuids`: the other objects about the
    person and their model. The audit queryset refuses `update()` (append-only for the application); the
    retention rule is the one exception, written here with the base QuerySet's update.
    """
    object_ids = dict(object_ids)
    for uuid, model in related_uuids.items():
        object_ids[uuid] = f"{model._meta.verbose_name} (personne anonymisée)"
    free_text = {uuid for uuid, model in related_uuids.items() if model in FREE_TEXT_DETAILS}
    entries = AuditEntry.objects.filter(object_id__in=list(object_ids)).values_list(
        "pk", "object_id", "changes", "detail"
    )
    for pk, object_id, changes, detail in entries.iterator(chunk_size=500):
        models.QuerySet.update(
            AuditEntry.objects.filter(pk=pk),
            object_repr=object_ids[object_id][:255],
            changes=_redact(changes),
            detail=_redact_detail(detail) if object_id in free_text else detail,
        )


# --- Entry points --------------------------------------------------------------------------------------------


@dataclass
class RetentionReport:
    people: int = 0
    records: int = 0
    candidacies: int = 0  # declined without a participant record
    years: int = DEFAULT_RETENTION_YEARS
    limit: datetime.date | None = None
    dry_run: bool = False

    def summary(self) -> str:
        verb = "seraient anonymisées" if self.dry_run else "anonymisée(s)"
        text = (
            f"{self.people} personne(s) sans contact depuis le {self.limit:%d/%m/%Y} "
            f"({self.years} an(s)) {verb} — {self.records} fiche(s), doublons fusionnés compris."
        )
        if self.candidacies:
            text += f" {self.candidacies} candidature(s) refusée(s) sans fiche participant {verb} aussi."
        return text


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
    declined = candidacies_due(facilitator, years=years, today=today)
    report = RetentionReport(
        people=len(due),
        records=sum(len(p.record_ids) for p in due),
        candidacies=len(declined),
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
    for candidacy_id, last in declined.items():
        anonymise_candidacies(
            [candidacy_id],
            by=by,
            detail=(
                f"anonymisation : candidature refusée, aucune activité depuis le {last:%d/%m/%Y} "
                f"(conservation {years} an(s))"
            ),
        )
    return report


class ErasureRefused(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def erase_participant(*, participant: Participant, by, reason: str) -> int:
    """Erasure on request (RGPD art. 17): anonymise the person now — the record and its merged duplicates,
    their candidacies and proposals, and the person's candidacies not linked to a record (`candidacies_of`).

    Facilitator admins only, with a reason (kept in the audit entry). Contracts and hours stay, anonymous:
    they are the facilitator's and its partners' accounting of the clause. A candidacy of the person still to
    review refuses the erasure: decline it first (validating it would bring the person back).
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
    records = list(Participant.objects.filter(Q(pk=kept_id) | Q(merged_into_id=kept_id)))
    candidacies = candidacies_of(records)
    if candidacies.filter(status=CandidacyStatus.PROPOSED).exists():
        raise ErasureRefused(
            "Une candidature de cette personne attend votre décision : refusez-la d'abord, "
            "puis effacez la personne."
        )
    return anonymise_records(
        [r.pk for r in records],
        by=by,
        detail=f"effacement à la demande : {reason}"[:500],
        candidacy_ids=list(candidacies.filter(participant__isnull=True).values_list("pk", flat=True)),
    )
