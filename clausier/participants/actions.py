"""Writes on participants: the participant file, eligibility assessments, QPV residence (by geocoding or by
hand) and merging duplicates.

Keyword-only, atomic, each writes its audit entry. `by` is the acting user (facilitator staff of the
participant's facilitator), or None for a system task such as `clausier geo resolve-qpv` where allowed.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import CharField, Min
from django.utils import timezone

from clausier.audit.log import diff, record, snapshot
from clausier.audit.models import Action
from clausier.employment.actions import Refused
from clausier.employment.models import Contract
from clausier.geo import geocoder as geocoding
from clausier.geo.models import Qpv
from clausier.geo.qpv import QpvStatus, millesime_on, qpv_at
from clausier.matching.models import Candidacy, Proposal, ProposalStatus
from clausier.organizations.access import current_organization
from clausier.organizations.models import FacilitatorSettings, OrganizationKind
from clausier.participants.models import (
    AssessmentCriterion,
    EligibilityAssessment,
    Outcome,
    Participant,
    QpvMethod,
    QpvResidence,
)
from clausier.participants.profiles import refresh_profile, refresh_profiles
from clausier.utils.locking import check_version, claim

QPV_FIELDS = [
    "qpv_status",
    "qpv_code",
    "qpv_millesime",
    "qpv_method",
    "qpv_geocoding_score",
    "qpv_resolved_on",
    "qpv_reason",
]

__all__ = [
    "CriterionLine",
    "Refused",
    "create_participant",
    "merge_participants",
    "override_participant_qpv",
    "resolve_participant_qpv",
    "update_participant",
    "validate_eligibility",
]


def _check_staff(participant: Participant, by, *, system_allowed: bool) -> None:
    if by is None and system_allowed:
        return
    check_facilitator_staff(participant.facilitator_id, by, about=" sur ce participant")


# --- The participant file -------------------------------------------------------------------------------------

PARTICIPANT_FIELDS = (
    "first_name",
    "last_name",
    "birth_name",
    "birth_date",
    "sex",
    "email",
    "phone",
    "address",
    "postal_code",
    "commune",
    "qualification_level",
    "situation_at_entry",
    "entry_date",
    "prescriber",
    "referent",
    "informed_on",
)


def check_facilitator_staff(facilitator_id: int, by, *, about: str = "") -> None:
    """`by` acts for the facilitator `facilitator_id` (its staff), or the write is refused: the one staff check
    of the actions on people (participants, and matching's candidacies, offers and proposals)."""
    org = current_organization(by)
    if org is None or org.kind != OrganizationKind.FACILITATOR or org.pk != facilitator_id:
        raise Refused(f"Seule l'équipe du facilitateur peut faire cette opération{about}.")


def _check_prescriber(facilitator, prescriber) -> None:
    if prescriber is None:
        return
    if (
        prescriber.kind != OrganizationKind.PRESCRIBER
        or not prescriber.partnerships.filter(facilitator=facilitator).exists()
    ):
        raise Refused("Ce prescripteur ne fait pas partie de vos partenaires.")


def _clean_values(values: dict) -> dict:
    unknown = set(values) - set(PARTICIPANT_FIELDS)
    if unknown:
        raise TypeError(f"Champs inconnus : {sorted(unknown)}")
    return {
        name: (" ".join(value.split()) if isinstance(value, str) and name != "address" else value)
        for name, value in values.items()
    }


def create_participant(*, facilitator, by, **values) -> Participant:
    """A new participant of `facilitator`. Duplicates are looked for by the caller (`find_duplicates`)."""
    check_facilitator_staff(facilitator.pk, by)
    values = _clean_values(values)
    _check_prescriber(facilitator, values.get("prescriber"))
    with transaction.atomic():
        participant = Participant(facilitator=facilitator)
        for name, value in values.items():
            setattr(participant, name, "" if value is None and _is_text(name) else value)
        participant.save()
        record(action=Action.CREATE, obj=participant, by=by, detail="fiche participant créée")
        refresh_profile(participant)  # profile at entry, for reporting
    return participant


def _is_text(name: str) -> bool:
    field = Participant._meta.get_field(name)
    return isinstance(field, CharField) and not field.null


def update_participant(
    *, participant: Participant, by, expected_version: int | None = None, **values
) -> Participant:
    """Change the participant's file; the audit entry keeps the values before and after (the history).

    `expected_version` (the edit form's) refuses a stale submit (EditConflict, nothing saved).
    """
    _check_staff(participant, by, system_allowed=False)
    if participant.merged_into_id is not None:
        raise Refused("Cette fiche a été fusionnée dans une autre : modifiez la fiche conservée.")
    if participant.anonymised_on is not None:
        raise Refused("Cette fiche a été anonymisée : elle ne se modifie plus.")
    values = _clean_values(values)
    _check_prescriber(participant.facilitator, values.get("prescriber"))
    with transaction.atomic():
        row = Participant.objects.select_for_update().get(pk=participant.pk)
        before = snapshot(row)
        address_before = address_key(row)
        for name, value in values.items():
            setattr(row, name, "" if value is None and _is_text(name) else value)
        changes = diff(before, snapshot(row))
        changes.pop("normalized_name", None)
        check_version(row, expected_version)
        if changes:
            detail = "fiche participant modifiée"
            if QPV_INPUTS & set(changes):
                qpv_note = _requalify_qpv(row, address_changed=address_key(row) != address_before)
                if qpv_note:
                    changes = diff(before, snapshot(row))
                    changes.pop("normalized_name", None)
                    detail += f" ; {qpv_note}"
            claim(row, expected_version)
            row.save()
            record(action=Action.UPDATE, obj=row, by=by, changes=changes, detail=detail)
            refresh_profile(row)  # profile at entry (QPV included), for reporting
    return row


# --- The QPV resolution after a change of the file -----------------------------------------------------------

# What the stored QPV resolution depends on: the address sent to the geocoder and the reference date (the
# list in force then). `entry_date` is an input through `qpv_reference_date`.
QPV_INPUTS = {"address", "postal_code", "commune_id", "entry_date"}


def address_key(participant: Participant) -> tuple:
    """The address as the geocoder reads it (spacing and case aside)."""
    return (
        " ".join(participant.address.split()).casefold(),
        participant.postal_code.strip(),
        participant.commune_id,
    )


def _requalify_qpv(row: Participant, *, address_changed: bool) -> str:
    """Keep, recompute locally or reset the stored QPV residence after its inputs changed (unsaved).

    - Same address and same QPV list in force at the (new) reference date: the point and the perimeters are
      the same, so the result (automatic or manual) stands.
    - A manual override does not survive a new address, nor a reference date under another list (its code
      belongs to the list it was chosen in).
    - Otherwise, what needs no geocoding is settled here (no list in force at the new date, no address left);
      the rest is reset to "to be resolved" (empty status, no date): `clausier geo resolve-qpv` — or the
      "Déterminer" button — geocodes it again. The geocoder is never called from here (external service).

    Returns a note for the audit entry ("" when nothing changed).
    """
    if not row.qpv_status:
        return ""  # never resolved: still to be resolved
    day = qpv_reference_date(row)
    in_force = millesime_on(day)
    year = in_force.year if in_force else None
    if not address_changed:
        if row.qpv_status == QpvResidence.UNLOCATED:
            same_list = year is not None  # the address was not located: only "no list at all" changes that
        else:
            same_list = row.qpv_millesime == year  # no_list: None == None
        if same_list:
            return ""
    manual = row.qpv_method == QpvMethod.MANUAL
    why = "adresse modifiée" if address_changed else "date d'entrée modifiée (autre liste QPV en vigueur)"
    outcome = _no_list_outcome(day)
    if outcome is None and not row.address.strip():
        outcome = _unlocated("adresse manquante")
    if outcome is not None:
        values = {
            "qpv_status": str(outcome.status),
            "qpv_code": outcome.code,
            "qpv_millesime": outcome.millesime,
            "qpv_method": str(outcome.method),
            "qpv_geocoding_score": outcome.score,
            "qpv_resolved_on": timezone.localdate(),
            "qpv_reason": outcome.reason[:500],
        }
    else:
        values = dict.fromkeys(QPV_FIELDS)
        values.update(qpv_status="", qpv_code="", qpv_method="", qpv_reason=why)
    if all(getattr(row, name) == value for name, value in values.items() if name != "qpv_resolved_on"):
        return ""  # settled the same way again (e.g. still no list in force)
    for name, value in values.items():
        setattr(row, name, value)
    note = f"résidence en QPV {'recalculée' if outcome else 'à déterminer de nouveau'} ({why})"
    return f"saisie manuelle du QPV annulée, {note}" if manual else note


# --- Eligibility assessments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionLine:
    criterion: object  # reference.EligibilityCriterion
    evidence_kind: str  # AssessmentCriterion.EvidenceKind
    evidence_date: datetime.date | None = None


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` plus `months` months (the 31st becomes the month's last day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def validity_months(facilitator) -> int:
    """The facilitator's eligibility validity (FacilitatorSettings, 24 months by default)."""
    months = (
        FacilitatorSettings.objects.filter(facilitator=facilitator)
        .values_list("eligibility_validity_months", flat=True)
        .first()
    )
    return months or FacilitatorSettings._meta.get_field("eligibility_validity_months").default


def default_valid_until(facilitator, assessed_on: datetime.date) -> datetime.date:
    return add_months(assessed_on, validity_months(facilitator))


def validate_eligibility(
    *,
    participant: Participant,
    by,
    assessed_on: datetime.date,
    lines: list[CriterionLine],
    valid_until: datetime.date | None = None,
    prescriber=None,
    reason: str = "",
) -> EligibilityAssessment:
    """A NEW assessment of the participant's eligibility (re-validation never overwrites the previous ones).

    The validating member is `by`; `valid_until` defaults to `assessed_on` + the facilitator's validity.
    A criterion that requires a reason ("autre, sur avis motivé") requires the prescriber and the reason.
    Only the kind and date of the evidence are stored, never the document.
    """
    _check_staff(participant, by, system_allowed=False)
    if participant.merged_into_id is not None:
        raise Refused(
            "Cette fiche a été fusionnée dans une autre : validez l'éligibilité sur la fiche conservée."
        )
    reason = (reason or "").strip()
    errors = []
    if not lines:
        errors.append("Cochez au moins un critère d'éligibilité.")
    codes = [line.criterion.code for line in lines]
    if len(set(codes)) != len(codes):
        errors.append("Un critère ne peut être retenu qu'une fois.")
    valid_kinds = set(AssessmentCriterion.EvidenceKind.values)
    for line in lines:
        if line.evidence_kind not in valid_kinds:
            errors.append(f"Indiquez le justificatif du critère « {line.criterion.label} ».")
        if line.evidence_date and line.evidence_date > assessed_on:
            errors.append(
                f"Le justificatif du critère « {line.criterion.label} » ne peut pas être postérieur à la validation."
            )
    reasoned = [line.criterion for line in lines if line.criterion.requires_reason]
    if reasoned and prescriber is None:
        errors.append(f"Le critère « {reasoned[0].label} » exige le prescripteur qui a donné son avis.")
    if reasoned and not reason:
        errors.append(f"Le critère « {reasoned[0].label} » exige l'avis motivé du prescripteur.")
    valid_until = valid_until or default_valid_until(participant.facilitator, assessed_on)
    if valid_until < assessed_on:
        errors.append("La fin de validité doit être postérieure ou égale à la date de validation.")
    if errors:
        raise Refused(errors)
    _check_prescriber(participant.facilitator, prescriber)
    with transaction.atomic():
        assessment = EligibilityAssessment.objects.create(
            facilitator_id=participant.facilitator_id,
            participant=participant,
            assessed_on=assessed_on,
            valid_until=valid_until,
            validated_by=by if getattr(by, "is_authenticated", False) else None,
            prescriber=prescriber,
            reason=reason,
        )
        AssessmentCriterion.objects.bulk_create(
            AssessmentCriterion(
                facilitator_id=assessment.facilitator_id,
                assessment=assessment,
                criterion=line.criterion,
                evidence_kind=line.evidence_kind,
                evidence_date=line.evidence_date,
            )
            for line in lines
        )
        # The person's file changed: a program syncing participants with `updated_since` reads it again.
        Participant.objects.filter(pk=participant.pk).update(updated_at=timezone.now())
        changes = {
            key: [None, value]
            for key, value in snapshot(assessment).items()
            if key not in {"id", "facilitator_id"}
        }
        changes["criteria"] = [
            None,
            [
                {
                    "code": line.criterion.code,
                    "evidence_kind": line.evidence_kind,
                    "evidence_date": str(line.evidence_date) if line.evidence_date else None,
                }
                for line in lines
            ],
        ]
        record(
            action=Action.CREATE,
            obj=assessment,
            by=by,
            changes=changes,
            detail=f"éligibilité validée pour la fiche {participant.uuid}",
        )
        refresh_profile(participant)  # criteria at entry, for reporting
    return assessment


# --- QPV residence --------------------------------------------------------------------------------------------


def qpv_reference_date(
    participant: Participant, first_contract_start: datetime.date | None = None
) -> datetime.date:
    """The date residence is judged at: entry date, else the first contract's start, else today."""
    if participant.entry_date:
        return participant.entry_date
    if first_contract_start is None:
        first_contract_start = Contract.objects.filter(participant=participant).aggregate(
            first=Min("start_date")
        )["first"]
    return first_contract_start or timezone.localdate()


def postal_address(participant: Participant) -> str:
    """The address sent to the geocoder: street, postal code and commune."""
    commune = participant.commune.name if participant.commune_id else ""
    return " ".join(" ".join([participant.address, participant.postal_code, commune]).split())


@dataclass(frozen=True)
class QpvOutcome:
    """What to store on a participant (the fields of `QPV_FIELDS` without the date)."""

    status: str
    code: str = ""
    millesime: int | None = None
    method: str = QpvMethod.GEOCODING
    score: float | None = None
    reason: str = ""


def _from_lookup(lookup, score: float | None) -> QpvOutcome:
    if lookup.status == QpvStatus.NO_LIST and lookup.millesime is not None:  # list in force, not imported
        return QpvOutcome(
            QpvResidence.NOT_LOADED, millesime=lookup.millesime, score=score, reason=lookup.message
        )
    if lookup.status == QpvStatus.NO_LIST:
        return QpvOutcome(
            QpvResidence.NO_LIST, millesime=lookup.millesime, score=score, reason=lookup.message
        )
    status = QpvResidence.INSIDE if lookup.status == QpvStatus.INSIDE else QpvResidence.OUTSIDE
    return QpvOutcome(status, code=lookup.code, millesime=lookup.millesime, score=score)


def _no_list_outcome(day: datetime.date) -> QpvOutcome | None:
    """Before any QPV list: unknown without geocoding anything (nothing to compare the point with)."""
    if millesime_on(day) is None:
        return _from_lookup(qpv_at(0, 0, day), None)
    return None


def _unlocated(reason: str, score: float | None = None) -> QpvOutcome:
    return QpvOutcome(QpvResidence.UNLOCATED, score=score, reason=reason)


def _outcome_for(result: geocoding.GeocodedAddress, day: datetime.date) -> QpvOutcome:
    if not result.usable:
        return _unlocated(result.reason, result.score)
    return _from_lookup(qpv_at(result.lon, result.lat, day), result.score)


def _store(participant: Participant, outcome: QpvOutcome, *, by, detail: str) -> bool:
    """Write the outcome (and its audit entry) if it changes something; True when written."""
    values = {
        "qpv_status": str(outcome.status),
        "qpv_code": outcome.code,
        "qpv_millesime": outcome.millesime,
        "qpv_method": str(outcome.method),
        "qpv_geocoding_score": outcome.score,
        "qpv_reason": outcome.reason[:500],
    }
    before = {name: getattr(participant, name) for name in QPV_FIELDS}
    changes = {name: [before[name], value] for name, value in values.items() if before[name] != value}
    if not changes:
        return False
    today = timezone.localdate()
    changes["qpv_resolved_on"] = [
        str(before["qpv_resolved_on"]) if before["qpv_resolved_on"] else None,
        str(today),
    ]
    for name, value in values.items():
        setattr(participant, name, value)
    participant.qpv_resolved_on = today
    participant.updated_at = timezone.now()
    Participant.objects.filter(pk=participant.pk).update(
        **values, qpv_resolved_on=today, updated_at=participant.updated_at
    )
    record(action=Action.UPDATE, obj=participant, by=by, changes=changes, detail=detail)
    return True


def resolve_participant_qpv(
    participant: Participant, *, geocoder: geocoding.Geocoder, by, overwrite_manual: bool = False
) -> Participant:
    """Geocode the participant's address and store the QPV of the list in force at the reference date.

    A manual override is kept unless `overwrite_manual`. The geocoder may raise `GeocoderError`
    (service unreachable): nothing is written then.
    """
    _check_staff(participant, by, system_allowed=True)
    if participant.qpv_method == QpvMethod.MANUAL and not overwrite_manual:
        return participant
    day = qpv_reference_date(participant)
    outcome = _no_list_outcome(day)
    if outcome is None:
        address = postal_address(participant)
        if not participant.address.strip():
            outcome = _unlocated("adresse manquante")
        else:
            outcome = _outcome_for(geocoder.geocode(address, key=str(participant.uuid)), day)
    with transaction.atomic():
        if _store(participant, outcome, by=by, detail="QPV par géocodage de l'adresse"):
            refresh_profile(participant)  # QPV at entry, for reporting
    return participant


def override_participant_qpv(
    participant: Participant, *, qpv_code: str | None, reason: str, by
) -> Participant:
    """Set by hand that the participant lives in QPV `qpv_code` (or in none: `qpv_code=None`), with a reason."""
    _check_staff(participant, by, system_allowed=False)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Refused("Indiquez le motif : il est obligatoire pour une saisie manuelle du QPV.")
    day = qpv_reference_date(participant)
    millesime = millesime_on(day)
    if millesime is None:
        raise Refused(
            f"Aucune liste QPV n'était en vigueur le {day:%d/%m/%Y} (date d'entrée) : "
            "la résidence en QPV ne peut pas être renseignée."
        )
    code = (qpv_code or "").strip().upper()
    if code:
        if not Qpv.objects.filter(millesime=millesime.year, code=code).exists():
            raise Refused(f"Le QPV {code} ne figure pas dans la liste {millesime.year} importée.")
        outcome = QpvOutcome(
            QpvResidence.INSIDE, code=code, millesime=millesime.year, method=QpvMethod.MANUAL, reason=reason
        )
    else:
        outcome = QpvOutcome(
            QpvResidence.OUTSIDE, millesime=millesime.year, method=QpvMethod.MANUAL, reason=reason
        )
    with transaction.atomic():
        if _store(participant, outcome, by=by, detail=f"QPV saisi à la main : {reason}"):
            refresh_profile(participant)  # QPV at entry, for reporting
    return participant


@dataclass
class QpvBatchReport:
    total: int = 0
    counts: Counter = field(default_factory=Counter)  # by QpvResidence value
    changed: int = 0
    manual_kept: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        labels = {
            QpvResidence.INSIDE: "en QPV",
            QpvResidence.OUTSIDE: "hors QPV",
            QpvResidence.NO_LIST: "sans liste QPV en vigueur à leur date d'entrée",
            QpvResidence.UNLOCATED: "à l'adresse non localisée",
            QpvResidence.NOT_LOADED: "dont les périmètres QPV ne sont pas importés",
        }
        parts = [
            f"{self.counts[value]} {labels[value]}" for value in QpvResidence.values if self.counts[value]
        ]
        text = f"{self.total} participant(s) : " + (", ".join(parts) or "aucun traité")
        text += f" ; {self.changed} fiche(s) modifiée(s)"
        if self.manual_kept:
            text += f", {self.manual_kept} saisie(s) manuelle(s) conservée(s)"
        if self.failed:
            text += f", {self.failed} en erreur (géocodage indisponible)"
        return text + "."


def resolve_facilitator_qpv(
    *,
    facilitator,
    geocoder: geocoding.Geocoder,
    by=None,
    chunk_size: int | None = None,
    only_unresolved=False,
) -> QpvBatchReport:
    """Resolve the QPV of every participant of `facilitator` through the geocoder's batch endpoint.

    One geocoding request and one transaction per chunk: a chunk that fails (service unreachable) writes
    nothing and the next ones go on. Records merged into another and manual overrides are left alone.
    """
    chunk_size = chunk_size or geocoding.batch_size()
    report = QpvBatchReport()
    participants = Participant.objects.filter(facilitator=facilitator).active_records()
    if only_unresolved:
        participants = participants.filter(
            qpv_status__in=["", QpvResidence.UNLOCATED, QpvResidence.NOT_LOADED]
        )
    report.manual_kept = participants.filter(qpv_method=QpvMethod.MANUAL).count()
    participants = (
        participants.exclude(qpv_method=QpvMethod.MANUAL)
        .select_related("commune")
        .annotate(first_start=Min("contracts__start_date"))
        .order_by("pk")
    )
    last_pk = 0
    while True:
        chunk = list(participants.filter(pk__gt=last_pk)[:chunk_size])
        if not chunk:
            break
        last_pk = chunk[-1].pk
        report.total += len(chunk)
        outcomes: dict[int, QpvOutcome] = {}
        to_geocode: list[tuple[Participant, datetime.date]] = []
        for participant in chunk:
            day = qpv_reference_date(participant, participant.first_start)
            outcome = _no_list_outcome(day)
            if outcome is None and not participant.address.strip():
                outcome = _unlocated("adresse manquante")
            if outcome is None:
                to_geocode.append((participant, day))
            else:
                outcomes[participant.pk] = outcome
        try:
            results = geocoder.geocode_many(
                [geocoding.AddressQuery(str(p.uuid), postal_address(p)) for p, _ in to_geocode]
            )
        except geocoding.GeocoderError as exc:
            report.failed += len(chunk)
            report.errors.append(str(exc))
            continue
        for (participant, day), result in zip(to_geocode, results, strict=True):
            outcomes[participant.pk] = _outcome_for(result, day)
        changed = []
        with transaction.atomic():
            for participant in chunk:
                outcome = outcomes[participant.pk]
                report.counts[str(outcome.status)] += 1
                if _store(participant, outcome, by=by, detail="QPV par géocodage (traitement par lot)"):
                    report.changed += 1
                    changed.append(participant.pk)
            refresh_profiles(changed)  # QPV at entry, for reporting (one batch)
    return report


# --- Merging duplicates ---------------------------------------------------------------------------------------


def merge_participants(*, kept: Participant, duplicate: Participant, by) -> Participant:
    """Merge `duplicate` into `kept`: its contracts, assessments, outcomes, candidacies and proposals move to
    `kept`.

    One proposal per offer and person (`proposal_unique_per_offer`): when both records were proposed for the
    same offer, the proposal furthest along is kept (`_PROPOSAL_PROGRESS`; the kept record's on a tie) and
    the other is deleted with its transitions, written in the merge entry and in a "delete" entry of its own.

    The duplicate stays, pointing at `kept` (`merged_into`), so that indicators count the person once and
    the merge can be reviewed in the audit log.
    """
    _check_staff(kept, by, system_allowed=False)
    if kept.pk == duplicate.pk:
        raise Refused("Une fiche ne peut pas être fusionnée avec elle-même.")
    with transaction.atomic():
        locked = {
            p.pk: p for p in Participant.objects.select_for_update().filter(pk__in=[kept.pk, duplicate.pk])
        }
        kept_row, duplicate_row = locked[kept.pk], locked[duplicate.pk]
        if kept_row.facilitator_id != duplicate_row.facilitator_id:
            raise Refused("Impossible de fusionner des fiches de deux facilitateurs différents.")
        if kept_row.merged_into_id is not None:
            raise Refused(
                "La fiche à conserver a elle-même été fusionnée dans une autre : choisissez la fiche de référence."
            )
        if duplicate_row.merged_into_id is not None:
            raise Refused("Cette fiche a déjà été fusionnée dans une autre.")

        moved = {}
        now = (
            timezone.now()
        )  # `update()` skips auto_now: stamp the moved rows (the API's `updated_since` sync)
        for label, model in (
            ("contracts", Contract),
            ("assessments", EligibilityAssessment),
            ("outcomes", Outcome),
            ("candidacies", Candidacy),
        ):
            rows = model.objects.filter(participant=duplicate_row)
            moved[label] = [str(u) for u in rows.order_by("pk").values_list("uuid", flat=True)]
            rows.update(participant=kept_row, updated_at=now)
        moved["proposals"], dropped = _merge_proposals(kept_row, duplicate_row, by=by)
        # Records merged earlier into the duplicate now point at the kept record.
        earlier = Participant.objects.filter(merged_into=duplicate_row)
        moved["merged_records"] = [str(u) for u in earlier.order_by("pk").values_list("uuid", flat=True)]
        earlier.update(merged_into=kept_row, updated_at=now)

        duplicate_row.merged_into = kept_row
        Participant.objects.filter(pk=duplicate_row.pk).update(merged_into=kept_row, updated_at=now)
        Participant.objects.filter(pk=kept_row.pk).update(updated_at=now)
        refresh_profiles([kept_row.pk, duplicate_row.pk])  # entry = the kept record's first contract now
        summary = ", ".join(
            f"{len(uuids)} {word}"
            for word, uuids in zip(
                (
                    "contrat(s)",
                    "validation(s) d'éligibilité",
                    "sortie(s)",
                    "candidature(s)",
                    "proposition(s)",
                    "fiche(s) déjà fusionnée(s)",
                ),
                moved.values(),
                strict=True,
            )
        )
        summary += " déplacé(s)"
        if dropped:
            summary += (
                f" ; {len(dropped)} proposition(s) en double sur la même offre supprimée(s), "
                "la plus avancée conservée"
            )
        changes = {"merged": [None, str(duplicate_row.uuid)], **{k: [None, v] for k, v in moved.items()}}
        if dropped:
            changes["proposals_dropped"] = [None, dropped]
        record(
            action=Action.MERGE,
            obj=kept_row,
            by=by,
            changes=changes,
            detail=f"fiche {duplicate_row.uuid} fusionnée dans celle-ci : {summary}",
        )
        record(
            action=Action.MERGE,
            obj=duplicate_row,
            by=by,
            changes={"merged_into": [None, str(kept_row.uuid)]},
            detail=f"fusionnée dans la fiche {kept_row.uuid} : {summary}",
        )
    duplicate.merged_into = kept_row
    return kept_row


# Which of two proposals of one person for the same offer a merge keeps: the one furthest along. The company's
# answer stands over a proposal still waiting (a refused person is not proposed again for the offer:
# `matching.actions.shortlist`); a withdrawn proposal never wins.
_PROPOSAL_PROGRESS = [
    ProposalStatus.HIRED,
    ProposalStatus.ACCEPTED,
    ProposalStatus.REFUSED,
    ProposalStatus.SENT,
    ProposalStatus.SHORTLISTED,
    ProposalStatus.WITHDRAWN,
]


def _merge_proposals(kept: Participant, duplicate: Participant, *, by) -> tuple[list[str], list[dict]]:
    """Move the duplicate's proposals to `kept`; of two for the same offer, keep the one furthest along and
    delete the other (with its transitions). Returns (uuids moved, proposals dropped as logged)."""
    rows = list(
        Proposal.objects.select_for_update().filter(participant_id__in=[kept.pk, duplicate.pk]).order_by("pk")
    )
    kept_by_offer = {p.offer_id: p for p in rows if p.participant_id == kept.pk}
    moving, dropped = [], []
    for proposal in (p for p in rows if p.participant_id == duplicate.pk):
        other = kept_by_offer.get(proposal.offer_id)
        if other is None:
            moving.append(proposal)
            continue
        rank = _PROPOSAL_PROGRESS.index
        winner, loser = (proposal, other) if rank(proposal.status) < rank(other.status) else (other, proposal)
        if winner is proposal:
            moving.append(proposal)
        dropped.append(
            {
                "proposal": str(loser.uuid),
                "offer": str(loser.offer.uuid),
                "status": loser.status,
                "kept": str(winner.uuid),
                "kept_status": winner.status,
            }
        )
        record(
            action=Action.DELETE,
            obj=loser,
            by=by,
            changes={"status": [loser.status, None]},
            detail=(
                f"proposition supprimée à la fusion des fiches : doublon de la proposition {winner.uuid} "
                f"({winner.get_status_display().lower()}) sur la même offre"
            ),
        )
        loser.delete()  # its transitions go with it (the audit log keeps them)
    Proposal.objects.filter(pk__in=[p.pk for p in moving]).update(participant=kept)
    return [str(p.uuid) for p in moving], dropped
