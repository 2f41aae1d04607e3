"""Subject access export (RGPD art. 15): everything Clausier holds about one person, in one file.

The file is a ZIP holding `donnees.json` (complete, machine-readable) and `donnees.html` (readable). The person
is the kept record and the duplicates merged into it, with their candidacies (those linked to a record, and
those not linked under the same identity: `anonymisation.candidacies_of`) and their proposals for job offers.
Each export writes an "export" audit entry.
"""

import datetime
import decimal
import io
import json
import uuid
import zipfile

from django.core import signing
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from clausier.audit.log import record
from clausier.audit.models import Action, AuditEntry
from clausier.employment.models import Contract, HoursRecord
from clausier.matching.actions import CANDIDACY_FIELDS
from clausier.matching.models import Proposal
from clausier.participants.actions import PARTICIPANT_FIELDS as FILE_FIELDS
from clausier.participants.models import EligibilityAssessment, Outcome, Participant, ParticipantProfile
from clausier.rgpd.anonymisation import candidacies_of, dropped_proposal_uuids

PARTICIPANT_FIELDS = (
    "uuid",
    *FILE_FIELDS,
    "qpv_status",
    "qpv_code",
    "qpv_millesime",
    "qpv_method",
    "qpv_resolved_on",
    "qpv_reason",
    "anonymised_on",
    "created_at",
    "updated_at",
)
CANDIDACY_EXPORT_FIELDS = (
    "uuid",
    *CANDIDACY_FIELDS,
    "status",
    "decided_at",
    "decline_reason",
    "created_at",
    "updated_at",
)


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return str(value)


def _row(obj, names) -> dict:
    data = {}
    for name in names:
        field = obj._meta.get_field(name)
        value = getattr(obj, name)
        if field.choices and value not in (None, ""):
            value = getattr(obj, f"get_{name}_display")()
        data[str(field.verbose_name) if name not in ("uuid",) else "identifiant"] = _plain(value)
    return data


def _user(user) -> str | None:
    return (user.get_full_name() or user.email) if user else None


def _log(transitions) -> list[dict]:
    """The transition log of a candidacy or a proposal."""
    return [
        {
            "date": timezone.localtime(t.at).isoformat(timespec="seconds"),
            "de": t.get_from_status_display() if t.from_status else "création",
            "à": t.get_to_status_display(),
            "par": _user(t.by),
            "au titre de": str(t.organization) if t.organization_id else None,
            "commentaire": t.comment,
        }
        for t in transitions
    ]


def person_records(participant: Participant) -> list[Participant]:
    kept_id = participant.merged_into_id or participant.pk
    return list(
        Participant.objects.filter(Q(pk=kept_id) | Q(merged_into_id=kept_id))
        .select_related("commune", "qualification_level", "prescriber", "merged_into")
        .order_by(F("merged_into_id").asc(nulls_first=True), "pk")  # the kept record first
    )


def subject_data(participant: Participant) -> dict:
    """Everything about the person, with French labels (JSON-ready)."""
    records = person_records(participant)
    ids = [r.pk for r in records]
    contracts = list(
        Contract.objects.filter(participant_id__in=ids)
        .select_related("lot__market", "company", "employer", "modality", "contract_type")
        .order_by("start_date", "pk")
    )
    hours = list(
        HoursRecord.objects.filter(contract__participant_id__in=ids)
        .select_related("statement")
        .order_by("contract_id", "month")
    )
    assessments = list(
        EligibilityAssessment.objects.filter(participant_id__in=ids)
        .select_related("prescriber", "validated_by")
        .prefetch_related("criterion_lines__criterion")
        .order_by("assessed_on", "pk")
    )
    outcomes = list(
        Outcome.objects.filter(participant_id__in=ids)
        .select_related("category", "contract")
        .order_by("observed_on")
    )
    profiles = {
        p.participant_id: p
        for p in ParticipantProfile.objects.filter(participant_id__in=ids).prefetch_related("criteria")
    }
    candidacies = list(
        candidacies_of(records)
        .select_related("prescriber", "proposed_by", "participant", "commune", "qualification_level")
        .prefetch_related(
            "wished_jobs", "criterion_lines__criterion", "transitions__by", "transitions__organization"
        )
        .order_by("created_at", "pk")
    )
    proposals = list(
        Proposal.objects.filter(participant_id__in=ids)
        .select_related("offer__company", "offer__lot__market", "offer__rome_job", "participant", "contract")
        .prefetch_related("transitions__by", "transitions__organization")
        .order_by("created_at", "pk")
    )
    uuids = [str(r.uuid) for r in records] + [
        str(o.uuid) for o in (*contracts, *assessments, *outcomes, *candidacies, *proposals)
    ]
    uuids += dropped_proposal_uuids(r.uuid for r in records)
    journal = (
        AuditEntry.objects.filter(object_id__in=uuids).select_related("actor", "organization").order_by("at")
    )
    hours_by_contract = {}
    for h in hours:
        hours_by_contract.setdefault(h.contract_id, []).append(
            {
                "mois": h.month.strftime("%m/%Y"),
                "heures travaillées": _plain(h.hours),
                "dont formation": _plain(h.training_hours),
                "heures comptées": _plain(h.counted_hours),
                "relevé": h.statement.get_status_display() if h.statement_id else None,
            }
        )
    return {
        "export": {
            "produit le": timezone.localtime().isoformat(timespec="seconds"),
            "responsable du traitement": str(participant.facilitator),
            "objet": "Droit d'accès (RGPD, article 15) : toutes les données de la personne dans Clausier.",
        },
        "fiches": [
            {
                **_row(r, PARTICIPANT_FIELDS),
                "fusionnée dans": str(r.merged_into.uuid) if r.merged_into_id else None,
                "profil à l'entrée": (
                    {
                        "date d'entrée retenue": _plain(profiles[r.pk].reference_date),
                        "âge à l'entrée": profiles[r.pk].age_at_entry,
                        "tranche d'âge": profiles[r.pk].get_age_band_display(),
                        "niveau de qualification": profiles[r.pk].get_qualification_band_display(),
                        "résidence en QPV": profiles[r.pk].get_qpv_flag_display(),
                        "critères à l'entrée": [str(c) for c in profiles[r.pk].criteria.all()],
                    }
                    if r.pk in profiles
                    else None
                ),
            }
            for r in records
        ],
        "validations d'éligibilité": [
            {
                "validée le": _plain(a.assessed_on),
                "valable jusqu'au": _plain(a.valid_until),
                "validée par": (a.validated_by.get_full_name() or a.validated_by.email)
                if a.validated_by
                else None,
                "prescripteur": str(a.prescriber) if a.prescriber_id else None,
                "avis motivé": a.reason,
                "critères": [
                    {
                        "critère": str(line.criterion),
                        "justificatif": line.get_evidence_kind_display(),
                        "date du justificatif": _plain(line.evidence_date),
                    }
                    for line in a.criterion_lines.all()
                ],
            }
            for a in assessments
        ],
        "contrats": [
            {
                "identifiant": str(c.uuid),
                "marché et lot": str(c.lot),
                "entreprise attributaire": str(c.company),
                "employeur": str(c.employer),
                "modalité": str(c.modality),
                "type de contrat": str(c.contract_type),
                "poste": c.job_title,
                "code ROME": c.rome_code,
                "début": _plain(c.start_date),
                "fin": _plain(c.end_date),
                "durée hebdomadaire": _plain(c.weekly_hours),
                "motif du placement sans éligibilité valide": c.eligibility_override_reason,
                "heures": hours_by_contract.get(c.pk, []),
            }
            for c in contracts
        ],
        "sorties": [
            {
                "moment": o.get_timing_display(),
                "situation": str(o.category),
                "précision": o.detail,
                "constatée le": _plain(o.observed_on),
            }
            for o in outcomes
        ],
        "candidatures": [
            {
                **_row(c, CANDIDACY_EXPORT_FIELDS),
                "prescripteur": str(c.prescriber),
                "proposée par": _user(c.proposed_by),
                "métiers recherchés": [str(job) for job in c.wished_jobs.all()],
                "critères proposés par le prescripteur": [
                    {
                        "critère": str(line.criterion),
                        "justificatif": line.get_evidence_kind_display(),
                        "date du justificatif": _plain(line.evidence_date),
                    }
                    for line in c.criterion_lines.all()
                ],
                "fiche participant": str(c.participant.uuid) if c.participant_id else None,
                "historique": _log(c.transitions.all()),
            }
            for c in candidacies
        ],
        "propositions à des offres d'emploi": [
            {
                "identifiant": str(p.uuid),
                "offre": p.offer.title,
                "code ROME": p.offer.rome_job.code,
                "entreprise": str(p.offer.company),
                "marché et lot": str(p.offer.lot),
                "fiche participant": str(p.participant.uuid),
                "état": p.get_status_display(),
                "disponible à partir du": _plain(p.available_from),
                "envoyée à l'entreprise le": _plain(p.sent_at),
                "réponse le": _plain(p.answered_at),
                "motif du refus": p.refusal_reason,
                "contrat": str(p.contract.uuid) if p.contract_id else None,
                "historique": _log(p.transitions.all()),
            }
            for p in proposals
        ],
        "journal (qui a consulté, exporté ou modifié ces données)": [
            {
                "date": timezone.localtime(e.at).isoformat(timespec="seconds"),
                "action": e.get_action_display(),
                "objet": e.object_type,
                "auteur": (e.actor.get_full_name() or e.actor.email) if e.actor else None,
                "au titre de": str(e.organization) if e.organization_id else None,
                "précision": e.detail,
            }
            for e in journal
        ],
    }


def _display(value) -> str | list[str]:
    """A JSON value as text for the HTML page: lists as lists of lines, objects as "key : value" lines."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return [f"{key} : {_inline(v)}" for key, v in value.items()]
    if isinstance(value, list):
        return [_inline(v) for v in value] or "—"
    return str(value)


def _inline(value) -> str:
    if isinstance(value, dict):
        return " ; ".join(f"{key} : {_inline(v)}" for key, v in value.items())
    if isinstance(value, list):
        return ", ".join(_inline(v) for v in value) or "—"
    return "—" if value is None or value == "" else str(value)


def subject_html(data: dict, person: str) -> str:
    sections = [
        {
            "title": title,
            "items": [
                [
                    {"key": key, "value": _display(v), "is_list": isinstance(_display(v), list)}
                    for key, v in item.items()
                ]
                for item in items
            ],
        }
        for title, items in data.items()
        if title != "export"
    ]
    header = [{"key": key, "value": value} for key, value in data["export"].items()]
    return render_to_string(
        "rgpd/subject_export.html", {"person": person, "header": header, "sections": sections}
    )


def subject_file(participant: Participant) -> bytes:
    """The ZIP file (JSON + HTML) of `subject_data`. Writes nothing."""
    data = subject_data(participant)
    html = subject_html(data, str(participant))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("donnees.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("donnees.html", html)
    return buffer.getvalue()


def log_export(*, participant: Participant, by, channel: str = "interface") -> None:
    """The "export" audit entry: who exported whose data, when."""
    record(
        action=Action.EXPORT,
        obj=participant,
        by=by,
        detail=f"export des données de la personne (droit d'accès), {channel}",
    )


def export_subject(*, participant: Participant, by, channel: str = "interface") -> bytes:
    """The file, and its "export" audit entry."""
    log_export(participant=participant, by=by, channel=channel)
    return subject_file(participant)


TICKET_SALT = "clausier.rgpd.subject-export"
TICKET_MAX_AGE = 300  # seconds


def ticket(participant: Participant, user) -> str:
    """A signed ticket to download the export just logged (this user, this person, a few minutes)."""
    return signing.dumps({"p": str(participant.uuid), "u": user.pk}, salt=TICKET_SALT)


def valid_ticket(value: str, participant: Participant, user) -> bool:
    try:
        data = signing.loads(value, salt=TICKET_SALT, max_age=TICKET_MAX_AGE)
    except signing.BadSignature:
        return False
    return data == {"p": str(participant.uuid), "u": user.pk}


def file_name(participant: Participant) -> str:
    return f"donnees-personne-{participant.uuid}.zip"
