"""Writes on participants: QPV residence (by geocoding or by hand) and merging duplicates.

Keyword-only, atomic, each writes its audit entry. `by` is the acting user (facilitator staff of the
participant's facilitator), or None for a system task such as `clausier geo resolve-qpv` where allowed.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.employment.actions import Refused
from clausier.employment.models import Contract
from clausier.geo import geocoder as geocoding
from clausier.geo.models import Qpv
from clausier.geo.qpv import QpvStatus, millesime_on, qpv_at
from clausier.organizations.access import current_organization
from clausier.organizations.models import OrganizationKind
from clausier.participants.models import (
    EligibilityAssessment,
    Outcome,
    Participant,
    QpvMethod,
    QpvResidence,
)

QPV_FIELDS = [
    "qpv_status",
    "qpv_code",
    "qpv_millesime",
    "qpv_method",
    "qpv_geocoding_score",
    "qpv_resolved_on",
    "qpv_reason",
]

__all__ = ["Refused", "merge_participants", "override_participant_qpv", "resolve_participant_qpv"]


def _check_staff(participant: Participant, by, *, system_allowed: bool) -> None:
    if by is None and system_allowed:
        return
    org = current_organization(by)
    if org is None or org.kind != OrganizationKind.FACILITATOR or org.pk != participant.facilitator_id:
        raise Refused("Seule l'équipe du facilitateur peut faire cette opération sur ce participant.")


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
        _store(participant, outcome, by=by, detail="QPV par géocodage de l'adresse")
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
        _store(participant, outcome, by=by, detail=f"QPV saisi à la main : {reason}")
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
        with transaction.atomic():
            for participant in chunk:
                outcome = outcomes[participant.pk]
                report.counts[str(outcome.status)] += 1
                if _store(participant, outcome, by=by, detail="QPV par géocodage (traitement par lot)"):
                    report.changed += 1
    return report


# --- Merging duplicates ---------------------------------------------------------------------------------------


def merge_participants(*, kept: Participant, duplicate: Participant, by) -> Participant:
    """Merge `duplicate` into `kept`: its contracts, assessments and outcomes move to `kept`.

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
        for label, model in (
            ("contracts", Contract),
            ("assessments", EligibilityAssessment),
            ("outcomes", Outcome),
        ):
            rows = model.objects.filter(participant=duplicate_row)
            moved[label] = [str(u) for u in rows.order_by("pk").values_list("uuid", flat=True)]
            rows.update(participant=kept_row)
        # Records merged earlier into the duplicate now point at the kept record.
        earlier = Participant.objects.filter(merged_into=duplicate_row)
        moved["merged_records"] = [str(u) for u in earlier.order_by("pk").values_list("uuid", flat=True)]
        earlier.update(merged_into=kept_row)

        duplicate_row.merged_into = kept_row
        Participant.objects.filter(pk=duplicate_row.pk).update(merged_into=kept_row)
        summary = ", ".join(
            f"{len(uuids)} {word}"
            for word, uuids in zip(
                ("contrat(s)", "validation(s) d'éligibilité", "sortie(s)", "fiche(s) déjà fusionnée(s)"),
                moved.values(),
                strict=True,
            )
        )
        record(
            action=Action.MERGE,
            obj=kept_row,
            by=by,
            changes={"merged": [None, str(duplicate_row.uuid)], **{k: [None, v] for k, v in moved.items()}},
            detail=f"fiche {duplicate_row.uuid} fusionnée dans celle-ci : {summary} déplacé(s)",
        )
        record(
            action=Action.MERGE,
            obj=duplicate_row,
            by=by,
            changes={"merged_into": [None, str(kept_row.uuid)]},
            detail=f"fusionnée dans la fiche {kept_row.uuid} : {summary} déplacé(s)",
        )
    duplicate.merged_into = kept_row
    return kept_row
