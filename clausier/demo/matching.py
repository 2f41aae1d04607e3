"""The matching spaces of the demo logins, not empty: candidacies of the demo prescriber to review,
validated (linked to a candidate already on file) and declined; open job offers on running lots of the demo
company (ROME codes, e.g. F1703 Maçon / Maçonne); proposals shortlisted, sent, accepted and refused.

No hire: no contract, no participant record is added, the figures do not move.
"""

import datetime
from decimal import Decimal

from django.db import models
from django.utils import timezone

from clausier.demo import data
from clausier.demo.helpers import add_months, dated
from clausier.demo.reference import POSTAL_CODES, ensure_rome_jobs
from clausier.matching.models import (
    Candidacy,
    CandidacyCriterion,
    CandidacyStatus,
    CandidacyTransition,
    CandidacyWishedJob,
    JobOffer,
    OfferStatus,
    Proposal,
    ProposalStatus,
    ProposalTransition,
)
from clausier.organizations.models import Organization, User
from clausier.participants.models import AssessmentCriterion, Participant, Sex
from clausier.procurement.models import Lot


class MatchingMixin:
    """Matching records (`TerritoryBuilder`'s last step, with the demo users only).

    Reads `today`, `rng`, `ref`, `communes`, `facilitator`, `prescribers`, `users`, `top_company`.
    """

    def _matching(self) -> None:
        """A few matching records in every space of the demo logins, all in the last weeks: the prescriber's
        candidacies (to review, validated, declined), open offers on running lots of the demo company, and
        proposals at every step but the hire (a hire would add a contract and move the figures)."""
        rng, today, fac = self.rng, self.today, self.facilitator
        jobs = ensure_rome_jobs()
        staff, company_user = self.users["membre"], self.users["entreprise"]
        prescriber_user = self.users["prescripteur"]
        prescriber = next(o for o, cat, _ in self.prescribers if cat == "mission_locale")
        company = self.top_company
        evidence = AssessmentCriterion.EvidenceKind
        candidacies, criteria, candidacy_log, wished = [], [], [], []

        def moment(days_ago: int) -> datetime.datetime:
            day = today - datetime.timedelta(days=days_ago)
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time(rng.randint(8, 17), 0)))

        def candidacy(values: dict, created: datetime.datetime, lines, jobs_wished, decision=None):
            row = Candidacy(
                facilitator=fac,
                prescriber=prescriber,
                proposed_by=prescriber_user,
                referent=prescriber_user.get_full_name(),
                informed_on=created.date(),
                **values,
            )
            candidacies.append((row, created))
            criteria.extend((row, code, kind, created.date()) for code, kind in lines)
            wished.append((row, jobs_wished))
            candidacy_log.append(
                (row, "", CandidacyStatus.PROPOSED, prescriber_user, prescriber, created, "")
            )
            if decision:
                status, by, when, comment = decision
                row.status, row.decided_at, row.decided_by = status, when, by
                if status == CandidacyStatus.DECLINED:
                    row.decline_reason = comment
                candidacy_log.append((row, CandidacyStatus.PROPOSED, status, by, fac, when, comment))
            return row

        def new_person(age: int) -> dict:
            sex = rng.choice([Sex.MALE, Sex.FEMALE])
            names = data.MALE_FIRST_NAMES if sex == Sex.MALE else data.FEMALE_FIRST_NAMES
            commune = self.communes[data.TOULOUSE]
            return {
                "first_name": rng.choice(names),
                "last_name": rng.choice(data.SURNAMES),
                "birth_date": today - datetime.timedelta(days=age * 365 + rng.randint(30, 330)),
                "sex": sex,
                "phone": "06 " + " ".join(str(rng.randint(10, 99)) for _ in range(4)),
                "address": f"{rng.randint(1, 120)} {rng.choice(data.STREETS)}",
                "postal_code": rng.choice(POSTAL_CODES[commune.insee_code]),
                "commune": commune,
                "situation": "young",
                "qualification_level": self.ref.qualification["infra3"],
                "available_from": today + datetime.timedelta(days=rng.randint(7, 21)),
            }

        # To review: two young people the Mission locale proposed this week.
        candidacy(
            {
                **new_person(19),
                "prescriber_opinion": "Motivé(e) par les métiers du bâtiment, stage de 3e en maçonnerie.",
            },
            moment(2),
            [("young_unqualified", evidence.PRESCRIBER_CERTIFICATE), ("qpv_resident", evidence.ADDRESS)],
            [jobs["F1703"], jobs["F1704"]],
        )
        candidacy(
            {
                **new_person(23),
                "prescriber_opinion": (
                    "Hébergement d'urgence jusqu'au mois dernier, accompagnement par la Mission locale depuis "
                    "un an : ponctualité et motivation constatées, souhaite un premier contrat long."
                ),
            },
            moment(5),
            [("other_reasoned", evidence.PRESCRIBER_CERTIFICATE)],
            [jobs["K2204"]],
        )
        # Declined: the person found an apprenticeship in the meantime.
        candidacy(
            {**new_person(18), "prescriber_opinion": "Sans diplôme, attiré(e) par la peinture en bâtiment."},
            moment(24),
            [("young_unqualified", evidence.PRESCRIBER_CERTIFICATE)],
            [jobs["F1606"]],
            decision=(
                CandidacyStatus.DECLINED,
                self.users["admin"],
                moment(20),
                "La personne a signé un contrat d'apprentissage entre-temps : elle ne cherche plus d'emploi "
                "pour le moment. N'hésitez pas à nous la réorienter à la fin de son contrat.",
            ),
        )
        # Validated: candidates already on file, referred by the Mission locale (linked, no new record).
        on_file = (
            Participant.objects.filter(facilitator=fac, prescriber=prescriber, merged_into__isnull=True)
            .filter(assessments__valid_until__gte=today + datetime.timedelta(days=90))
            .annotate(n=models.Count("contracts"), assessed=models.Max("assessments__assessed_on"))
            .filter(n=0, assessed__gte=today - datetime.timedelta(days=365))
            .order_by("-assessed", "pk")
            .select_related("qualification_level")[:2]
        )
        validated_people = []
        for participant in on_file:
            assessment = participant.assessments.order_by("-assessed_on", "-pk").first()
            lines = [(line.criterion.code, line.evidence_kind) for line in assessment.criterion_lines.all()]
            decided = timezone.make_aware(
                datetime.datetime.combine(assessment.assessed_on, datetime.time(11, 0))
            )
            identity = {
                name: getattr(participant, name)
                for name in ("first_name", "last_name", "birth_name", "birth_date", "sex", "email", "phone")
            }
            row = candidacy(
                {
                    **identity,
                    "address": participant.address,
                    "postal_code": participant.postal_code,
                    "commune": participant.commune,
                    "situation": participant.situation_at_entry,
                    "qualification_level": participant.qualification_level,
                    "available_from": max(assessment.assessed_on, today - datetime.timedelta(days=30)),
                    "participant": participant,
                    "prescriber_opinion": "Disponible rapidement, mobile sur la métropole (abonnement Tisséo).",
                },
                decided - datetime.timedelta(days=rng.randint(3, 9)),
                lines,
                [jobs["F1703"], jobs["F1704"]],
                decision=(CandidacyStatus.VALIDATED, staff, decided, "Entretien réalisé, critères vérifiés."),
            )
            validated_people.append((participant, row.available_from))
        Candidacy.objects.bulk_create([row for row, _ in candidacies])
        for row, created in candidacies:
            Candidacy.objects.filter(pk=row.pk).update(
                created_at=created, updated_at=row.decided_at or created
            )
        CandidacyWishedJob.objects.bulk_create(
            CandidacyWishedJob(facilitator_id=row.facilitator_id, candidacy=row, romejob=job)
            for row, jobs_wished in wished
            for job in jobs_wished
        )
        CandidacyCriterion.objects.bulk_create(
            CandidacyCriterion(
                facilitator_id=row.facilitator_id,
                candidacy=row,
                criterion=self.ref.criterion[code],
                evidence_kind=kind,
                evidence_date=day - datetime.timedelta(days=rng.randint(0, 20)),
            )
            for row, code, kind, day in criteria
        )
        with dated(CandidacyTransition, "at"):
            CandidacyTransition.objects.bulk_create(
                CandidacyTransition(
                    facilitator_id=row.facilitator_id,
                    candidacy=row,
                    from_status=a,
                    to_status=b,
                    by=by,
                    organization=org,
                    at=at,
                    comment=comment,
                )
                for row, a, b, by, org, at, comment in candidacy_log
            )

        offers = self._job_offers(jobs, company, staff, company_user)
        # Proposals: the validated candidates first, then other candidates on file eligible at the start.
        pool = validated_people + [
            (p, None)
            for p in Participant.objects.filter(
                facilitator=fac, merged_into__isnull=True, contracts__isnull=True
            )
            .exclude(pk__in=[p.pk for p, _ in validated_people])
            .filter(assessments__valid_until__gte=today + datetime.timedelta(days=120))
            .distinct()
            .order_by("pk")[:6]
        ]
        steps = [  # offer index, status, days since shortlisted, company's refusal reason
            (0, ProposalStatus.ACCEPTED, 9, ""),
            (0, ProposalStatus.SENT, 4, ""),
            (0, ProposalStatus.SHORTLISTED, 1, ""),
            (
                1,
                ProposalStatus.REFUSED,
                12,
                "Le poste demande le permis B pour aller d'un chantier à l'autre : candidat sans permis.",
            ),
            (1, ProposalStatus.SENT, 3, ""),
            (len(offers) - 1, ProposalStatus.SHORTLISTED, 2, ""),
        ]
        proposals, proposal_log, dates = [], [], []
        for (participant, available), (index, status, days, reason) in zip(pool, steps, strict=False):
            if not offers or index >= len(offers):
                continue
            offer = offers[index]
            shortlisted = moment(days)
            sent = (
                shortlisted + datetime.timedelta(hours=rng.randint(2, 30))
                if status != ProposalStatus.SHORTLISTED
                else None
            )
            answered = (
                sent + datetime.timedelta(days=rng.randint(1, 3))
                if status in (ProposalStatus.ACCEPTED, ProposalStatus.REFUSED)
                else None
            )
            row = Proposal(
                facilitator=fac,
                offer=offer,
                participant=participant,
                available_from=available,
                status=status,
                shortlisted_by=staff,
                sent_at=sent,
                answered_at=answered,
                refusal_reason=reason,
            )
            proposals.append(row)
            dates.append((row, shortlisted, answered or sent or shortlisted))
            proposal_log.append((row, "", ProposalStatus.SHORTLISTED, staff, fac, shortlisted, ""))
            if sent:
                proposal_log.append(
                    (row, ProposalStatus.SHORTLISTED, ProposalStatus.SENT, staff, fac, sent, "")
                )
            if answered:
                proposal_log.append(
                    (row, ProposalStatus.SENT, status, company_user, company, answered, reason)
                )
        Proposal.objects.bulk_create(proposals)
        for row, created, changed in dates:
            Proposal.objects.filter(pk=row.pk).update(created_at=created, updated_at=changed)
        with dated(ProposalTransition, "at"):
            ProposalTransition.objects.bulk_create(
                ProposalTransition(
                    facilitator_id=row.facilitator_id,
                    proposal=row,
                    from_status=a,
                    to_status=b,
                    by=by,
                    organization=org,
                    at=at,
                    comment=comment,
                )
                for row, a, b, by, org, at, comment in proposal_log
            )
        self.stats.update(candidacies=len(candidacies), job_offers=len(offers), proposals=len(proposals))

    def _job_offers(
        self, jobs: dict, company: Organization, staff: User, company_user: User
    ) -> list[JobOffer]:
        """Two or three open offers on running clause lots of the demo company (one posted by the company)."""
        rng, today = self.rng, self.today
        lots = list(
            Lot.objects.filter(
                facilitator=self.facilitator,
                awards__company=company,
                clause__isnull=False,
                start_date__lte=today,
                end_date__gte=today + datetime.timedelta(days=120),
            )
            .select_related("family", "market__operation__commune", "market__buyer__commune")
            .distinct()
            .order_by("-end_date", "pk")
        )
        # Lot titles then families wanted, ROME code, title, description, positions, weekly hours, posted by.
        plans = [
            (
                {"Gros œuvre – maçonnerie", "Fondations spéciales"},
                {"structural_works"},
                "F1703",
                "Maçon ou maçonne",
                "Gros œuvre de logements collectifs : maçonnerie de blocs, coffrage, pose de réseaux. "
                "Débutant(e) accepté(e), tutorat par le chef d'équipe ; EPI fournis.",
                2,
                35,
                staff,
            ),
            (
                set(),
                {"finishing", "painting", "steel_frame", "technical_networks", "structural_works"},
                "F1704",
                "Manœuvre bâtiment",
                "Approvisionnement des postes, manutention, tri des déchets de chantier. Horaires de journée.",
                1,
                35,
                company_user,
            ),
            (
                {
                    "Plâtrerie – faux plafonds",
                    "Sols souples",
                    "Carrelage – faïence",
                    "Peinture – revêtements muraux",
                },
                {"finishing", "painting"},
                "K2204",
                "Agent ou agente de propreté de chantier",
                "Nettoyage des parties communes et des logements avant réception, évacuation des gravats.",
                1,
                28,
                staff,
            ),
        ]
        offers, used = [], set()
        for titles, families, code, title, description, positions, weekly, by in plans:
            if not lots:
                break
            # A lot not used yet, of the titles wanted, else of the families wanted (the first one on a tie).
            lot = min(
                lots,
                key=lambda lot: (lot.pk in used, lot.title not in titles, lot.family.code not in families),
            )
            used.add(lot.pk)
            start = today + datetime.timedelta(days=rng.randint(10, 30))
            market = lot.market
            commune = (market.operation.commune if market.operation_id else None) or market.buyer.commune
            offer = JobOffer(
                facilitator=self.facilitator,
                lot=lot,
                company=company,
                posted_by=by,
                posted_as=company if by == company_user else self.facilitator,
                title=title,
                rome_job=jobs[code],
                description=description,
                commune=commune or self.communes[data.TOULOUSE],
                place=f"Chantier {market.title}"[:255],
                contract_type=self.ref.contract_type["cdd"],
                start_date=start,
                end_date=min(add_months(start, 6), lot.end_date),
                weekly_hours=Decimal(weekly),
                positions=positions,
                status=OfferStatus.OPEN,
            )
            offers.append(offer)
        JobOffer.objects.bulk_create(offers)
        for offer in offers:
            posted = timezone.make_aware(
                datetime.datetime.combine(
                    today - datetime.timedelta(days=rng.randint(14, 21)), datetime.time(9, 30)
                )
            )
            JobOffer.objects.filter(pk=offer.pk).update(created_at=posted, updated_at=posted)
        return offers
