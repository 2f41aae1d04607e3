"""Matching pages through HTTP: the whole flow from a prescriber's candidacy to a contract, refusals that
write nothing, cross-organization probes by editing URLs and form fields, criteria never shown to companies,
list pages in constant queries."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from clausier.audit.models import AuditEntry
from clausier.employment.models import Contract
from clausier.matching.models import (
    Candidacy,
    CandidacyCriterion,
    CandidacyStatus,
    JobOffer,
    OfferStatus,
    Proposal,
    ProposalStatus,
)
from clausier.participants.models import AssessmentCriterion, EligibilityAssessment, Participant
from clausier.reference.models import EligibilityCriterion, RomeJob
from clausier.reference.referentials import import_rome
from tests.factories import (
    CandidacyFactory,
    CommuneFactory,
    EligibilityAssessmentFactory,
    JobOfferFactory,
    ParticipantFactory,
    PartnershipFactory,
    PrescriberFactory,
    ProposalFactory,
    ref,
)
from tests.matching.helpers import probe_offer, probe_proposal
from tests.official_data import OFFICIAL

pytestmark = pytest.mark.django_db
ROME_FOLDER = OFFICIAL


def html(response) -> str:
    return response.content.decode()


def rows(page: str) -> list[str]:
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)  # one token per response
    return re.findall(r'<tr data-testid="row">(.*?)</tr>', page, flags=re.S)


def state():
    """The rows a refused write must leave as they are."""
    return (
        list(
            Candidacy.objects.values_list("pk", "status", "participant_id", "prescriber_id", "facilitator_id")
        ),
        list(JobOffer.objects.values_list("pk", "status", "company_id", "title", "positions_filled")),
        list(Proposal.objects.values_list("pk", "status", "contract_id")),
        Participant.objects.count(),
        EligibilityAssessment.objects.count(),
        CandidacyCriterion.objects.count(),
        AssessmentCriterion.objects.count(),
        Contract.objects.count(),
        AuditEntry.objects.exclude(action="view").count(),
    )


def url(name, obj):
    return reverse(f"www:{name}", kwargs={"uuid": obj.uuid})


CANDIDATE = {
    "first_name": "Léa",
    "last_name": "Martin",
    "birth_date": "12/09/1988",
    "sex": "F",
    "email": "lea.martin@exemple.fr",
    "phone": "06 11 22 33 44",
    "commune": "31555",
    "situation": "long_term_job_seeker",
    "qualification_level": "infra3",
    "available_from": "06/01/2025",
    "wished_jobs": ["F1703", "F1604"],
    "referent": "Mme Conseillère",
    "crit_rqth": "on",
    "kind_rqth": "mdph",
    "date_rqth": "01/11/2024",
    "informed": "on",
}


# --- The whole flow -------------------------------------------------------------------------------------------


def test_from_a_prescribers_candidacy_to_a_contract_and_a_filled_offer(
    world_a, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    import_rome(ROME_FOLDER)  # the real ROME v458 that ships with Clausier
    w = world_a
    prescriber, staff, company = (
        client_for(w.users[r]) for r in ("prescriber", "facilitator_member", "company")
    )
    CommuneFactory()  # Toulouse, 31555

    # 1. The prescriber proposes a candidate to its facilitator; the facilitator's members are e-mailed.
    propose = reverse("www:candidacy_propose", kwargs={"uuid": w.facilitator.uuid})
    assert prescriber.get(reverse("www:candidacy_list")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = prescriber.post(propose, CANDIDATE)
    assert response.status_code == 302, response.context["form"].errors
    candidacy = Candidacy.objects.get(last_name="Martin")
    assert (candidacy.status, candidacy.prescriber, candidacy.facilitator) == (
        CandidacyStatus.PROPOSED,
        w.orgs["prescriber"],
        w.facilitator,
    )
    assert sorted(j.code for j in candidacy.wished_jobs.all()) == ["F1604", "F1703"]
    assert [(line.criterion.code, line.evidence_kind) for line in candidacy.criterion_lines.all()] == [
        ("rqth", "mdph")
    ]
    assert {m.to[0] for m in mailoutbox} == {
        w.users["facilitator_admin"].email,
        w.users["facilitator_member"].email,
    }
    followed = html(prescriber.get(reverse("www:candidacy_list")))
    assert "MARTIN Léa" in followed and "Proposée, à examiner" in followed

    # 2. The facilitator validates: the participant is created, the eligibility recorded.
    page = html(staff.get(url("candidacy_validate", candidacy)))
    assert 'name="crit_rqth" id="id_crit_rqth" checked' in page  # the prescriber's criterion, pre-checked
    response = staff.post(
        url("candidacy_validate", candidacy),
        {
            "record": "nouvelle",
            "assessed_on": "15/12/2024",
            "crit_rqth": "on",
            "kind_rqth": "mdph",
            "date_rqth": "01/11/2024",
            "comment": "Dossier complet",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    candidacy.refresh_from_db()
    person = candidacy.participant
    assert candidacy.status == CandidacyStatus.VALIDATED and person.last_name == "Martin"
    assert person.prescriber == w.orgs["prescriber"] and person.commune_id == "31555"
    assessment = person.assessments.get()
    assert (
        assessment.assessed_on == datetime.date(2024, 12, 15)
        and assessment.validated_by == w.users["facilitator_member"]
    )
    assert [(t.from_status, t.to_status, t.comment) for t in candidacy.transitions.all()] == [
        ("", "proposed", ""),
        ("proposed", "validated", "Dossier complet"),
    ]
    assert "Validée" in html(prescriber.get(url("candidacy_detail", candidacy)))

    # 3. The company posts an offer for its lot, published at once.
    response = company.post(
        url("offer_create", w.objects["lot"]),
        {
            "title": "Maçon ou maçonne",
            "rome_job": "F1703",
            "contract_type": "cdd",
            "start_date": "03/02/2025",
            "end_date": "31/07/2025",
            "weekly_hours": "35",
            "positions": "1",
            "commune": "31555",
            "publish": "on",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    offer = JobOffer.objects.get(title="Maçon ou maçonne")
    assert (offer.company, offer.status, offer.posted_as) == (
        w.orgs["company"],
        OfferStatus.OPEN,
        w.orgs["company"],
    )

    # 4. The facilitator finds the person in the pool for this offer, shortlists, sends.
    pool_page = html(staff.get(url("offer_pool", offer)))
    assert "MARTIN Léa" in pool_page and "F1703" in pool_page
    assert staff.post(url("offer_shortlist_add", offer), {"participant": str(person.uuid)}).status_code == 302
    proposal = Proposal.objects.get(offer=offer, participant=person)
    assert proposal.status == ProposalStatus.SHORTLISTED and proposal.available_from == datetime.date(
        2025, 1, 6
    )
    assert company.get(url("proposal_detail", proposal)).status_code == 404  # not sent yet
    assert "MARTIN" not in html(company.get(url("offer_detail", offer)))
    assert staff.post(url("offer_shortlist_send", offer)).status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SENT

    # 5. The company sees name, contact, availability and "Éligibilité : validée" — never why — and accepts.
    seen = html(company.get(url("proposal_detail", proposal)))
    assert "Léa" in seen and "lea.martin@exemple.fr" in seen and "06 11 22 33 44" in seen
    assert "à partir du 06/01/2025" in seen and "Éligibilité : validée" in seen
    rqth = ref(EligibilityCriterion, "rqth")
    for secret in (rqth.label, "RQTH", "MDPH", "Notification", "longue durée", "Mme Conseillère"):
        assert escape(secret) not in seen and secret not in seen, secret
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert company.post(url("proposal_answer", proposal), {"decision": "accept"}).status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.ACCEPTED
    assert {m.to[0] for m in mailoutbox} == {
        w.users["facilitator_admin"].email,
        w.users["facilitator_member"].email,
    }

    # 6. The facilitator marks the hire: the contract is created from the offer, the offer is filled.
    assert staff.get(url("proposal_hire", proposal)).status_code == 200
    response = staff.post(
        url("proposal_hire", proposal),
        {"contract_type": "cdd", "start_date": "03/02/2025", "end_date": "31/07/2025"},
    )
    assert response.status_code == 302, response.context["form"].errors
    contract = Contract.objects.get(participant=person)
    assert response["Location"] == url("contract_detail", contract)
    assert (contract.lot, contract.company, contract.employer) == (
        w.objects["lot"],
        w.orgs["company"],
        w.orgs["company"],
    )
    assert (contract.start_date, contract.end_date, contract.weekly_hours, contract.rome_code) == (
        datetime.date(2025, 2, 3),
        datetime.date(2025, 7, 31),
        35,
        "F1703",
    )
    assert contract.job_title == "Maçon ou maçonne" and contract.modality.code == "direct_hire"
    offer.refresh_from_db()
    proposal.refresh_from_db()
    assert (offer.positions_filled, offer.status) == (1, OfferStatus.FILLED)
    assert proposal.status == ProposalStatus.HIRED and proposal.contract == contract
    assert "Pourvue" in html(company.get(reverse("www:offer_list")))
    assert RomeJob.objects.get(code="F1703").label == "Maçon / Maçonne"


def test_validation_offers_and_links_the_existing_record_of_a_duplicate(world_a, client_for):
    w = world_a
    existing = ParticipantFactory(facilitator=w.facilitator, first_name="Léa", last_name="Martin-Durand")
    candidacy = CandidacyFactory(
        facilitator=w.facilitator,
        prescriber=w.orgs["prescriber"],
        first_name="Lea",
        last_name="MARTIN DURAND",
        birth_date=existing.birth_date,
    )
    staff = client_for(w.users["facilitator_member"])
    assert "Cette personne a peut-être déjà une fiche" in html(staff.get(url("candidacy_detail", candidacy)))
    page = html(staff.get(url("candidacy_validate", candidacy)))
    assert f'value="{existing.uuid}"' in page and "Rattacher à la fiche existante" in page
    participants = Participant.objects.count()
    response = staff.post(
        url("candidacy_validate", candidacy),
        {
            "record": str(existing.uuid),
            "assessed_on": "15/12/2024",
            "crit_deld": "on",
            "kind_deld": "france_travail",
        },
    )
    assert response.status_code == 302
    candidacy.refresh_from_db()
    assert candidacy.participant == existing and Participant.objects.count() == participants
    assert existing.assessments.count() == 1
    # Another facilitator's record posted by hand is not a choice.
    other = CandidacyFactory(facilitator=w.facilitator, birth_date=existing.birth_date)
    before = state()
    response = staff.post(
        url("candidacy_validate", other),
        {
            "record": str(w.objects["other_participant"].uuid),
            "assessed_on": "15/12/2024",
            "crit_deld": "on",
            "kind_deld": "caf",
        },
    )
    assert response.status_code == 200 and "Choix invalide" in html(response)
    assert state() == before


# --- Refusals in French, nothing written ----------------------------------------------------------------------


def test_refused_forms_write_nothing(world_a, client_for):
    w = world_a
    prescriber, staff, company = (
        client_for(w.users[r]) for r in ("prescriber", "facilitator_member", "company")
    )
    candidacy = CandidacyFactory(facilitator=w.facilitator, prescriber=w.orgs["prescriber"])
    offer = probe_offer(w)
    sent = probe_proposal(w)
    before = state()

    response = prescriber.post(
        reverse("www:candidacy_propose", kwargs={"uuid": w.facilitator.uuid}),
        {**CANDIDATE, "informed": "", "crit_rqth": "on", "kind_rqth": ""},
    )
    page = html(response)
    assert response.status_code == 200
    assert "Confirmez que la personne a été informée du traitement de ses données." in page
    assert "Indiquez le justificatif du critère" in page

    page = html(
        staff.post(url("candidacy_validate", candidacy), {"record": "nouvelle", "assessed_on": "15/12/2024"})
    )
    assert (
        "Cochez au moins un critère d&#x27;éligibilité." in page
        or "Cochez au moins un critère d'éligibilité." in page
    )
    page = html(staff.post(url("candidacy_decline", candidacy), {"reason": ""}))
    assert "Indiquez le motif du refus : il est communiqué au prescripteur." in page.replace("&#x27;", "'")

    offer_form = {
        "title": "Poste",
        "rome_job": offer.rome_job.code,
        "contract_type": "cdd",
        "weekly_hours": "35",
    }
    page = html(
        company.post(
            url("offer_create", w.objects["lot"]),
            {
                **offer_form,
                "start_date": "03/03/2025",
                "end_date": "01/03/2025",
                "positions": "1",
                "commune": "31555",
            },
        )
    )
    assert "La date de fin doit être postérieure ou égale à la date de début." in page
    page = html(
        company.post(
            url("offer_create", w.objects["lot"]),
            {**offer_form, "start_date": "03/03/2025", "positions": "0", "commune": "99999"},
        )
    )
    assert "Aucune commune ne porte ce code INSEE." in page

    response = company.post(url("proposal_answer", sent), {"decision": "refuse", "reason": ""}, follow=True)
    assert "Indiquez le motif du refus." in html(response)
    response = staff.post(url("proposal_hire", sent), {"contract_type": "cdd", "start_date": "03/03/2025"})
    assert "L&#x27;entreprise n&#x27;a pas retenu ce candidat" in html(response)

    Proposal.objects.filter(pk=sent.pk).update(status=ProposalStatus.ACCEPTED)
    response = staff.post(url("proposal_hire", sent), {"contract_type": "cdd", "start_date": "01/06/2026"})
    assert "n&#x27;a pas de validation d&#x27;éligibilité en cours au 01/06/2026" in html(response)
    Proposal.objects.filter(pk=sent.pk).update(status=ProposalStatus.SENT)

    response = staff.post(url("offer_shortlist_send", offer), follow=True)
    assert "Aucun candidat présélectionné à envoyer." in html(response)
    response = staff.post(url("offer_transition", offer), {"vers": "filled"}, follow=True)
    assert "ne peut pas passer à l&#x27;état « pourvue »" in html(response)
    assert state() == before


# --- Cross-organization probes --------------------------------------------------------------------------------


def test_a_prescriber_sees_only_its_own_candidacies(worlds, client_for):
    a, b = worlds
    mine = CandidacyFactory(facilitator=a.facilitator, prescriber=a.orgs["prescriber"], last_name="Mienne")
    theirs = CandidacyFactory(
        facilitator=a.facilitator, prescriber=a.orgs["other_prescriber"], last_name="Voisine"
    )
    client = client_for(a.users["prescriber"])
    listed = html(client.get(reverse("www:candidacy_list")))
    assert "MIENNE" in listed and "VOISINE" not in listed
    assert client.get(url("candidacy_detail", mine)).status_code == 200
    assert client.get(url("candidacy_detail", theirs)).status_code == 404  # the URL edited by hand
    for name in ("candidacy_validate", "candidacy_decline"):
        assert client.get(url(name, mine)).status_code == 404  # its own, but reviewing is the staff's
    # A prescriber of B cannot propose to A; nobody else sees A's candidacies.
    before = state()
    assert (
        client_for(b.users["prescriber"])
        .post(reverse("www:candidacy_propose", kwargs={"uuid": a.facilitator.uuid}), CANDIDATE)
        .status_code
        == 404
    )
    for role in ("company", "buyer", "structure"):
        assert client_for(a.users[role]).get(url("candidacy_detail", mine)).status_code == 404, role
        assert "MIENNE" not in html(client_for(a.users[role]).get(reverse("www:candidacy_list"))), role
    assert client_for(b.users["facilitator_member"]).get(url("candidacy_detail", mine)).status_code == 404
    assert state() == before


def test_a_prescriber_is_offered_to_propose_to_its_own_facilitators_only(worlds, client_for):
    a, b = worlds
    propose_a = reverse("www:candidacy_propose", kwargs={"uuid": a.facilitator.uuid})
    propose_b = reverse("www:candidacy_propose", kwargs={"uuid": b.facilitator.uuid})
    listed = html(client_for(a.users["prescriber"]).get(reverse("www:candidacy_list")))
    assert f'href="{propose_a}">Proposer un candidat</a>' in listed and propose_b not in listed
    # A partner of both facilitators chooses which one (named).
    PartnershipFactory(facilitator=b.facilitator, partner=a.orgs["prescriber"])
    listed = html(client_for(a.users["prescriber"]).get(reverse("www:candidacy_list")))
    assert f"Proposer un candidat à {escape(a.facilitator.name)}" in listed
    assert f"Proposer un candidat à {escape(b.facilitator.name)}" in listed
    staff_list = html(client_for(a.users["facilitator_member"]).get(reverse("www:candidacy_list")))
    assert 'data-testid="propose"' not in staff_list


def test_form_fields_posted_for_another_organization_are_ignored_or_refused(worlds, client_for):
    a, b = worlds
    prescriber, company = client_for(a.users["prescriber"]), client_for(a.users["company"])
    CommuneFactory()
    # A prescriber posting another prescriber, another facilitator, a status: the candidacy is its own, proposed.
    response = prescriber.post(
        reverse("www:candidacy_propose", kwargs={"uuid": a.facilitator.uuid}),
        {
            **CANDIDATE,
            "wished_jobs": [],
            "prescriber": str(a.orgs["other_prescriber"].uuid),
            "facilitator": str(b.facilitator.uuid),
            "status": "validated",
            "participant": str(a.objects["participant"].uuid),
        },
    )
    assert response.status_code == 302
    candidacy = Candidacy.objects.get(last_name="Martin")
    assert (candidacy.prescriber, candidacy.facilitator, candidacy.status, candidacy.participant) == (
        a.orgs["prescriber"],
        a.facilitator,
        CandidacyStatus.PROPOSED,
        None,
    )
    # A company posting criteria and another company in its offer: the offer is its own, no criterion stored.
    criteria = (CandidacyCriterion.objects.count(), AssessmentCriterion.objects.count())
    response = company.post(
        url("offer_create", a.objects["lot"]),
        {
            "title": "Coffreur",
            "rome_job": probe_offer(a).rome_job.code,
            "contract_type": "cdd",
            "start_date": "03/03/2025",
            "weekly_hours": "35",
            "positions": "1",
            "commune": "31555",
            "company": str(a.orgs["other_company"].uuid),
            "crit_rqth": "on",
            "kind_rqth": "mdph",
        },
    )
    assert response.status_code == 302
    assert JobOffer.objects.get(title="Coffreur").company == a.orgs["company"]
    # …and criteria posted with an answer change nothing either.
    proposal = probe_proposal(a)
    company.post(
        url("proposal_answer", proposal), {"decision": "accept", "crit_rqth": "on", "kind_rqth": "mdph"}
    )
    assert (CandidacyCriterion.objects.count(), AssessmentCriterion.objects.count()) == criteria
    # The staff cannot post an offer for a company not awarded the lot.
    before = state()
    response = client_for(a.users["facilitator_member"]).post(
        url("offer_create", a.objects["lot"]),
        {
            "company": str(a.orgs["other_company"].uuid),
            "title": "Poste",
            "rome_job": proposal.offer.rome_job.code,
            "contract_type": "cdd",
            "start_date": "03/03/2025",
            "weekly_hours": "35",
            "positions": "1",
            "commune": "31555",
        },
    )
    assert response.status_code == 200 and "choisissez une entreprise attributaire de ce lot" in html(
        response
    )
    assert state() == before


def test_companies_reach_only_their_offers_and_proposals(worlds, client_for):
    a, b = worlds
    offer = probe_offer(a)
    proposal = probe_proposal(a)
    neighbour_offer = JobOfferFactory(
        lot=a.objects["other_lot"], company=a.orgs["other_company"], title="Offre voisine"
    )
    neighbour = ProposalFactory(offer=neighbour_offer, participant=a.objects["other_participant"])
    company, other = client_for(a.users["company"]), client_for(a.users["other_company"])
    before = state()
    # Editing URLs: another company's offer, its proposals, a lot not awarded.
    assert other.get(url("offer_detail", offer)).status_code == 404
    assert other.post(url("offer_edit", offer), {"title": "Piraté"}).status_code == 404
    assert other.post(url("offer_transition", offer), {"vers": "closed"}).status_code == 404
    assert other.get(url("proposal_detail", proposal)).status_code == 404
    assert other.post(url("proposal_answer", proposal), {"decision": "accept"}).status_code == 404
    assert (
        company.post(url("proposal_answer", neighbour), {"decision": "refuse", "reason": "x"}).status_code
        == 404
    )
    assert company.get(url("offer_create", a.objects["other_lot"])).status_code == 404
    assert client_for(b.users["company"]).get(url("offer_detail", offer)).status_code == 404
    # The staff of B cannot shortlist on A's offer; A's staff cannot shortlist B's participant.
    assert (
        client_for(b.users["facilitator_member"])
        .post(url("offer_shortlist_add", offer), {"participant": str(b.objects["participant"].uuid)})
        .status_code
        == 404
    )
    assert (
        client_for(a.users["facilitator_member"])
        .post(url("offer_shortlist_add", offer), {"participant": str(b.objects["participant"].uuid)})
        .status_code
        == 404
    )
    assert state() == before
    listed = html(company.get(reverse("www:offer_list")))
    assert "Offre de la sonde" in listed and "Offre voisine" not in listed
    proposals = html(company.get(reverse("www:proposal_list")))
    assert len(rows(proposals)) == 1 and a.objects["participant"].last_name.upper() in proposals


def test_criteria_and_sensitive_details_are_never_in_company_pages(world_a, client_for):
    w = world_a
    person = w.objects["participant"]  # eligible on "deld", evidence from France Travail
    EligibilityAssessmentFactory(participant=person, assessed_on=datetime.date(2024, 6, 1), criteria=["rqth"])
    CandidacyFactory(
        facilitator=w.facilitator,
        validated=True,
        participant=person,
        prescriber_opinion="Avis : fragilité de santé",
    )
    proposal = probe_proposal(w)
    secrets = [ref(EligibilityCriterion, code).label for code in ("deld", "rqth")] + [
        "Avis : fragilité de santé",
        "Avis de situation France Travail",
        "Demandeur d'emploi",
        "Travailleur handicapé",
    ]
    company = client_for(w.users["company"])
    pages = [
        reverse("www:offer_list"),
        reverse("www:proposal_list"),
        url("offer_detail", proposal.offer),
        url("proposal_detail", proposal),
    ]
    for page_url in pages:
        response = company.get(page_url)
        assert response.status_code == 200, page_url
        page = html(response)
        for secret in secrets:
            assert secret not in page and escape(secret) not in page, (page_url, secret)
    assert "Éligibilité : validée" in html(company.get(url("proposal_detail", proposal)))
    staff = client_for(w.users["facilitator_member"])
    staff_page = html(staff.get(reverse("www:matching_pool"), {"day": "03/03/2025", "criterion": "rqth"}))
    assert person.last_name.upper() in staff_page  # the staff search by criterion


# --- Lists in constant queries --------------------------------------------------------------------------------


def grow(w, n):
    """`n` more candidacies, offers, proposals and pool members in world A, each with its relations."""
    for i in range(n):
        prescriber = PrescriberFactory(partner_of=w.facilitator)
        candidacy = CandidacyFactory(facilitator=w.facilitator, prescriber=w.orgs["prescriber"])
        candidacy.wished_jobs.set([probe_offer(w).rome_job], through_defaults={"facilitator": w.facilitator})
        CandidacyFactory(facilitator=w.facilitator, prescriber=prescriber)
        offer = JobOfferFactory(lot=w.objects["lot"], company=w.orgs["company"], title=f"Offre {i}")
        person = ParticipantFactory(facilitator=w.facilitator, commune=CommuneFactory())
        EligibilityAssessmentFactory(participant=person, assessed_on=datetime.date(2024, 6, 1))
        validated = CandidacyFactory(facilitator=w.facilitator, validated=True, participant=person)
        validated.wished_jobs.set([offer.rome_job], through_defaults={"facilitator": w.facilitator})
        ProposalFactory(offer=offer, participant=person)


LISTS = [
    ("facilitator_member", "candidacy_list"),
    ("prescriber", "candidacy_list"),
    ("facilitator_member", "offer_list"),
    ("company", "offer_list"),
    ("facilitator_member", "proposal_list"),
    ("company", "proposal_list"),
    ("facilitator_member", "matching_pool"),
]


@pytest.mark.parametrize(("role", "name"), LISTS)
def test_list_pages_run_in_constant_queries(role, name, world_a, client_for, django_assert_max_num_queries):
    client = client_for(world_a.users[role])
    target = reverse(f"www:{name}") + ("?day=03/03/2025" if name == "matching_pool" else "")
    grow(world_a, 2)
    client.get(target)  # warm up (session, content types)
    with CaptureQueriesContext(connection) as few:
        small = html(client.get(target))
    grow(world_a, 8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        large = html(client.get(target))
    assert len(rows(large)) > len(rows(small)) > 0


def test_the_offer_pool_runs_in_constant_queries_and_htmx_gives_the_same_rows(
    world_a, client_for, django_assert_max_num_queries
):
    client = client_for(world_a.users["facilitator_member"])
    target = url("offer_pool", probe_offer(world_a))
    grow(world_a, 2)
    client.get(target)
    with CaptureQueriesContext(connection) as few:
        small = html(client.get(target))
    grow(world_a, 8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        large = html(client.get(target))
    assert len(rows(large)) > len(rows(small)) > 0
    partial = html(client.get(target, headers={"HX-Request": "true"}))
    assert rows(partial) == rows(large) and "<html" not in partial


def test_publishing_starts_with_the_lot_among_ones_own(worlds, client_for):
    a, _b = worlds
    start = reverse("www:offer_start")
    staff, company = client_for(a.users["facilitator_member"]), client_for(a.users["company"])
    response = staff.get(start, {"lot": str(a.objects["other_lot"].uuid)})
    assert response.status_code == 302 and response["Location"] == url("offer_create", a.objects["other_lot"])
    page = html(company.get(start))
    assert a.objects["lot"].title in page and a.objects["other_lot"].title not in page
    response = company.get(start, {"lot": str(a.objects["other_lot"].uuid)})  # not its lot: not a choice
    assert response.status_code == 200 and "choisissez l&#x27;un de vos lots" in html(response)
    for role in ("buyer", "structure", "prescriber"):
        assert 'data-testid="not-for-you"' in html(client_for(a.users[role]).get(start)), role


def test_the_pool_exports_its_rows_and_logs_the_export(world_a, client_for):
    person = world_a.objects["participant"]
    response = client_for(world_a.users["facilitator_member"]).get(
        reverse("www:matching_pool"), {"day": "03/03/2025", "format": "csv"}
    )
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response.status_code == 200 and person.last_name in content
    assert AuditEntry.objects.filter(action="export", detail__contains="Vivier de candidats").exists()
