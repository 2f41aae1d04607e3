"""Matching objects of a world (tests/factories.py `build_world`), made on demand and idempotent: the access
probe (tests/test_access_probe.py) asks for them several times in one test.

- a candidacy proposed by the world's prescriber;
- an open offer of the world's company on the world's lot (2 positions, from 03/03/2025);
- a proposal of the world's participant (eligible until 31/12/2025) for that offer, in the status asked.
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from clausier.matching.models import Candidacy, JobOffer, Proposal
from clausier.reference.models import ContractType
from tests.factories import CommuneFactory, ref, rome_job

OFFER_START = datetime.date(2025, 3, 3)


def probe_candidacy(w) -> Candidacy:
    return Candidacy.objects.get_or_create(
        facilitator=w.facilitator,
        prescriber=w.orgs["prescriber"],
        last_name="Sonde",
        defaults={
            "first_name": "Camille",
            "birth_date": datetime.date(1985, 4, 2),
            "sex": "F",
            "informed_on": datetime.date(2024, 12, 1),
        },
    )[0]


def probe_offer(w) -> JobOffer:
    return JobOffer.objects.get_or_create(
        facilitator=w.facilitator,
        lot=w.objects["lot"],
        company=w.orgs["company"],
        title="Offre de la sonde",
        defaults={
            "rome_job": rome_job(),
            "commune": CommuneFactory(),
            "contract_type": ref(ContractType, "cdd"),
            "start_date": OFFER_START,
            "end_date": datetime.date(2025, 8, 29),
            "weekly_hours": Decimal("35"),
            "positions": 2,
            "status": "open",
        },
    )[0]


def probe_proposal(w, status="sent") -> Proposal:
    return Proposal.objects.get_or_create(
        offer=probe_offer(w),
        participant=w.objects["participant"],
        defaults={
            "facilitator": w.facilitator,
            "status": status,
            "sent_at": None if status == "shortlisted" else timezone.now(),
        },
    )[0]


def candidacy_payload(w) -> dict:
    return {
        "first_name": "Dominique",
        "last_name": "Sondeuse",
        "birth_date": "02/04/1985",
        "sex": "F",
        "informed": "on",
        "crit_deld": "on",
        "kind_deld": "france_travail",
    }


def offer_payload(w) -> dict:
    return {
        "company": str(w.orgs["company"].uuid),
        "title": "Poste de la sonde",
        "rome_job": rome_job().code,
        "contract_type": "cdd",
        "start_date": "03/03/2025",
        "end_date": "29/08/2025",
        "weekly_hours": "35",
        "positions": "1",
        "commune": CommuneFactory().insee_code,
    }
